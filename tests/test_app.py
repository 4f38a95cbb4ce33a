"""The app served on localhost and called through gradio_client: real requests, real answers, for
photos (/predict) and videos (/analyze_video)."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from fer.app.chart import FACE_COLUMNS
from fer.video.clip import write_mp4
from tests.app_server import running_app
from tests.images import EXAMPLES, hostile_files, odd_but_valid_files
from tests.videos import (
    HOSTILE_VIDEO_MESSAGES,
    face_arrives_late_clip,
    hostile_videos,
    one_face_clip,
    selfie_frames,
    stored_on_its_side,
    variable_frame_rate_clip,
)

LABELS = {"angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"}


@pytest.fixture(scope="module")
def client():
    with running_app() as server:
        yield Client(server.url, verbose=False)


def assert_valid_faces(result: dict, at_least: int = 1):
    assert len(result["faces"]) >= at_least
    for face in result["faces"]:
        assert set(face["probabilities"]) == LABELS
        assert abs(sum(face["probabilities"].values()) - 1) < 1e-3
        assert face["label"] == max(face["probabilities"], key=face["probabilities"].get)


def test_predict_endpoint_returns_boxes_and_all_probabilities(client):
    result = client.predict(handle_file(str(EXAMPLES / "two_people.jpg")), "tencrop", 10, api_name="/predict")
    assert_valid_faces(result, at_least=2)
    assert all(face["kind"] == "detected" for face in result["faces"])


def test_the_face_table_has_its_real_headers_before_any_photo(client):
    table = next(component for component in client.config["components"]
                 if component.get("props", {}).get("label") == "All faces")
    assert table["props"]["value"] == {"headers": FACE_COLUMNS, "data": [], "metadata": None}


def test_every_bad_input_gets_a_message_and_the_app_keeps_serving(client, tmp_path):
    expected = {"empty.jpg": "empty", "truncated.jpg": "damaged", "text.png": "not an image",
                "bomb.png": "too large", "tiny.png": "1×1"}
    for name, path in hostile_files(tmp_path).items():
        with pytest.raises(AppError, match=expected[name]):
            client.predict(handle_file(str(path)), "none", 10, api_name="/predict")
    for name, path in odd_but_valid_files(tmp_path).items():
        result = client.predict(handle_file(str(path)), "flip", 30, api_name="/predict")
        assert_valid_faces(result)
        if name == "no_face.png":
            assert result["faces"][0]["kind"] == "whole image" and result["notes"]
        if name == "crowd.jpg":
            assert len(result["faces"]) >= 25
    assert_valid_faces(client.predict(handle_file(str(EXAMPLES / "astronaut.jpg")), "none", 1, api_name="/predict"))


def test_unreachable_hub_model_falls_back_to_the_bundled_one_and_says_so():
    with running_app({"FER_MODEL": "nobody/not-a-model"}) as server:
        config = Client(server.url, verbose=False).config
    text = str(config)
    assert "bundled model, because nobody/not-a-model could not be loaded" in text


def test_an_overloaded_queue_answers_busy_at_once_and_recovers():
    with running_app({"FER_QUEUE_SIZE": "1"}) as server:
        photo = handle_file(str(EXAMPLES / "two_people.jpg"))

        def call(_):
            try:
                return Client(server.url, verbose=False).predict(photo, "tencrop", 10, api_name="/predict")
            except Exception as error:  # noqa: BLE001 - the test sorts answers from refusals
                return error

        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(call, range(12)))
        refusals = [a for a in answers if isinstance(a, Exception)]
        assert refusals and all("queue is full" in str(a).lower() for a in refusals)
        for answer in answers:
            if not isinstance(answer, Exception):
                assert_valid_faces(answer, at_least=2)
        assert_valid_faces(Client(server.url, verbose=False).predict(photo, "none", 10, api_name="/predict"))


def assert_valid_video_analysis(result: dict, frames: int, tracks: int):
    assert len(result["frames"]) == frames and len(result["tracks"]) == tracks
    track_ids = {track["id"] for track in result["tracks"]}
    assert {face["track"] for frame in result["frames"] for face in frame["faces"]} == track_ids
    for frame in result["frames"]:
        for face in frame["faces"]:
            assert set(face["probabilities"]) == LABELS and set(face["box"]) == {"x", "y", "width", "height"}
            assert abs(sum(face["probabilities"].values()) - 1) < 1e-3
    for track in result["tracks"]:
        assert abs(sum(track["summary"]["share"].values()) - 1) < 1e-3


def test_analyze_video_endpoint_returns_tracks_and_every_sampled_frames_faces(client, tmp_path):
    clip = one_face_clip(tmp_path / "clip.mp4", seconds=1)
    result = client.predict(handle_file(str(clip)), 5, "flip", 10, api_name="/analyze_video")
    assert result["fps_sampled"] == 5 and abs(result["duration_s"] - 1) < 0.05
    assert_valid_video_analysis(result, frames=5, tracks=1)
    assert [frame["time_s"] for frame in result["frames"]] == [0, 0.2, 0.4, 0.6, 0.8]


def test_every_bad_video_gets_a_message_and_the_app_keeps_serving(client, tmp_path):
    for name, path in hostile_videos(tmp_path).items():
        with pytest.raises(AppError, match=HOSTILE_VIDEO_MESSAGES[name]):
            client.predict(handle_file(str(path)), 5, "none", 10, api_name="/analyze_video")
    phone = client.predict(handle_file(str(variable_frame_rate_clip(tmp_path / "phone.mp4"))), 2, "none", 10,
                           api_name="/analyze_video")
    assert_valid_video_analysis(phone, frames=7, tracks=1)
    wall = write_mp4(tmp_path / "wall.mp4", [Image.new("RGB", (160, 120), (90, 140, 200))] * 5, fps=5)
    no_faces = client.predict(handle_file(str(wall)), 5, "none", 10, api_name="/analyze_video")
    assert_valid_video_analysis(no_faces, frames=5, tracks=0)
    assert no_faces["notes"] == ["No face found in any sampled frame."]


def test_phone_clips_stored_on_their_side_or_starting_without_a_face_get_upright_tracks(client, tmp_path):
    turned = client.predict(handle_file(str(stored_on_its_side(tmp_path / "selfie.mp4", selfie_frames(), 270))), 5,
                            "none", 10, api_name="/analyze_video")
    assert_valid_video_analysis(turned, frames=5, tracks=2)
    assert "a quarter turn clockwise to stand upright" in turned["notes"][0]
    boxes = [face["box"] for frame in turned["frames"] for face in frame["faces"]]
    assert len(boxes) == 10 and all(box["x"] + box["width"] <= 240 and box["y"] + box["height"] <= 320
                                    for box in boxes)  # the stored pixels are 320 wide
    late = client.predict(handle_file(str(face_arrives_late_clip(tmp_path / "late.mp4"))), 5, "none", 10,
                          api_name="/analyze_video")
    assert_valid_video_analysis(late, frames=10, tracks=1)
    assert [len(frame["faces"]) for frame in late["frames"]] == [0] * 5 + [1] * 5
