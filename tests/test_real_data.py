"""Smoke test on a small real subset of ../shared/fer2013 (skipped where the data is absent)."""

import pytest
from PIL import Image

from fer.face_path.faces import DETECTED, find_faces
from fer.training import loop, recipes
from fer.training.dataset import load_fer, stratified_split
from tests.conftest import SHARED_FER

pytestmark = pytest.mark.skipif(not SHARED_FER.exists(), reason="../shared/fer2013 is not here")


def test_default_model_learns_well_above_chance_on_a_real_subset(tmp_path):
    data = load_fer(str(SHARED_FER))
    assert len(data.splits["train"]) == 28709 and len(data.splits["validation"]) == 3589
    assert data.label_names == ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    data.splits["train"] = stratified_split(data.splits["train"], 4000 / 28709, seed=0)[1]
    data.splits["validation"] = stratified_split(data.splits["validation"], 800 / 3589, seed=0)[1]
    # 4 short epochs: too few steps to average
    config = recipes.recipe("default", epochs=4, restarts=0, width=16, ema=0.0)
    state = loop.train(config, data, tmp_path)
    assert state["best_val_accuracy"] > 0.30  # chance is 1/7 ≈ 0.14; the majority class is 0.25


def test_fer_2013_faces_as_their_own_48_pixel_files_are_detected():
    faces = load_fer(str(SHARED_FER)).splits["validation"].images[:300]
    kinds = [find_faces(Image.fromarray(face.numpy()).convert("RGB"))[0][0].kind for face in faces]
    assert kinds.count(DETECTED) / len(kinds) >= 0.98  # 95 % of these before small pictures were scaled up for detection
