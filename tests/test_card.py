from dataclasses import asdict

import pytest
import torch

from fer.model.classifier import EmotionClassifier
from fer.training import card, recipes
from fer.training.evaluate import metrics

LABELS = ["a", "b", "c"]


def card_text(init_from: str = "", weights_dtype: str = "float32", **settings) -> str:
    result = {**metrics(torch.tensor([0, 1, 2, 2]), torch.tensor([0, 1, 2, 1]), LABELS), "tta": "flip"}
    config = asdict(recipes.recipe("default", init_from=init_from, **settings))
    state = {"config": config, "command": "python train.py", "epochs_done": 8, "best_epoch": 7,
             "precision": "fp32", "train_seconds": 600.0}
    model = EmotionClassifier(labels=LABELS, width=4, weights_dtype=weights_dtype)
    return card.build_card(result, state, model, dataset_id="user/fer2013", train_n=100).content


@pytest.mark.parametrize("init_from, origin", [("", "Trained from scratch"),
                                               ("user/older-model", "Trained further from the weights of `user/older-model`")])
def test_card_says_where_training_started_and_carries_the_metrics(init_from, origin):
    text = card_text(init_from)
    assert origin in text
    assert "Distilled" not in text
    assert "value: 0.75" in text  # accuracy in the model-index metadata
    assert "| c | 1.000 | 0.500 | 0.667 | 2 |" in text
    assert "10.0 min for 8 epochs" in text


def test_card_spells_out_the_restarts_of_the_schedule():
    assert "schedule `onecycle`," in card_text(restarts=0)
    assert "schedule `onecycle` of 32 epochs, then 2 restarts of 8 epochs at lr 0.02" in card_text()


def test_card_says_when_the_weights_are_stored_in_float16():
    assert "float16" not in card_text()
    assert "Weights stored as float16 in `model.safetensors`" in card_text(weights_dtype="float16")


def test_card_states_the_sharpness_aware_radius():
    assert "sharpness-aware minimisation radius 0.0 (0 = off)" in card_text()
    assert "sharpness-aware minimisation radius 0.05 (0 = off)" in card_text(sam=0.05)
