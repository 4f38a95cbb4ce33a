"""Trained models averaged into one (`python train.py --average`): the same probabilities as averaging by hand,
saved, exported, explained and described like any model."""

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

import train
from fer.model import gradcam
from fer.model.classifier import FERPLUS_VOTES_SOURCE, EmotionClassifier, ModelLoadError, load_classifier
from fer.model.onnx_export import export_onnx
from fer.model.probabilities import predict_probabilities
from fer.training import loop, pipeline, recipes
from fer.training.dataset import load_fer
from fer.training.ensemble import average_models
from tests.conftest import SYNTHETIC_LABELS, synthetic_faces

TINY = dict(epochs=1, restarts=0, batch_size=16, width=4, precision="fp32", lr=0.05, ema=0.0)


def saved_member(folder, seed: int, **settings) -> str:
    torch.manual_seed(seed)
    model = EmotionClassifier(labels=SYNTHETIC_LABELS, width=4, trained_on=FERPLUS_VOTES_SOURCE, **settings)
    for parameter in model.parameters():  # away from the initial weights, so members differ in every layer
        parameter.data.add_(torch.randn_like(parameter) * 0.3)
    model.save_pretrained(folder)
    return str(folder)


def faces(count: int = 12) -> torch.Tensor:
    images, _ = synthetic_faces(count, seed=3)
    return torch.from_numpy(np.stack([np.asarray(image) for image in images]))


@pytest.mark.parametrize("tta", ["none", "flip"])
def test_the_average_predicts_the_mean_of_its_members_probabilities(tmp_path, tta):
    sources = [saved_member(tmp_path / str(seed), seed) for seed in range(3)]
    averaged = average_models(sources)
    by_hand = torch.stack([predict_probabilities(load_classifier(source), faces(), tta) for source in sources]).mean(0)
    assert torch.allclose(predict_probabilities(averaged, faces(), tta), by_hand, atol=1e-6)
    assert not torch.allclose(by_hand, predict_probabilities(load_classifier(sources[0]), faces(), tta), atol=1e-3)


def test_a_saved_average_loads_back_and_exports_to_onnx_as_it_predicts(tmp_path):
    averaged = average_models([saved_member(tmp_path / "a", 0, weights_dtype="float16"), saved_member(tmp_path / "b", 1)])
    averaged.save_pretrained(tmp_path / "pair")
    loaded = load_classifier(tmp_path / "pair")
    assert (loaded.members, loaded.weights_dtype) == (2, "float16")
    assert torch.equal(predict_probabilities(loaded, faces(), "none"), predict_probabilities(averaged, faces(), "none"))
    session = ort.InferenceSession(str(export_onnx(loaded, tmp_path / "pair")))
    crops = (faces()[:, None, 4:44, 4:44].float() / 255 - loaded.mean) / loaded.std
    (from_onnx,) = session.run(None, {"faces": crops.numpy()})
    assert np.allclose(from_onnx, predict_probabilities(loaded, faces(), "none").numpy(), atol=1e-5)


def test_grad_cam_of_an_average_watches_every_member(tmp_path, monkeypatch):
    averaged = average_models([saved_member(tmp_path / "a", 0), saved_member(tmp_path / "b", 1)])
    watched = []
    original = gradcam.class_activation
    monkeypatch.setattr(gradcam, "class_activation", lambda *args: watched.append(args[0].shape) or original(*args))
    cams = [gradcam.heat_map(averaged, faces(1)[0].numpy(), index) for index in range(len(averaged.labels))]
    assert len(watched) == 2 * len(cams)
    assert all(cam.shape == (averaged.input_size, averaged.input_size) and 0 <= cam.min() <= cam.max() <= 1
               for cam in cams)
    assert max(cam.max() for cam in cams) == pytest.approx(1)


@pytest.mark.parametrize("second, message", [
    ({"width": 8}, "width 8"),
    ({"trained_on": "fer2013_labels"}, "trained_on"),
    ({"prior_correction": [1.0] * len(SYNTHETIC_LABELS)}, "prior correction"),
])
def test_models_that_cannot_be_averaged_are_named_with_the_reason(tmp_path, second, message):
    first = saved_member(tmp_path / "a", 0)
    other = EmotionClassifier(**{"labels": SYNTHETIC_LABELS, "width": 4, "trained_on": FERPLUS_VOTES_SOURCE, **second})
    other.save_pretrained(tmp_path / "b")
    with pytest.raises(ModelLoadError, match=message):
        average_models([first, str(tmp_path / "b")])


def test_an_average_is_not_a_member_and_one_model_is_not_an_average(tmp_path):
    sources = [saved_member(tmp_path / str(seed), seed) for seed in range(2)]
    average_models(sources).save_pretrained(tmp_path / "pair")
    with pytest.raises(ModelLoadError, match="itself an average"):
        average_models([str(tmp_path / "pair"), sources[0]])
    with pytest.raises(ModelLoadError, match="at least two"):
        average_models(sources[:1])
    with pytest.raises(ModelLoadError, match="fine-tune one of them"):
        loop.shaped_like(recipes.recipe("votes"), str(tmp_path / "pair"), set())


def test_train_py_average_writes_a_model_folder_whose_card_names_its_members(voted_dataset, tmp_path, capsys):
    data = load_fer(str(voted_dataset))
    for seed in range(2):
        state = loop.train(recipes.recipe("votes", seed=seed, **TINY), data, tmp_path / f"m{seed}",
                           command=f"python train.py --seed {seed}")
        pipeline.finish(tmp_path / f"m{seed}", data, state)
    out = tmp_path / "pair"
    code = train.main(["--average", str(tmp_path / "m0"), str(tmp_path / "m1"), "--dataset", str(voted_dataset),
                       "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert load_classifier(out).members == 2
    metrics = json.loads((out / "metrics.json").read_text())
    members = [json.loads((tmp_path / f"m{seed}" / "metrics.json").read_text()) for seed in range(2)]
    assert metrics["train_seconds"] == pytest.approx(sum(member["train_seconds"] for member in members))
    assert [member["command"] for member in metrics["members"]] == ["python train.py --seed 0", "python train.py --seed 1"]
    card = (out / "README.md").read_text()
    assert "The average of 2 networks" in card and "`python train.py --seed 1`" in card
    assert f"{metrics['validation']['people']['plurality_accuracy']:.1%}" in card
    assert (out / "model.onnx").exists() and not (out / "training_curves.png").exists()


def test_members_without_metrics_json_are_described_by_what_their_config_says_they_fit(voted_dataset, tmp_path,
                                                                                      capsys):
    sources = [saved_member(tmp_path / "a", 0), saved_member(tmp_path / "b", 1)]  # weights and config only
    code = train.main(["--average", *sources, "--dataset", str(voted_dataset), "--out", str(tmp_path / "pair")])
    assert code == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "pair" / "metrics.json").read_text())["config"]["targets"] == "votes"
    card = (tmp_path / "pair" / "README.md").read_text()
    assert "FER+ votes as soft targets" in card and "against FER-2013's own labels" not in card
    assert "prior correction included" not in card and "posed photos) is not measured here" in card


def test_train_py_average_of_a_missing_folder_is_a_clear_error(voted_dataset, tmp_path, capsys):
    code = train.main(["--average", str(tmp_path / "nowhere"), str(tmp_path / "nor_here"), "--dataset",
                       str(voted_dataset), "--out", str(tmp_path / "pair")])
    assert code == 2 and "nowhere" in capsys.readouterr().err
