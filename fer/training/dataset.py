"""FER-2013 from the Hugging Face Hub, a local dataset folder, or the Kaggle fer2013.csv.

Every source ends up as `FerData`: per split, one uint8 tensor of N×48×48 grayscale images
(decoded once, so training never touches JPEG again) and one int64 tensor of labels, plus the
label names read from the source itself.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from datasets import ClassLabel, DatasetDict, Image, load_dataset
from PIL import Image as PILImage
from tqdm.auto import tqdm

from fer.errors import first_line
from fer.face_path.tensors import IMAGE_SIZE, to_gray_array

DEFAULT_HUB_DATASET = "AutumnQiu/fer2013"

# The original Kaggle CSV numbers its classes in this order (its README, not alphabetical).
KAGGLE_CSV_LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
KAGGLE_CSV_SPLITS = {"Training": "train", "PublicTest": "validation", "PrivateTest": "test"}

# Names other FER-2013 uploads use for the same splits.
SPLIT_ALIASES = {"valid": "validation", "val": "validation", "publictest": "validation",
                 "privatetest": "test", "training": "train"}
IMAGE_COLUMNS = ("image", "img")
LABEL_COLUMNS = ("label", "labels", "emotion")


class DatasetError(Exception):
    """A data source that cannot be used; the message is meant for the user as is."""


@dataclass
class Split:
    images: torch.Tensor  # uint8, N×48×48
    labels: torch.Tensor  # int64, N

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device: torch.device) -> Split:
        return Split(self.images.to(device), self.labels.to(device))

    def subset(self, indices) -> Split:
        indices = torch.as_tensor(indices)
        return Split(self.images[indices], self.labels[indices])


@dataclass
class FerData:
    splits: dict[str, Split]
    label_names: list[str]
    source: str

    def class_counts(self, split: str = "train") -> list[int]:
        return torch.bincount(self.splits[split].labels, minlength=len(self.label_names)).tolist()


def load_fer(source: str = DEFAULT_HUB_DATASET, val_fraction: float = 0.1, seed: int = 0) -> FerData:
    """Load FER-2013 from a Hub id, a local dataset directory or a Kaggle-style CSV."""
    path = Path(source)
    if path.suffix == ".csv" or (path.is_dir() and (path / "fer2013.csv").exists()):
        csv_path = path if path.suffix == ".csv" else path / "fer2013.csv"
        data = _load_kaggle_csv(csv_path)
    else:
        data = _load_image_dataset(source)
    data.source = source
    if "validation" not in data.splits and "train" in data.splits:
        data.splits["train"], data.splits["validation"] = stratified_split(
            data.splits["train"], val_fraction, seed)
    return data


def stratified_split(split: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """Carve `fraction` of every class out of `split`, reproducibly."""
    generator = torch.Generator().manual_seed(seed)
    held_out = []
    for label in split.labels.unique():
        members = torch.nonzero(split.labels == label).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        held_out.append(members[: max(1, round(len(members) * fraction))])
    held_out = torch.cat(held_out)
    keep = torch.ones(len(split), dtype=torch.bool)
    keep[held_out] = False
    return split.subset(torch.nonzero(keep).flatten()), split.subset(held_out.sort().values)


def _load_image_dataset(source: str) -> FerData:
    if Path(source).exists() and not Path(source).is_dir():
        raise DatasetError(f"{source} is a file but not a .csv; give a dataset folder, a Hub id or fer2013.csv")
    try:
        dataset_dict = load_dataset(source)
    except FileNotFoundError as error:
        raise DatasetError(f"No dataset found at '{source}' (neither a local folder nor a reachable "
                           f"Hugging Face Hub dataset): {first_line(error)}") from None
    except Exception as error:  # datasets raises many types (hub, network, format)
        raise DatasetError(f"Could not load dataset '{source}': {first_line(error)}") from None
    if not isinstance(dataset_dict, DatasetDict):
        raise DatasetError(f"'{source}' did not load as a set of named splits")
    first = next(iter(dataset_dict.values()))
    image_column = _find_column(first.column_names, IMAGE_COLUMNS, source)
    label_column = _find_column(first.column_names, LABEL_COLUMNS, source)
    label_feature = first.features[label_column]
    if not isinstance(label_feature, ClassLabel):
        raise DatasetError(f"Column '{label_column}' of '{source}' is not a ClassLabel, so the class "
                           f"names are unknown; refusing to guess their order")
    splits = {}
    for name, dataset in dataset_dict.items():
        dataset = dataset.cast_column(image_column, Image(decode=False))
        images = [_decode(item["bytes"], item["path"]) for item in
                  tqdm(dataset[image_column], desc=f"decode {name}", unit="img", leave=False)]
        splits[SPLIT_ALIASES.get(name.lower(), name)] = Split(
            torch.from_numpy(np.stack(images)), torch.tensor(dataset[label_column], dtype=torch.int64))
    return FerData(splits, [name.lower() for name in label_feature.names], source)


def _load_kaggle_csv(csv_path: Path) -> FerData:
    if not csv_path.exists():
        raise DatasetError(f"No such file: {csv_path}")
    try:
        table = load_dataset("csv", data_files=str(csv_path), split="train")
    except Exception as error:
        raise DatasetError(f"Could not read {csv_path} as CSV: {first_line(error)}") from None
    for column in ("emotion", "pixels", "Usage"):
        _find_column(table.column_names, (column,), str(csv_path))
    images = np.stack([_pixels_to_array(text, row) for row, text in
                       enumerate(tqdm(table["pixels"], desc="decode csv", unit="img", leave=False))])
    labels = torch.tensor(table["emotion"], dtype=torch.int64)
    usage = np.array(table["Usage"])
    splits = {}
    for usage_name, split_name in KAGGLE_CSV_SPLITS.items():
        rows = np.flatnonzero(usage == usage_name)
        if len(rows):
            splits[split_name] = Split(torch.from_numpy(images[rows]), labels[rows])
    if "train" not in splits:
        raise DatasetError(f"{csv_path} has no rows with Usage 'Training'")
    return FerData(splits, list(KAGGLE_CSV_LABELS), str(csv_path))


def _pixels_to_array(text: str, row: int) -> np.ndarray:
    values = np.array(text.split(), dtype=np.uint8)
    if values.size == IMAGE_SIZE * IMAGE_SIZE:
        return values.reshape(IMAGE_SIZE, IMAGE_SIZE)
    side = int(round(values.size ** 0.5))
    if side * side != values.size:
        raise DatasetError(f"Row {row}: {values.size} pixel values do not form a square image")
    return to_gray_array(PILImage.fromarray(values.reshape(side, side)))


def _decode(data: bytes | None, path: str | None) -> np.ndarray:
    with PILImage.open(io.BytesIO(data) if data is not None else path) as image:
        return to_gray_array(image)


def _find_column(columns: list[str], candidates: tuple[str, ...], source: str) -> str:
    for name in candidates:
        if name in columns:
            return name
    raise DatasetError(f"'{source}' has columns {columns}; expected one of {list(candidates)}")
