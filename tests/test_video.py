"""Video decoding, sampling and encoding (PyAV), the per-face timelines on clips made here, and the
webcam's tracked, steady labels."""

import csv
from pathlib import Path

import av
import gradio as gr
import numpy as np
import pytest
from PIL import Image

from fer.app import cache_sweeper, cli
from fer.app.handlers import Handlers
from fer.app.video_handlers import VideoHandlers
from fer.model.analysis import analyze
from fer.model.classifier import BUNDLED_MODEL, load_classifier
from fer.video.clip import TURN_NAMES, Clip, VideoError, write_mp4
from fer.video.timeline import analyze_video
from tests.videos import (
    HOSTILE_VIDEO_MESSAGES,
    crossing_faces_frames,
    face_arrives_late_clip,
    hostile_videos,
    one_face_clip,
    selfie_frames,
    sliding_faces,
    stored_on_its_side,
    tiny_clip,
    variable_frame_rate_clip,
)


@pytest.fixture(scope="module")
def model():
    return load_classifier(BUNDLED_MODEL)


def test_frames_are_sampled_evenly_at_the_chosen_rate(tmp_path):
    with Clip(one_face_clip(tmp_path / "clip.mp4", seconds=2, fps=10)) as clip:
        times = [time_s for time_s, _ in clip.sampled_frames(fps=5)]
        assert clip.duration_s == pytest.approx(2, abs=0.05)
    assert times == pytest.approx([0.2 * index for index in range(10)])


@pytest.mark.parametrize("name, format, codec", [("browser.webm", "webm", "libvpx-vp9"),
                                                 ("phone.mov", "mov", "libx264")])
def test_webm_and_mov_clips_are_read_too(tmp_path, name, format, codec):
    with Clip(tiny_clip(tmp_path / name, format, codec)) as clip:
        assert [time_s for time_s, _ in clip.sampled_frames(fps=5)] == pytest.approx([0, 0.2, 0.4, 0.6, 0.8])


def test_a_variable_frame_rate_clip_is_sampled_by_time_not_by_frame(tmp_path):
    with Clip(variable_frame_rate_clip(tmp_path / "phone.mp4")) as clip:
        times = [time_s for time_s, _ in clip.sampled_frames(fps=5)]
        duration_s = clip.duration_s
    slots = np.floor(np.array(times) / 0.2 + 1e-6)  # each sample is the first frame of its 1/5 s
    assert np.all(np.diff(slots) >= 1) and np.diff(times).max() <= 0.2 + 0.125 + 1e-6  # frames are ≤ 1/8 s apart
    assert len(times) == pytest.approx(duration_s * 5, abs=2)


def test_written_mp4_is_h264_yuv420p_with_every_frame(tmp_path):
    pictures = [Image.new("RGB", (161, 121), (index * 20, 90, 90)) for index in range(12)]  # odd sides
    path = write_mp4(tmp_path / "out.mp4", pictures, fps=5)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.format.name) == ("h264", "yuv420p")
        assert (stream.width, stream.height) == (160, 120)
        assert sum(1 for _ in container.decode(stream)) == 12


def test_every_bad_video_gets_a_clear_message(tmp_path):
    for name, path in hostile_videos(tmp_path).items():
        with pytest.raises(VideoError, match=HOSTILE_VIDEO_MESSAGES[name]):
            with Clip(path) as clip:
                list(clip.sampled_frames())


def test_videos_too_long_too_many_pixels_or_too_many_bytes_are_refused_before_decoding(tmp_path, monkeypatch):
    path = one_face_clip(tmp_path / "clip.mp4", seconds=2)
    monkeypatch.setattr("fer.video.clip.MAX_DURATION_S", 1)
    with pytest.raises(VideoError, match="lasts 2 s; the limit"):
        Clip(path)
    monkeypatch.setattr("fer.video.clip.MAX_FRAME_PIXELS", 320 * 240 - 1)
    with pytest.raises(VideoError, match="320×240 pixels; the limit is 4K"):
        Clip(path)
    monkeypatch.setattr("fer.video.clip.MAX_BYTES", path.stat().st_size - 1)
    with pytest.raises(VideoError, match="MB; the limit is"):
        Clip(path)


def test_one_face_clip_gives_one_track_with_valid_probabilities_and_csv_rows(tmp_path, model):
    analysis = analyze_video(one_face_clip(tmp_path / "clip.mp4"), model, fps=5, tta="none")
    assert len(analysis.frames) == 5 and analysis.track_ids() == [1]
    for frame in analysis.frames:
        (face,) = frame.faces
        assert sum(face.result.probabilities.values()) == pytest.approx(1, abs=1e-4)
        assert sum(face.smoothed.values()) == pytest.approx(1, abs=1e-4)
    summary = analysis.as_json()["tracks"][0]["summary"]
    assert summary["frames"] == 5 and sum(summary["share"].values()) == pytest.approx(1)
    rows = analysis.csv_rows()
    assert len(rows) == 5 and list(rows[0]) == ["time_s", "track", "x", "y", "width", "height", *model.labels, "label"]


def test_a_clip_without_faces_is_a_valid_result_that_says_so(tmp_path, model):
    path = write_mp4(tmp_path / "wall.mp4", [Image.new("RGB", (160, 120), (90, 140, 200))] * 10, fps=10)
    analysis = analyze_video(path, model, fps=5, tta="none")
    assert analysis.frames and all(not frame.faces for frame in analysis.frames)
    assert analysis.as_json()["tracks"] == [] and "No face found" in analysis.notes[0]


def test_two_faces_moving_past_each_other_keep_their_ids_through_the_detector(tmp_path, model):
    path = write_mp4(tmp_path / "crossing.mp4", crossing_faces_frames(seconds=2, fps=10), fps=10)
    analysis = analyze_video(path, model, fps=5, tta="none")  # the astronaut's face moves 1.2 face sizes per sample
    ids = {"hopper": [], "astronaut": []}
    for frame in analysis.frames:
        for face in frame.faces:
            _, y, _, height = face.result.face.box
            ids["hopper" if y + height / 2 < 140 else "astronaut"].append(face.track)
    switches = sum(a != b for track_ids in ids.values() for a, b in zip(track_ids, track_ids[1:]))
    print(f"crossing faces: {len(ids['hopper'])} + {len(ids['astronaut'])} detections in {len(analysis.frames)} "
          f"frames, tracks {analysis.track_ids()}, id switches {switches}")
    assert len(ids["hopper"]) >= 0.9 * len(analysis.frames) and len(ids["astronaut"]) >= 0.9 * len(analysis.frames)
    assert switches == 0 and len(analysis.track_ids()) == 2


def faces_seen(analysis) -> list[tuple]:
    """(time, track, label, box) of every face in every sampled frame."""
    return [(frame.time_s, face.track, face.result.label, face.result.face.box)
            for frame in analysis.frames for face in frame.faces]


@pytest.mark.parametrize("angle", [90, 180, 270])
def test_a_clip_stored_on_its_side_gives_the_tracks_and_labels_of_the_same_clip_stored_upright(tmp_path, model, angle):
    frames = selfie_frames()
    upright = analyze_video(write_mp4(tmp_path / "upright.mp4", frames, fps=10), model, fps=5, tta="none")
    turned = analyze_video(stored_on_its_side(tmp_path / "turned.mp4", frames, angle), model, fps=5, tta="none")
    assert len(upright.track_ids()) == 2 and len(faces_seen(upright)) == 2 * len(upright.frames)
    assert [seen[:3] for seen in faces_seen(turned)] == [seen[:3] for seen in faces_seen(upright)]
    for (*_, turned_box), (*_, upright_box) in zip(faces_seen(turned), faces_seen(upright)):
        assert np.abs(np.array(turned_box) - np.array(upright_box)).max() <= 4
    assert turned.notes == [f"turned.mp4 is stored on its side (as phones store portrait clips): each frame was given "
                            f"{TURN_NAMES[angle]} to stand upright, and boxes are in upright pixels."]


def test_a_clip_whose_first_second_has_no_face_starts_its_track_when_the_face_arrives(tmp_path, model):
    analysis = analyze_video(face_arrives_late_clip(tmp_path / "late.mp4"), model, fps=5, tta="none")
    assert [len(frame.faces) for frame in analysis.frames] == [0] * 5 + [1] * 5
    assert analysis.track_ids() == [1] and analysis.summary(1)["first_s"] == pytest.approx(1.0)
    assert [row["time_s"] for row in analysis.csv_rows()] == [1.0, 1.2, 1.4, 1.6, 1.8] and analysis.notes == []


def test_cli_writes_a_row_per_face_per_sampled_frame_and_one_error_line_for_a_bad_clip(tmp_path, capsys):
    csv_path = tmp_path / "faces.csv"
    clip = one_face_clip(tmp_path / "clip.mp4")
    assert cli.main([str(clip), "--csv", str(csv_path), "--fps", "5", "--tta", "none"]) == 0
    rows = csv_path.read_text().splitlines()
    assert rows[0] == "file,time_s,track,x,y,width,height,angry,disgust,fear,happy,neutral,sad,surprise,label"
    assert len(rows) == 1 + 5 and "face 1 (0.0–0.8 s)" in capsys.readouterr().out
    (tmp_path / "notes.mp4").write_text("not a video")
    assert cli.main([str(tmp_path / "notes.mp4")]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert errors == ["error: notes.mp4 is not a video this app can read (MP4, WebM, MOV), "
                      "or it is damaged or truncated."]


def analysed_in_the_tab(model, outputs: Path, clip: Path) -> tuple:
    """The Video tab's answers for `clip`: 5 frames/s, 1 s smoothing, an annotated video, TTA `none`."""
    return VideoHandlers(model, outputs).on_analyze(str(clip), 5, 1.0, True, "none", 10,
                                                    progress=lambda *args, **kwargs: None)


def test_the_tabs_csv_and_annotated_video_are_written_where_the_cache_sweeper_deletes_them(tmp_path, model):
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    clip = one_face_clip(tmp_path / "clip.mp4")
    answers = analysed_in_the_tab(model, outputs, clip)
    timeline, csv_path, annotated_path = answers[0], Path(answers[3]), Path(answers[4])
    assert set(timeline["emotion"]) == set(model.labels) and len(timeline) == 5 * len(model.labels)
    assert outputs in csv_path.parents and outputs in annotated_path.parents
    with av.open(str(annotated_path)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 5
    assert cache_sweeper.sweep(gr.Blocks(), max_age_s=-1, folders=(outputs,)) == 2
    assert not list(outputs.iterdir())


def test_the_tab_and_the_cli_answer_a_clip_on_its_side_in_upright_pixels(tmp_path, model, capsys):
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    turned = stored_on_its_side(tmp_path / "selfie.mp4", selfie_frames(), 90)
    answers = analysed_in_the_tab(model, outputs, turned)
    with av.open(answers[4]) as container:
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height, frame.rotation) == (240, 320, 0)
    csv_rows = Path(answers[3]).read_text().splitlines()[1:]
    assert len(csv_rows) == 10 and "stored on its side" in answers[6]["notes"][0]
    late, sound = face_arrives_late_clip(tmp_path / "late.mp4"), hostile_videos(tmp_path)["sound_only.mp4"]
    assert cli.main([str(turned), str(late), str(sound), "--csv", str(tmp_path / "all.csv"), "--tta", "none"]) == 1
    rows = list(csv.DictReader((tmp_path / "all.csv").read_text().splitlines()))
    selfie_rows = [row for row in rows if row["file"].endswith("selfie.mp4")]
    assert [int(row["track"]) for row in selfie_rows] == [1, 2] * 5
    assert all(int(row["x"]) + int(row["width"]) <= 240 and int(row["y"]) + int(row["height"]) <= 320
               for row in selfie_rows)  # the stored pixels are 320 wide
    assert min(float(row["time_s"]) for row in rows if row["file"].endswith("late.mp4")) == 1.0
    printed = capsys.readouterr()
    assert "note: selfie.mp4 is stored on its side" in printed.out
    assert "error: sound_only.mp4 has no video track (only sound?)." in printed.err


def test_a_clip_with_odd_sides_is_analysed_and_its_annotated_copy_is_cut_to_even_sides(tmp_path, model):
    clip = tiny_clip(tmp_path / "odd.webm", "webm", "libvpx-vp9", size=(161, 121))  # VP9 allows odd sides
    answers = analysed_in_the_tab(model, tmp_path, clip)
    assert len(answers[6]["frames"]) == 5
    with av.open(answers[4]) as container:
        assert [(frame.width, frame.height) for frame in container.decode(video=0)] == [(160, 120)] * 5


def test_webcam_frames_keep_their_face_number_and_steady_labels_are_smoothed_unless_turned_off(model, tmp_path):
    handlers = Handlers(model, tmp_path, clock=iter(np.arange(0, 10, 0.1)).__next__)  # frames 0.1 s apart, however slow
    frame = np.asarray(sliding_faces([("grace_hopper", (160, 50), (160, 50))], seconds=0.1, height=375)[0])
    noisy = np.clip(frame + np.random.default_rng(0).normal(0, 20, frame.shape), 0, 255).astype(np.uint8)
    raw = analyze(Image.fromarray(noisy), model, tta="none").faces[0].probabilities
    _, _, tracker = handlers.on_frame(frame, "none", 10, True, None)
    _, bars, tracker = handlers.on_frame(noisy, "none", 10, False, tracker)
    assert bars["probability"].tolist() == pytest.approx([raw[name] for name in model.labels])
    _, bars, tracker = handlers.on_frame(frame, "none", 10, True, tracker)
    assert bars["probability"].tolist() != pytest.approx([raw[name] for name in model.labels], abs=1e-3)
    assert sum(bars["probability"]) == pytest.approx(1) and tracker.last_id == 1


def test_a_webcam_frame_without_a_face_shows_a_note_and_leaves_no_track(model, tmp_path):
    blank = np.full((480, 640, 3), 90, dtype=np.uint8)
    annotated, bars, tracker = Handlers(model, tmp_path).on_frame(blank, "none", 10)
    assert tracker.tracks == [] and tracker.last_id == 0
    assert list(bars["probability"]) == [0.0] * len(model.labels)
    assert annotated.shape == blank.shape and not np.array_equal(annotated, blank)  # the "no face" note
    assert np.array_equal(annotated[-100:], blank[-100:])
