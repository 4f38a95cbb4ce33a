"""FER-2013 from the Hugging Face Hub, a local dataset folder, the Kaggle fer2013.csv, or FER+'s folders.

Every source ends up as `FerData`: per split, one uint8 tensor of N×48×48 grayscale images
(decoded once, so training never touches JPEG again) and one int64 tensor of labels, plus the
label names read from the source itself; and, where the source has FER+'s ten votes per face (a
`ferplus_votes` column, FER+'s fer2013new.csv beside fer2013.csv, or FER+'s folder layout), an N×10
tensor of them (`fer.training.votes`).
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
from fer.model.classifier import FER2013_LABELS
from fer.training.ferplus_files import (VOTES_CSV, FerPlusFileError, is_ferplus_layout, read_ferplus_folders,
                                        read_votes_csv)
from fer.training.votes import FERPLUS_CATEGORIES, emotion_votes

VOTE_CATEGORIES = len(FERPLUS_CATEGORIES)

DEFAULT_HUB_DATASET = "AutumnQiu/fer2013"

# The original Kaggle CSV numbers its classes in this order (its README, not alphabetical).
KAGGLE_CSV_LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
KAGGLE_CSV_SPLITS = {"Training": "train", "PublicTest": "validation", "PrivateTest": "test"}

# Names other FER-2013 uploads use for the same splits.
SPLIT_ALIASES = {"valid": "validation", "val": "validation", "publictest": "validation",
                 "privatetest": "test", "training": "train"}
IMAGE_COLUMNS = ("image", "img")
LABEL_COLUMNS = ("label", "labels", "emotion")
VOTES_COLUMN = "ferplus_votes"


class DatasetError(Exception):
    """A data source that cannot be used; the message is meant for the user as is."""


@dataclass
class Split:
    images: torch.Tensor  # uint8, N×48×48
    labels: torch.Tensor  # int64, N
    votes: torch.Tensor | None = None  # int16, N×10: FER+'s counts per face (fer.training.votes), zeros where none
    targets: torch.Tensor | None = None  # float, N×C: what training fits instead of `labels` (vote targets)

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device: torch.device) -> Split:
        return Split(*(None if tensor is None else tensor.to(device) for tensor in self.tensors()))

    def subset(self, indices) -> Split:
        indices = torch.as_tensor(indices)
        return Split(*(None if tensor is None else tensor[indices] for tensor in self.tensors()))

    def tensors(self) -> tuple:
        return self.images, self.labels, self.votes, self.targets


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
    try:
        if path.suffix == ".csv" or (path.is_dir() and (path / "fer2013.csv").exists()):
            data = _load_kaggle_csv(path if path.suffix == ".csv" else path / "fer2013.csv")
        elif path.is_dir() and is_ferplus_layout(path):
            data = _load_ferplus_folders(path)
        else:
            data = _load_image_dataset(source)
    except FerPlusFileError as error:
        raise DatasetError(str(error)) from None
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
        votes = None
        if VOTES_COLUMN in dataset.column_names:
            votes = _votes_tensor(dataset[VOTES_COLUMN], f"{source} ({name})")
        splits[SPLIT_ALIASES.get(name.lower(), name)] = Split(
            torch.from_numpy(np.stack(images)), torch.tensor(dataset[label_column], dtype=torch.int64), votes)
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
    votes_csv = csv_path.parent / VOTES_CSV
    votes = torch.from_numpy(read_votes_csv(votes_csv, table["Usage"])) if votes_csv.exists() else None
    splits = {}
    for usage_name, split_name in KAGGLE_CSV_SPLITS.items():
        rows = np.flatnonzero(usage == usage_name)
        if len(rows):
            splits[split_name] = Split(torch.from_numpy(images[rows]), labels[rows],
                                       None if votes is None else votes[rows])
    if "train" not in splits:
        raise DatasetError(f"{csv_path} has no rows with Usage 'Training'")
    return FerData(splits, list(KAGGLE_CSV_LABELS), str(csv_path))


def _votes_tensor(rows: list, where: str) -> torch.Tensor:
    """FER+'s vote rows (ten counts each, or None for a face it left out) → int16 N×10, zeros for None."""
    votes = np.zeros((len(rows), VOTE_CATEGORIES), dtype=np.int16)
    for index, row in enumerate(rows):
        if row is None:
            continue
        if len(row) != VOTE_CATEGORIES or min(row) < 0:
            raise DatasetError(f"{where}: row {index} of '{VOTES_COLUMN}' is {list(row)}, not {VOTE_CATEGORIES} "
                               f"vote counts in FER+'s order {FERPLUS_CATEGORIES}")
        votes[index] = row
    return torch.from_numpy(votes)


def _load_ferplus_folders(root: Path) -> FerData:
    """FER+'s folders carry no FER-2013 label: a face's label is the emotion most of its annotators chose (the
    first of a tie), and faces without a vote for any emotion (not a face, unknown) are left out."""
    splits = {}
    for name, (images, votes) in read_ferplus_folders(root).items():
        votes = torch.from_numpy(votes)
        counts = emotion_votes(votes, FER2013_LABELS)
        has_emotion = torch.nonzero(counts.sum(1) > 0).flatten()
        splits[name] = Split(torch.from_numpy(images), counts.argmax(1), votes).subset(has_emotion)
    return FerData(splits, list(FER2013_LABELS), str(root))


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
