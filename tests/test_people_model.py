"""A model trained on FER+'s votes with an eighth class, contempt, through everything visitors and callers meet:
the Photo and Video handlers, the API's JSON, the CSV, the CLI, ONNX and the in-browser webcam; and the words
that say what its bars mean, taken from its config."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from fer.app.handlers import Handlers
from fer.app.video_handlers import VideoHandlers
from fer.app.wording import FER2013_WORDING, PEOPLE_WORDING, wording_for
from fer.model import onnx_export
from fer.model.classifier import FER2013_LABELS, FERPLUS_VOTES_SOURCE, EmotionClassifier, load_classifier
from fer.model.probabilities import predict_probabilities
from tests.app_server import running_app
from tests.browser import CHROMIUM, launch, start_browser_live
from tests.images import EXAMPLES
from tests.videos import one_face_clip

ROOT = Path(__file__).resolve().parents[1]
EIGHT = [*FER2013_LABELS, "contempt"]


@pytest.fixture(scope="module")
def people_model_folder(tmp_path_factory) -> Path:
    """A small vote-trained-style model with eight classes, saved as train.py saves one (config, weights, ONNX)."""
    torch.manual_seed(0)
    model = EmotionClassifier(labels=EIGHT, width=8, trained_on=FERPLUS_VOTES_SOURCE).eval()
    folder = tmp_path_factory.mktemp("people_model")
    model.save_pretrained(folder)
    onnx_export.export_onnx(model, folder)
    return folder


@pytest.fixture(scope="module")
def people_model(people_model_folder):
    return load_classifier(people_model_folder)


def test_the_words_come_from_the_config(people_model, tmp_path):
    assert people_model.trained_on == FERPLUS_VOTES_SOURCE
    assert wording_for(people_model.trained_on) == PEOPLE_WORDING
    EmotionClassifier(width=4).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    del config["trained_on"]  # as in every config.json written before there were vote-trained models
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert wording_for(load_classifier(tmp_path).trained_on) == FER2013_WORDING
    assert "10 people" in PEOPLE_WORDING.chart and "10 people" not in FER2013_WORDING.chart


def test_the_photo_tab_and_its_api_give_eight_probabilities_and_say_what_they_mean(people_model, tmp_path):
    handlers = Handlers(people_model, tmp_path)
    result = handlers.predict(str(EXAMPLES / "grace_hopper.jpg"), "flip", 10)
    assert result["probabilities_mean"] == PEOPLE_WORDING.meaning
    face = result["faces"][0]
    assert list(face["probabilities"]) == EIGHT and face["label"] in EIGHT
    assert sum(face["probabilities"].values()) == pytest.approx(1, abs=1e-3)
    outputs = handlers.on_upload(str(EXAMPLES / "grace_hopper.jpg"), "flip", 10)
    bars, page_json = outputs[1], outputs[-1]
    assert bars["emotion"].tolist() == EIGHT
    assert page_json["probabilities_mean"] == PEOPLE_WORDING.meaning


def test_the_video_tab_its_api_and_csv_carry_the_eighth_class(people_model, tmp_path):
    clip = one_face_clip(tmp_path / "clip.mp4")
    handlers = VideoHandlers(people_model, tmp_path)
    result = handlers.predict(str(clip), 5, "none", 10)
    assert result["probabilities_mean"] == PEOPLE_WORDING.meaning
    assert list(result["frames"][0]["faces"][0]["probabilities"]) == EIGHT
    timeline, _, _, csv_path, *_ = handlers.on_analyze(str(clip), 5, 0, False, "none", 10, progress=None)
    assert set(timeline["emotion"]) == set(EIGHT)
    with open(csv_path) as file:
        header = next(csv.reader(file))
    assert set(EIGHT) <= set(header)


def test_the_command_line_reports_eight_classes(people_model_folder):
    finished = subprocess.run([sys.executable, "-m", "fer.predict", str(EXAMPLES / "grace_hopper.jpg"), "--json",
                               "--model", str(people_model_folder)], cwd=ROOT, capture_output=True, text=True,
                              timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert list(json.loads(finished.stdout.splitlines()[0])["faces"][0]["probabilities"]) == EIGHT


def test_onnx_gives_the_eight_probabilities_pytorch_gives(people_model, people_model_folder):
    onnxruntime = pytest.importorskip("onnxruntime")
    session = onnxruntime.InferenceSession(str(people_model_folder / "model.onnx"))
    faces = torch.randint(0, 256, (3, 48, 48), dtype=torch.uint8)
    crops = faces[:, 4:44, 4:44].float().div(255).sub(people_model.mean).div(people_model.std).unsqueeze(1)
    (onnx_probabilities,) = session.run(None, {session.get_inputs()[0].name: crops.numpy()})
    assert onnx_probabilities.shape == (3, 8)
    expected = predict_probabilities(people_model, faces, tta="none").numpy()
    assert np.abs(onnx_probabilities - expected).max() < 1e-4


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_the_in_browser_webcam_draws_eight_bars_under_the_people_wording(people_model_folder):
    playwright = pytest.importorskip("playwright.sync_api")
    with running_app({"FER_MODEL": str(people_model_folder)}) as server, playwright.sync_playwright() as driver:
        browser = launch(driver, camera_picture=EXAMPLES / "grace_hopper.jpg")
        try:
            page = start_browser_live(browser, server.url, frames=3)
            assert page.locator(".live-chart-title").inner_text() == PEOPLE_WORDING.largest_face
            assert page.locator(".live-bar span").all_inner_texts() == EIGHT
            (face,) = page.evaluate("async () => { await ferLive.view.pause(); return ferLive.stats.lastFaces; }")
            assert len(face["probabilities"]) == 8 and sum(face["probabilities"]) == pytest.approx(1, abs=1e-3)
            assert PEOPLE_WORDING.meaning in page.locator("body").inner_text()
        finally:
            browser.close()
