"""FER-2013 emotion demo: every face in a photo or webcam stream, with all seven class probabilities.

    python app.py                       # bundled model, http://127.0.0.1:7860
    FER_MODEL=user/fer2013-emotion python app.py   # a model pushed with `train.py --push`
"""

import os
from pathlib import Path

import gradio as gr

from fer import cache_sweeper, chart
from fer.faces import DEFAULT_MAX_FACES
from fer.handlers import Handlers
from fer.model import load_for_app
from fer.probabilities import DEFAULT_TTA, TTA_MODES

MAX_FACES_LIMIT = 30
MAX_FILE_SIZE = "20mb"


def decoded_by_fer(image_input: gr.Image) -> gr.Image:
    """Hand uploads to `fer.image.open_image` undecoded, so a bad file gets its explanation (empty,
    damaged, not a picture, too large) instead of gr.Image's bare 'Error'. Patched on the instance:
    a gr.Image subclass would be treated as a custom component without a frontend."""
    decode_in_gradio = image_input.preprocess

    def preprocess(payload):
        if payload is not None and payload.path and not (payload.url or "").startswith("data:"):
            return payload.path
        return decode_in_gradio(payload)

    image_input.preprocess = preprocess
    return image_input


model, model_note = load_for_app(os.environ.get("FER_MODEL"))
handlers = Handlers(model)
examples = sorted(str(path) for path in (Path(__file__).parent / "examples").glob("*.jpg"))

with gr.Blocks(title="FER-2013 emotion demo") as demo:
    gr.Markdown("# Facial expression recognition\nDrop in a photo or turn on the webcam: every face gets a box and "
                f"one of {len(model.labels)} expressions ({', '.join(model.labels)}). Model: {model_note}. "
                "Nothing you upload is stored.")
    with gr.Row():
        tta = gr.Radio(list(TTA_MODES), value=DEFAULT_TTA, label="Test-time augmentation",
                       info="flip (default): centre + mirror; tencrop: 10 views; none: fastest")
        max_faces = gr.Slider(1, MAX_FACES_LIMIT, value=DEFAULT_MAX_FACES, step=1, label="Faces at most",
                              info="largest first")
    with gr.Tab("Photo"):
        with gr.Row():
            with gr.Column():
                photo = decoded_by_fer(gr.Image(type="filepath", sources=["upload", "clipboard"], label="Photo"))
                gr.Examples(examples, inputs=photo)
            annotated = gr.Image(label="Faces found", interactive=False, format="jpeg")
        with gr.Row():
            with gr.Column(scale=2):
                face_picker = gr.Radio([], label="Face", visible=False)
                bars = gr.BarPlot(x="emotion", y="probability", sort=model.labels, y_lim=[0, 1],
                                  label="Class probabilities", height=280)
            cam = gr.Image(label="Grad-CAM: what drove the prediction", interactive=False, height=280)
        # Without headers the empty table (before any photo) shows Gradio's placeholder columns "1 2 3".
        table = gr.Dataframe(headers=chart.FACE_COLUMNS, label="All faces", interactive=False)
        with gr.Accordion("API result (JSON)", open=False):
            result_json = gr.JSON(label="analysis")
        analysis_state = gr.State()
    with gr.Tab("Webcam"):
        with gr.Row():
            webcam = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Webcam")
            live = gr.Image(label="Live", interactive=False, elem_id="live")
        live_bars = gr.BarPlot(x="emotion", y="probability", sort=model.labels, y_lim=[0, 1], elem_id="live-chart",
                               label="Largest face", height=240)

    upload_outputs = [annotated, bars, cam, table, face_picker, analysis_state, result_json]
    for trigger in (photo.change, tta.change, max_faces.release):
        trigger(handlers.on_upload, [photo, tta, max_faces], upload_outputs, api_name=False)
    face_picker.change(handlers.on_pick_face, [face_picker, analysis_state], [bars, cam], api_name=False)
    webcam.stream(handlers.on_frame, [webcam, tta, max_faces], [live, live_bars], stream_every=0.1,
                  time_limit=120, concurrency_limit=4, api_name="stream")
    predict_button = gr.Button(visible=False)
    predict_button.click(handlers.predict, [photo, tta, max_faces], result_json, api_name="predict")

# Two requests run at once (2 cores); beyond the queue's size visitors get Gradio's "Queue is full, try again".
demo.queue(default_concurrency_limit=2, max_size=int(os.environ.get("FER_QUEUE_SIZE", "64")))

if __name__ == "__main__":
    cache_sweeper.start(demo, every_s=30, max_age_s=60)
    demo.launch(max_file_size=MAX_FILE_SIZE, server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
