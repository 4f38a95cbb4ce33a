"""Tiny synthetic FER-style data, made fresh for every test session (no FER-2013 images in the repo), and the
app running for a test module."""

from pathlib import Path

import numpy as np
import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Image, List, Value
from PIL import Image as PILImage

from fer.training.votes import FERPLUS_CATEGORIES, category_columns
from tests.app_server import running_app

# Deliberately not alphabetical: loaders must read this order from the data, never assume it.
SYNTHETIC_LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
SHARED_FER = Path(__file__).resolve().parents[1].parent / "shared" / "fer2013"


def synthetic_faces(count: int, seed: int = 0, size: int = 48, mode: str = "L") -> tuple[list, list[int]]:
    """Images whose class is visible (a bright band whose row depends on the label), so a net can learn it."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for index in range(count):
        label = index % len(SYNTHETIC_LABELS)
        pixels = rng.integers(0, 60, (size, size), dtype=np.uint8)
        row = int((label + 0.5) * size / len(SYNTHETIC_LABELS))
        pixels[max(0, row - 2):row + 3, :] = 230
        images.append(PILImage.fromarray(pixels).convert(mode))
        labels.append(label)
    return images, labels


def image_dataset(count: int, seed: int = 0, size: int = 48, mode: str = "L") -> Dataset:
    images, labels = synthetic_faces(count, seed, size, mode)
    features = Features({"image": Image(), "label": ClassLabel(names=SYNTHETIC_LABELS)})
    return Dataset.from_dict({"image": images, "label": labels}, features=features)


def synthetic_votes(labels: list[int], names: list[str] = SYNTHETIC_LABELS) -> list[list[int] | None]:
    """FER+-style votes (ten counts in FER+'s order) for faces of these labels: 7 for the label, 2 for another
    emotion, 1 for contempt; every tenth face left out (None) and every ninth called not-a-face by 8 of 10."""
    rows = []
    for index, label in enumerate(labels):
        counts = [0] * len(FERPLUS_CATEGORIES)
        counts[category_columns([names[label]])[0]] = 7
        counts[FERPLUS_CATEGORIES.index("happiness" if names[label] == "neutral" else "neutral")] += 2
        counts[FERPLUS_CATEGORIES.index("contempt")] += 1
        if index % 9 == 8:
            counts = [1, 1, 0, 0, 0, 0, 0, 0, 0, 8]
        rows.append(None if index % 10 == 9 else counts)
    return rows


def voted_image_dataset(count: int, seed: int = 0) -> Dataset:
    """`image_dataset` with a `ferplus_votes` column, as ../shared/fer2013 has."""
    images, labels = synthetic_faces(count, seed)
    features = Features({"image": Image(), "label": ClassLabel(names=SYNTHETIC_LABELS),
                         "ferplus_votes": List(Value("int8"), length=len(FERPLUS_CATEGORIES))})
    return Dataset.from_dict({"image": images, "label": labels, "ferplus_votes": synthetic_votes(labels)},
                             features=features)


def write_parquet_dataset(root: Path, splits: dict[str, Dataset]) -> Path:
    for name, dataset in splits.items():
        (root / "data").mkdir(parents=True, exist_ok=True)
        dataset.to_parquet(str(root / "data" / f"{name}-00000-of-00001.parquet"))
    return root


@pytest.fixture(scope="session")
def local_dataset(tmp_path_factory) -> Path:
    """A local Hub-style parquet dataset with train (70) and validation (35) splits."""
    root = tmp_path_factory.mktemp("fer_local")
    return write_parquet_dataset(root, {"train": image_dataset(70, seed=1),
                                        "validation": image_dataset(35, seed=2)})


@pytest.fixture(scope="session")
def voted_dataset(tmp_path_factory) -> Path:
    """`local_dataset` with FER+-style votes: train (140) and validation (70)."""
    root = tmp_path_factory.mktemp("fer_voted")
    return write_parquet_dataset(root, {"train": voted_image_dataset(140, seed=5),
                                        "validation": voted_image_dataset(70, seed=6)})


@pytest.fixture
def hub_like_dataset_dict() -> DatasetDict:
    """What `load_dataset` returns for a Hub dataset that has only train and test splits (RGB, 64×64)."""
    return DatasetDict({"train": image_dataset(140, seed=3, size=64, mode="RGB"),
                        "test": image_dataset(21, seed=4, size=64, mode="RGB")})


@pytest.fixture(scope="module")
def app_url():
    """The URL of app.py started for this module's tests."""
    with running_app() as server:
        yield server.url
