"""Classify the faces in image and video files from the shell.

    python -m fer.predict photo.jpg folder/ [--json] [--csv out.csv] [--model DIR_OR_HUB_ID]
    python -m fer.predict clip.mp4 --csv out.csv [--fps 5]   # one row per face per sampled frame
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from tqdm import tqdm

from fer.app.chart import text_bars
from fer.face_path.faces import DEFAULT_MAX_FACES
from fer.face_path.image import ImageError, open_image
from fer.model.analysis import analyze
from fer.model.classifier import BUNDLED_MODEL, ModelLoadError, load_classifier
from fer.model.probabilities import DEFAULT_TTA, TTA_MODES
from fer.video.clip import DEFAULT_SAMPLE_FPS, VIDEO_SUFFIXES, VideoError
from fer.video.timeline import VideoAnalysis, analyze_video

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif"}


def image_paths(arguments: list[str]) -> list[Path]:
    paths = []
    for argument in map(Path, arguments):
        if argument.is_dir():
            paths += sorted(p for p in argument.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES)
        else:
            paths.append(argument)
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Classify the facial expression of every face in images and videos.")
    parser.add_argument("paths", nargs="+", help="image or video files, or folders")
    parser.add_argument("--model", default=str(BUNDLED_MODEL), help="model folder or Hub id (default: bundled)")
    parser.add_argument("--tta", choices=TTA_MODES, default=DEFAULT_TTA)
    parser.add_argument("--max-faces", type=int, default=DEFAULT_MAX_FACES)
    parser.add_argument("--json", action="store_true", help="one JSON object per image, one per line")
    parser.add_argument("--csv", type=Path, help="also write one row per face (per sampled frame) to this CSV file")
    parser.add_argument("--fps", type=float, default=DEFAULT_SAMPLE_FPS, help="video frames analysed per second")
    args = parser.parse_args(argv)
    try:
        model = load_classifier(args.model)
    except ModelLoadError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    rows, failures = [], 0
    for path in image_paths(args.paths):
        if path.suffix.lower() in VIDEO_SUFFIXES:
            try:
                rows += predict_video(path, model, args)
            except VideoError as error:
                failures += 1
                print(f"error: {error}", file=sys.stderr)
            continue
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
            writer = csv.DictWriter(handle, fieldnames=list(dict.fromkeys(key for row in rows for key in row)))
            writer.writeheader()
            writer.writerows(rows)
    return 1 if failures else 0


def predict_video(path: Path, model, args) -> list[dict]:
    """Analyse one clip with a progress bar on stderr, print its report, return its CSV rows."""
    with tqdm(desc=path.name, unit="frame", leave=False) as bar:
        def advance(picture, frame, expected_frames):
            bar.total = max(expected_frames, bar.n + 1)
            bar.update(1)

        analysis = analyze_video(path, model, fps=args.fps, tta=args.tta, max_faces=args.max_faces, on_frame=advance)
    if args.json:
        print(json.dumps({"file": str(path), **analysis.as_json()}))
    else:
        print_video_report(path, analysis)
    return [{"file": str(path), **row} for row in analysis.csv_rows()]


def print_video_report(path: Path, analysis: VideoAnalysis) -> None:
    print(f"{path}: {analysis.duration_s:.1f} s, {len(analysis.frames)} frames sampled, "
          f"{len(analysis.track_ids())} face track(s)")
    for note in analysis.notes:
        print(f"  note: {note}")
    for track in analysis.track_ids():
        summary = analysis.summary(track)
        shares = ", ".join(f"{name} {share:.0%}" for name, share in
                           sorted(summary["share"].items(), key=lambda item: -item[1]) if share)
        moments = ", ".join(f"{moment['label']} {moment['probability']:.0%} at {moment['time_s']:.1f} s"
                            for moment in summary["strongest_moments"])
        print(f" face {track} ({summary['first_s']:.1f}–{summary['last_s']:.1f} s): {shares}")
        if moments:
            print(f"   strongest: {moments}")


def print_report(path: Path, analysis) -> None:
    print(f"{path}: {len(analysis.faces)} face(s)")
    for note in analysis.notes:
        print(f"  note: {note}")
    for index, result in enumerate(analysis.faces):
        print(f" face {index + 1} at {result.face.box} ({result.face.kind}): {result.label} {result.confidence:.0%}")
        print(text_bars(result))
