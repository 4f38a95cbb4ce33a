"""FER+'s own files (microsoft/FERPlus, ../shared/notes/ferplus.md), read into images and vote counts.

- `fer2013new.csv`, beside Kaggle's `fer2013.csv`: one row of ten counts per row of it, in the same order;
- FER+'s folder layout, as its generate_training_data.py writes it: `FER2013Train/`, `FER2013Valid/` and
  `FER2013Test/`, each with 48×48 PNGs and a header-less `label.csv` of `name,"(box)",ten counts`.

Counts are in FER+'s order (`fer.training.votes.FERPLUS_CATEGORIES`).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

from fer.errors import first_line
from fer.face_path.tensors import to_gray_array
from fer.training.votes import FERPLUS_CATEGORIES

VOTES_CSV = "fer2013new.csv"
LABEL_CSV = "label.csv"
FOLDER_SPLITS = {"FER2013Train": "train", "FER2013Valid": "validation", "FER2013Test": "test"}


class FerPlusFileError(Exception):
    """FER+ files that cannot be read or do not line up with the images; the message is meant for the user."""


def is_ferplus_layout(folder: Path) -> bool:
    return any((folder / name / LABEL_CSV).exists() for name in FOLDER_SPLITS)


def read_votes_csv(path: Path, kaggle_usage: list[str]) -> np.ndarray:
    """The N×10 counts of `fer2013new.csv`, checked row by row against the `Usage` column of the `fer2013.csv` it
    belongs to (`kaggle_usage`), since FER+ matches faces by row."""
    try:
        with open(path, newline="") as file:
            rows = list(csv.DictReader(file))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise FerPlusFileError(f"Could not read {path}: {first_line(error)}") from None
    missing = [name for name in ("Usage", *FERPLUS_CATEGORIES) if rows and name not in rows[0]]
    if not rows or missing:
        raise FerPlusFileError(f"{path} is not FER+'s fer2013new.csv: it lacks the columns {missing or 'and rows'}")
    if len(rows) != len(kaggle_usage):
        raise FerPlusFileError(f"{path} has {len(rows):,} rows but fer2013.csv beside it has {len(kaggle_usage):,}: "
                               "FER+'s votes match faces row by row, so they do not belong to these images")
    for index, (row, usage) in enumerate(zip(rows, kaggle_usage)):
        if row["Usage"] != usage:
            raise FerPlusFileError(f"{path}, row {index + 2}: Usage '{row['Usage']}' where fer2013.csv says '{usage}': "
                                   "the votes do not line up with the images")
    return np.array([[_count(row[name], path, index + 2) for name in FERPLUS_CATEGORIES]
                     for index, row in enumerate(rows)], dtype=np.int16)


def read_ferplus_folders(root: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{split: (uint8 N×48×48 images, int16 N×10 counts)} for each of FER+'s split folders under `root`."""
    splits = {}
    for folder_name, split in FOLDER_SPLITS.items():
        folder = root / folder_name
        if (folder / LABEL_CSV).exists():
            splits[split] = _read_split_folder(folder)
    return splits


def _read_split_folder(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    label_csv = folder / LABEL_CSV
    images, votes = [], []
    with open(label_csv, newline="") as file:
        for line, row in enumerate(csv.reader(file), start=1):
            if len(row) != 2 + len(FERPLUS_CATEGORIES):
                raise FerPlusFileError(f"{label_csv}, line {line}: {len(row)} fields, expected a name, a box and "
                                       f"{len(FERPLUS_CATEGORIES)} counts")
            picture = folder / row[0]
            if not picture.is_file():
                raise FerPlusFileError(f"{label_csv}, line {line} has votes for {row[0]}, which is not in {folder}: "
                                       "the votes do not line up with the images")
            images.append(_gray(picture))
            votes.append([_count(value, label_csv, line) for value in row[2:]])
    if not images:
        raise FerPlusFileError(f"{label_csv} lists no faces")
    return np.stack(images), np.array(votes, dtype=np.int16)


def _gray(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as picture:
            return to_gray_array(picture)
    except OSError as error:
        raise FerPlusFileError(f"{path} is not a readable picture: {first_line(error)}") from None


def _count(text: str, path: Path, line: int) -> int:
    try:
        value = int(text.strip() or 0)
    except ValueError:
        raise FerPlusFileError(f"{path}, line {line}: '{text}' is not a vote count") from None
    if value < 0:
        raise FerPlusFileError(f"{path}, line {line}: a negative vote count ({value})")
    return value
