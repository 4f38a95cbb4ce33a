"""Prior matching (fer.training.calibration): fitting the multipliers, applying them, and train.py's final step."""

import json
import subprocess
import sys
from dataclasses import asdict

import pytest
import torch

from fer.model.classifier import EmotionClassifier, ModelLoadError, load_classifier
from fer.model.probabilities import corrected, predict_probabilities
from fer.training import loop, pipeline, recipes
from fer.training.calibration import prior_matching_weights
from fer.training.dataset import load_fer
from tests.app_server import ROOT
from tests.conftest import SYNTHETIC_LABELS

TINY = dict(epochs=2, restarts=0, ema=0.0, width=4, batch_size=16, precision="fp32")


def predicted_shares(probabilities: torch.Tensor) -> torch.Tensor:
    return torch.bincount(probabilities.argmax(1), minlength=probabilities.shape[1]) / len(probabilities)


def test_the_multipliers_make_every_class_predicted_as_often_as_in_training():
    torch.manual_seed(0)
    logits = torch.randn(2000, 3)
    logits[:, 1] -= 1.0  # class 1 is predicted too rarely
    probabilities = logits.softmax(1)
    weights = prior_matching_weights(probabilities, class_counts=[500, 300, 200])
    shares = predicted_shares(corrected(probabilities, weights))
    assert torch.allclose(shares, torch.tensor([0.5, 0.3, 0.2]), atol=0.02), shares
    assert weights[1] == max(weights)
    assert torch.tensor(weights, dtype=torch.float64).log().mean().abs() < 1e-9  # geometric mean 1


def test_a_class_absent_from_training_gets_a_small_finite_multiplier():
    probabilities = torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7]] * 20)
    weights = prior_matching_weights(probabilities, class_counts=[30, 30, 0])
    assert all(0 < weight < float("inf") for weight in weights)
    assert weights[2] == min(weights)


def test_a_class_the_model_never_ranks_first_gets_a_bounded_multiplier():
    # a net after one short epoch: every face is "happy", the others' probabilities underflowed to 0
    probabilities = torch.zeros(50, 7)
    probabilities[:, 3] = 1.0
    weights = prior_matching_weights(probabilities, [100] * 7)
    assert all(0.001 < round(weight, 4) < 1000 for weight in weights)


def test_corrected_probabilities_are_rescaled_and_renormalised():
    probabilities = torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    assert corrected(probabilities, None) is probabilities
    rescaled = corrected(probabilities, [1.0, 2.0, 1.0])
    assert torch.allclose(rescaled.sum(1), torch.ones(2))
    assert rescaled[0].argmax() == 1 and rescaled[1].argmax() == 2
    assert torch.allclose(rescaled[0], torch.tensor([0.5, 0.6, 0.2]) / 1.3)


def test_a_model_saves_and_predicts_with_its_prior_correction(tmp_path):
    torch.manual_seed(0)
    plain = EmotionClassifier(labels=["a", "b", "c"], width=4).eval()
    weighted = plain.with_prior_correction([0.5, 1.0, 2.0])
    weighted.save_pretrained(tmp_path)
    loaded = load_classifier(tmp_path)
    assert loaded.prior_correction == [0.5, 1.0, 2.0]
    faces = torch.randint(0, 256, (6, 48, 48), dtype=torch.uint8)
    expected = corrected(predict_probabilities(plain, faces), [0.5, 1.0, 2.0])
    assert torch.allclose(predict_probabilities(loaded, faces), expected)


@pytest.mark.parametrize("prior_correction", [[1.0, 2.0], [1.0, -1.0, 1.0], [1.0, float("nan"), 1.0], "fear"])
def test_a_hostile_prior_correction_is_refused(tmp_path, prior_correction):
    EmotionClassifier(labels=["a", "b", "c"], width=4).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "prior_correction": prior_correction}))
    with pytest.raises(ModelLoadError, match="prior_correction"):
        load_classifier(tmp_path)


def finish_a_tiny_run(local_dataset, out_dir, recipe="default"):
    data = load_fer(str(local_dataset))
    state = loop.train(recipes.recipe(recipe, **TINY), data, out_dir)
    pipeline.finish(out_dir, data, state)
    return data, state


def test_train_py_fits_the_correction_and_reports_both_sides_of_it(local_dataset, tmp_path):
    data, state = finish_a_tiny_run(local_dataset, tmp_path)
    model = load_classifier(tmp_path)
    assert model.prior_correction is not None and len(model.prior_correction) == 7
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["validation_without_prior_correction"]) >= {"accuracy", "per_class_recall"}
    card_text = (tmp_path / "README.md").read_text()
    assert "The class probabilities are multiplied by" in card_text
    assert "without its labels, to fit the prior correction" in card_text
    assert (tmp_path / "model.onnx").exists() and "## ONNX" in card_text
    first_fit = model.prior_correction
    pipeline.finish(tmp_path, data, state)  # as `train.py --resume` after the last epoch
    assert load_classifier(tmp_path).prior_correction == first_fit  # fitted on the uncorrected model again


def test_the_seed_recipe_keeps_the_plain_network(local_dataset, tmp_path):
    assert asdict(recipes.recipe("seed"))["match_class_prior"] is False
    finish_a_tiny_run(local_dataset, tmp_path, recipe="seed")
    assert load_classifier(tmp_path).prior_correction is None
    assert json.loads((tmp_path / "metrics.json").read_text())["validation_without_prior_correction"] is None


def test_the_held_out_benchmark_prints_each_figure_without_and_with_the_correction(local_dataset, tmp_path):
    EmotionClassifier(labels=SYNTHETIC_LABELS, width=4).save_pretrained(tmp_path)
    result = subprocess.run([sys.executable, "benchmarks/prior_correction.py", "--model", str(tmp_path),
                             "--dataset", str(local_dataset), "--repeats", "3"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = {line.split("  ")[0]: line for line in result.stdout.splitlines()}
    for figure in ["accuracy", "macro-F1"] + [f"{name} recall" for name in SYNTHETIC_LABELS]:
        assert rows[figure].count("±") == 3, result.stdout
