"""FER-2013 emotion demo: every face in a photo, a video clip or a webcam stream, with all seven class
probabilities.

    python app.py                       # bundled model, http://127.0.0.1:7860
    FER_MODEL=user/fer2013-emotion python app.py   # a model pushed with `train.py --push`
"""

import os
import tempfile
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

from fer.app import browser_live, cache_sweeper, chart
from fer.app.handlers import Handlers
from fer.app.not_modified import NotModifiedMiddleware
from fer.app.video_handlers import VideoHandlers
from fer.app.wording import wording_for
from fer.face_path.faces import DEFAULT_MAX_FACES
from fer.model.classifier import load_for_app
from fer.model.probabilities import DEFAULT_TTA, TTA_MODES
from fer.video.clip import DEFAULT_SAMPLE_FPS, MAX_BYTES, MAX_DURATION_S
from fer.video.tracks import DEFAULT_SMOOTHING_S

MAX_FACES_LIMIT = 30
MAX_FILE_SIZE = f"{MAX_BYTES // 2**20}mb"  # a video's limit; photos are limited by pixels (fer/face_path/image.py)


def decoded_by_fer(image_input: gr.Image) -> gr.Image:
    """Hand uploads to `fer.face_path.image.open_image` undecoded, so a bad file gets its explanation (empty,
    damaged, not a picture, too large) instead of gr.Image's bare 'Error'. Patched on the instance:
    a gr.Image subclass would be treated as a custom component without a frontend."""
    decode_in_gradio = image_input.preprocess

    def preprocess(payload):
        if payload is not None and payload.path and not (payload.url or "").startswith("data:"):
            return payload.path
        return decode_in_gradio(payload)

    image_input.preprocess = preprocess
    return image_input


model_source = os.environ.get("FER_MODEL")
model, model_note = load_for_app(model_source)
words = wording_for(model.trained_on)
outputs = Path(tempfile.mkdtemp(prefix="fer-outputs-"))  # previews, CSVs, annotated videos: swept after a minute
handlers = Handlers(model, outputs)
video_handlers = VideoHandlers(model, outputs)
examples = sorted(str(path) for path in (Path(__file__).parent / "examples").glob("*.jpg"))

with gr.Blocks(title="FER-2013 emotion demo") as demo:
    gr.Markdown("# Facial expression recognition\nDrop in a photo or a video, or turn on the webcam: every face gets "
                "a box and "
                f"one of {len(model.labels)} expressions ({', '.join(model.labels)}). {words.meaning} "
                f"Model: {model_note}. Nothing you upload is stored.")
    with gr.Row():
        tta = gr.Radio(list(TTA_MODES), value=DEFAULT_TTA, label="Test-time augmentation", elem_id="tta",
                       info="flip (default): centre + mirror; tencrop: 10 views; none: fastest")
        max_faces = gr.Slider(1, MAX_FACES_LIMIT, value=DEFAULT_MAX_FACES, step=1, label="Faces at most",
                              info="largest first", elem_id="max-faces")
    with gr.Tab("Photo"):
        with gr.Row():
            with gr.Column():
                photo = decoded_by_fer(gr.Image(type="filepath", sources=["upload", "clipboard"], label="Photo",
                                                elem_id="photo"))
                gr.Examples(examples, inputs=photo)
            annotated = gr.Image(label="Faces found", interactive=False, format="jpeg", elem_id="annotated")
        with gr.Row():
            with gr.Column(scale=2):
                face_picker = gr.Radio([], label="Face", visible=False)
                bars = gr.BarPlot(x="emotion", y="probability", sort=model.labels, y_lim=[0, 1],
                                  label=words.chart, height=280, elem_id="bars")
            cam = gr.Image(label="Grad-CAM: what drove the prediction", interactive=False, height=280)
        # Without headers the empty table (before any photo) shows Gradio's placeholder columns "1 2 3".
        table = gr.Dataframe(headers=chart.FACE_COLUMNS, label="All faces", interactive=False)
        with gr.Accordion("API result (JSON)", open=False):
            result_json = gr.JSON(label="analysis")
        analysis_state, photo_in_box = gr.State(), gr.State()
    with gr.Tab("Video"):
        gr.Markdown(f"MP4, WebM or MOV, up to {MAX_DURATION_S // 60} minutes and {MAX_BYTES // 2**20} MB. Each face "
                    "keeps its number through the clip; the timeline shows its emotions smoothed over time, the CSV "
                    "has every analysed frame's raw probabilities.")
        with gr.Row():
            with gr.Column():
                clip = gr.Video(sources=["upload"], label="Video clip", elem_id="clip")
                with gr.Row():
                    sample_fps = gr.Slider(1, 15, value=DEFAULT_SAMPLE_FPS, step=1, label="Frames analysed per second")
                    smoothing = gr.Slider(0, 5, value=DEFAULT_SMOOTHING_S, step=0.5, label="Smoothing (seconds)",
                                          info="0: off")
                make_video = gr.Checkbox(False, label="Also make an annotated video (slower)")
                analyze_clip = gr.Button("Analyse video", variant="primary")
            annotated_clip = gr.Video(label="Annotated video", interactive=False)
        track_picker = gr.Radio([], label="Face", visible=False)
        timeline = gr.LinePlot(x="time (s)", y="probability", color="emotion", y_lim=[0, 1],
                               color_map=chart.emotion_colours(model.labels), label=words.timeline,
                               elem_id="timeline")
        track_summary = gr.Dataframe(label="Each face", interactive=False)
        timeline_csv = gr.File(label="Every face in every analysed frame (CSV)")
        with gr.Accordion("API result (JSON)", open=False):
            video_json = gr.JSON(label="analysis")
        video_state = gr.State()
    with gr.Tab("Webcam"):
        webcam_mode = gr.Radio([(label, mode) for mode, label in browser_live.MODES.items()], value="browser",
                               label="Where the model runs", elem_id="webcam-mode",
                               info="in your browser: nothing is sent, the face detector finds near faces only")
        gr.HTML(browser_live.PANEL, css_template=browser_live.PANEL_CSS, js_on_load=browser_live.LOAD_PANEL,
                elem_id="browser-live")  # in server mode only its status line shows (fer/app/web/live.js)
        with gr.Column(visible=False) as server_column:
            with gr.Row():
                webcam = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Webcam")
                live = gr.Image(label="Live", interactive=False, elem_id="live")
            live_bars = gr.BarPlot(x="emotion", y="probability", sort=model.labels, y_lim=[0, 1],
                                   elem_id="live-chart", label=words.largest_face, height=240)
        steady = gr.Checkbox(True, label="Steady labels", info="each face's probabilities smoothed over about "
                             f"{DEFAULT_SMOOTHING_S:g} s; off: every frame on its own", elem_id="steady")
        webcam_tracker = gr.State()

    upload_outputs = [annotated, bars, cam, table, face_picker, analysis_state, result_json]
    photo.change(handlers.on_photo, [photo, photo_in_box, tta, max_faces], [*upload_outputs, photo, photo_in_box],
                 api_name=False)
    for trigger in (tta.change, max_faces.release):
        trigger(handlers.on_settings, [photo_in_box, tta, max_faces], upload_outputs, api_name=False)
    face_picker.change(handlers.on_pick_face, [face_picker, analysis_state], [bars, cam], api_name=False)
    webcam.stream(handlers.on_frame, [webcam, tta, max_faces, steady, webcam_tracker],
                  [live, live_bars, webcam_tracker], stream_every=0.1,
                  time_limit=120, concurrency_limit=4, api_name="stream")
    analyze_clip.click(video_handlers.on_analyze, [clip, sample_fps, smoothing, make_video, tta, max_faces],
                       [timeline, track_picker, track_summary, timeline_csv, annotated_clip, video_state, video_json],
                       concurrency_limit=1, concurrency_id="video", api_name=False)
    track_picker.change(video_handlers.on_pick_track, [track_picker, video_state], timeline, api_name=False)
    webcam_mode.change(lambda mode: gr.Column(visible=mode == "server"), webcam_mode, server_column, queue=False,
                       api_name=False)
    predict_button = gr.Button(visible=False)
    predict_button.click(handlers.predict, [photo, tta, max_faces], result_json, api_name="predict",
                         api_description=f"Every face's box, label and all class probabilities. {words.meaning}")
    analyze_video_button = gr.Button(visible=False)
    analyze_video_button.click(video_handlers.predict, [clip, sample_fps, tta, max_faces], video_json,
                               concurrency_limit=1, concurrency_id="video", api_name="analyze_video",
                               api_description=f"Every sampled frame's faces, tracked, with all class probabilities, "
                                               f"and a summary per face. {words.meaning}")

# Two requests of each kind run at once (2 cores), one video (minutes of work: photos and webcams go on meanwhile);
# beyond the queue's size visitors get Gradio's "Queue is full, try again".
demo.queue(default_concurrency_limit=2, max_size=int(os.environ.get("FER_QUEUE_SIZE", "64")))

if __name__ == "__main__":
    cache_sweeper.start(demo, every_s=30, max_age_s=60, folders=(outputs,))
    # Without SSR: the in-browser mode's files are served by the app's own routes (a Node SSR proxy would sit in front).
    demo.launch(max_file_size=MAX_FILE_SIZE, server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                ssr_mode=False, app_kwargs={"routes": browser_live.routes(browser_live.model_folder(model_source, model)),
                                            "middleware": [Middleware(NotModifiedMiddleware)]})
