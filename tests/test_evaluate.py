import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fer.model.classifier import EmotionClassifier
from fer.training.dataset import load_fer
from fer.training.evaluate import labels_in_model_order, metrics
from tests.conftest import image_dataset, write_parquet_dataset

ROOT = Path(__file__).resolve().parents[1]


def test_metrics_on_a_known_confusion():
    true = torch.tensor([0, 0, 0, 1, 1, 2])
    predicted = torch.tensor([0, 0, 1, 1, 1, 0])
    result = metrics(true, predicted, ["a", "b", "c"])
    assert result["confusion_matrix"] == [[2, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert result["accuracy"] == 4 / 6
    assert result["per_class_recall"] == {"a": 2 / 3, "b": 1.0, "c": 0.0}
    f1_a, f1_b = 2 * (2 / 3 * 2 / 3) / (4 / 3), 2 * (2 / 3) / (5 / 3)
    assert abs(result["macro_f1"] - (f1_a + f1_b + 0) / 3) < 1e-9
    assert result["macro_f1_classes"] == ["a", "b", "c"]


def test_macro_f1_averages_only_the_classes_present_in_the_scored_labels():
    true = torch.tensor([0, 0, 1, 1])
    predicted = torch.tensor([0, 0, 1, 2])  # "c" is predicted once but never the truth
    result = metrics(true, predicted, ["a", "b", "c"])
    f1_b = 2 * (1 * 0.5) / 1.5
    assert result["macro_f1_classes"] == ["a", "b"]
    assert result["macro_f1"] == pytest.approx((1.0 + f1_b) / 2)


def test_dataset_labels_are_renumbered_to_the_model_order(local_dataset):
    data = load_fer(str(local_dataset))  # angry, disgust, fear, happy, sad, surprise, neutral
    model = EmotionClassifier(width=4)  # angry, disgust, fear, happy, neutral, sad, surprise
    renumbered = labels_in_model_order(data, "train", model)
    names = [model.labels[i] for i in renumbered[:7].tolist()]
    assert names == [data.label_names[i] for i in data.splits["train"].labels[:7].tolist()]


def test_cli_prints_the_json_contract_on_its_last_line(local_dataset, tmp_path):
    EmotionClassifier(width=4).save_pretrained(tmp_path)
    result = subprocess.run([sys.executable, "-m", "fer.evaluate", "--model", str(tmp_path),
                             "--dataset", str(local_dataset), "--split", "validation"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(report) == {"accuracy", "macro_f1", "macro_f1_classes", "per_class_recall", "confusion_matrix",
                           "labels", "n"}
    assert report["n"] == 35 and sum(map(sum, report["confusion_matrix"])) == 35
    assert report["labels"] == EmotionClassifier(width=4).labels
    assert set(report["per_class_recall"]) == set(report["labels"])


def test_cli_unknown_split_is_one_clear_line(local_dataset, tmp_path):
    EmotionClassifier(width=4).save_pretrained(tmp_path)
    result = subprocess.run([sys.executable, "-m", "fer.evaluate", "--model", str(tmp_path),
                             "--dataset", str(local_dataset), "--split", "private"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "no split 'private'" in result.stderr


def test_a_dataset_with_only_the_scored_split_is_evaluated(tmp_path):
    only_test = write_parquet_dataset(tmp_path / "data", {"test": image_dataset(14, seed=5)})
    EmotionClassifier(width=4).save_pretrained(tmp_path / "model")
    result = subprocess.run([sys.executable, "-m", "fer.evaluate", "--model", str(tmp_path / "model"),
                             "--dataset", str(only_test), "--split", "test"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["n"] == 14
