"""Classify the faces in image files from the shell.

    python -m fer.predict photo.jpg folder/ [--json] [--csv out.csv] [--model DIR_OR_HUB_ID]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from fer.analysis import analyze
from fer.chart import text_bars
from fer.faces import DEFAULT_MAX_FACES
from fer.image import ImageError, open_image
from fer.model import BUNDLED_MODEL, ModelLoadError, load_classifier
from fer.probabilities import DEFAULT_TTA, TTA_MODES

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


def image_paths(arguments: list[str]) -> list[Path]:
    paths = []
    for argument in map(Path, arguments):
        if argument.is_dir():
            paths += sorted(p for p in argument.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            paths.append(argument)
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Classify the facial expression of every face in images.")
    parser.add_argument("paths", nargs="+", help="image files or folders")
    parser.add_argument("--model", default=str(BUNDLED_MODEL), help="model folder or Hub id (default: bundled)")
    parser.add_argument("--tta", choices=TTA_MODES, default=DEFAULT_TTA)
    parser.add_argument("--max-faces", type=int, default=DEFAULT_MAX_FACES)
    parser.add_argument("--json", action="store_true", help="one JSON object per image, one per line")
    parser.add_argument("--csv", type=Path, help="also write one row per face to this CSV file")
    args = parser.parse_args(argv)
    try:
        model = load_classifier(args.model)
    except ModelLoadError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    rows, failures = [], 0
    for path in image_paths(args.paths):
        try:
            analysis = analyze(open_image(path), model, tta=args.tta, max_faces=args.max_faces)
        except ImageError as error:
            failures += 1
            if args.json:
                print(json.dumps({"file": str(path), "error": str(error)}))
            else:
                print(f"error: {error}", file=sys.stderr)
            continue
        report = {"file": str(path), **analysis.as_json()}
        rows += [{"file": str(path), "face": index + 1, **face["box"], "label": face["label"],
                  "confidence": face["confidence"], **face["probabilities"]}
                 for index, face in enumerate(report["faces"])]
        if args.json:
            print(json.dumps(report))
        else:
            print_report(path, analysis)
    if args.csv and rows:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return 1 if failures else 0


def print_report(path: Path, analysis) -> None:
    print(f"{path}: {len(analysis.faces)} face(s)")
    for note in analysis.notes:
        print(f"  note: {note}")
    for index, result in enumerate(analysis.faces):
        print(f" face {index + 1} at {result.face.box} ({result.face.kind}): {result.label} {result.confidence:.0%}")
        print(text_bars(result))


if __name__ == "__main__":
    sys.exit(main())
