import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import fer.training.dataset
from fer.training.dataset import KAGGLE_CSV_LABELS, DatasetError, load_fer
from tests.conftest import SYNTHETIC_LABELS

ROOT = Path(__file__).resolve().parents[1]


def test_local_folder_gives_uint8_48px_and_label_names_from_classlabel(local_dataset):
    data = load_fer(str(local_dataset))
    assert data.label_names == SYNTHETIC_LABELS
    assert set(data.splits) == {"train", "validation"}
    train = data.splits["train"]
    assert train.images.dtype == torch.uint8 and tuple(train.images.shape) == (70, 48, 48)
    assert train.labels.tolist() == [i % 7 for i in range(70)]


def test_hub_id_goes_through_load_dataset_and_gets_a_stratified_seeded_validation(monkeypatch, hub_like_dataset_dict):
    asked = []
    monkeypatch.setattr(fer.training.dataset, "load_dataset",
                        lambda source: asked.append(source) or hub_like_dataset_dict)
    data = load_fer("someone/fer2013", val_fraction=0.2, seed=5)
    assert asked == ["someone/fer2013"]
    assert set(data.splits) == {"train", "validation", "test"}
    assert tuple(data.splits["test"].images.shape) == (21, 48, 48)  # 64×64 RGB converted
    assert len(data.splits["train"]) + len(data.splits["validation"]) == 140
    assert data.class_counts("validation") == [4] * 7  # 20 % of every class's 20 images
    again = load_fer("someone/fer2013", val_fraction=0.2, seed=5)
    assert torch.equal(again.splits["validation"].images, data.splits["validation"].images)


def test_kaggle_csv_layout_uses_its_own_label_order(tmp_path):
    rows = ["emotion,pixels,Usage"]
    for index, usage in enumerate(["Training"] * 14 + ["PublicTest"] * 7 + ["PrivateTest"] * 7):
        rows.append(f"{index % 7},{' '.join(str((index * 7 + k) % 256) for k in range(48 * 48))},{usage}")
    csv_path = tmp_path / "fer2013.csv"
    csv_path.write_text("\n".join(rows) + "\n")
    for source in (csv_path, tmp_path):  # the file itself, or the folder holding it
        data = load_fer(str(source))
        assert data.label_names == KAGGLE_CSV_LABELS
        assert {name: len(split) for name, split in data.splits.items()} == {"train": 14, "validation": 7, "test": 7}
        assert data.splits["train"].images[1, 0, :3].tolist() == [7, 8, 9]


@pytest.mark.parametrize("make_source, expected", [
    (lambda tmp: str(tmp / "nowhere"), "No dataset found"),
    (lambda tmp: str(_write(tmp / "notes.txt", "hello")), "not a .csv"),
    (lambda tmp: str(_write(tmp / "fer2013.csv", "a,b\n1,2\n")), "expected one of ['emotion']"),
])
def test_bad_sources_give_one_clear_message(tmp_path, make_source, expected):
    with pytest.raises(DatasetError) as caught:
        load_fer(make_source(tmp_path))
    assert expected in str(caught.value)


def test_label_column_without_classlabel_is_refused(monkeypatch, hub_like_dataset_dict):
    plain = hub_like_dataset_dict.cast_column("label", _int_feature())
    monkeypatch.setattr(fer.training.dataset, "load_dataset", lambda source: plain)
    with pytest.raises(DatasetError, match="not a ClassLabel"):
        load_fer("someone/plain-ints")


def test_train_cli_reports_a_wrong_path_in_one_line_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "train.py", "--dataset", str(tmp_path / "missing")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "No dataset found" in error_lines[0]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _int_feature():
    from datasets import Value
    return Value("int64")


def test_pixels_of_other_square_sizes_are_resized():
    array = fer.training.dataset._pixels_to_array(" ".join(["100"] * (96 * 96)), row=0)
    assert array.shape == (48, 48) and np.all(array == 100)
    with pytest.raises(DatasetError, match="square"):
        fer.training.dataset._pixels_to_array("1 2 3", row=3)
