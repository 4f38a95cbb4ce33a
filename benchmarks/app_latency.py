"""Latency of the app's path for one face, and the webcam frame rate, on this machine.

    python benchmarks/app_latency.py [--runs 30] [--model fer/pretrained [runs/NAME ...]]

Upload: decode a 512×512 portrait → detect → crop → classify (TTA as in the app) → probabilities;
detector and classifier times are reported separately (the classifier sees each face in two framings,
`fer.face_path.faces.fer_squares`). Webcam: the stream handler on a 640×480 frame with one face (detect,
classify, draw), frames processed per second. Several models are measured one after the other in the
same run, so their ratio holds on a noisy machine.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fer.app.handlers import Handlers  # noqa: E402
from fer.face_path.image import open_image  # noqa: E402
from fer.model.analysis import analyze  # noqa: E402
from fer.model.classifier import BUNDLED_MODEL, load_classifier  # noqa: E402


def webcam_frame() -> np.ndarray:
    portrait = Image.open(ROOT / "examples" / "grace_hopper.jpg").convert("RGB").resize((320, 375))
    frame = Image.new("RGB", (640, 480), (70, 70, 80))
    frame.paste(portrait, (160, 50))
    return np.asarray(frame)


def time_upload(name: str, upload: bytes, model, tta: str, runs: int) -> None:
    totals, detects, classifies = [], [], []
    for _ in range(runs + 3):
        started = time.perf_counter()
        analysis = analyze(open_image(upload), model, tta=tta)
        totals.append((time.perf_counter() - started) * 1000)
        detects.append(analysis.detect_ms)
        classifies.append(analysis.classify_ms)
    totals, detects, classifies = totals[3:], detects[3:], classifies[3:]
    print(f"upload {name}, 1 face, tta={tta:<7}: median {statistics.median(totals):5.1f} ms "
          f"(detect+crop {statistics.median(detects):4.1f} ms, classify {statistics.median(classifies):4.1f} ms), "
          f"p95 {sorted(totals)[int(0.95 * len(totals)) - 1]:5.1f} ms")


def measure(model, runs: int) -> None:
    upload = (ROOT / "examples" / "astronaut.jpg").read_bytes()
    for tta in ("tencrop", "flip", "none"):
        time_upload("512x512", upload, model, tta, runs)
    handlers = Handlers(model, Path(tempfile.mkdtemp()))  # the webcam path writes nothing there
    frame = webcam_frame()
    for tta in ("tencrop", "none"):
        handlers.on_frame(frame, tta, 10)
        started = time.perf_counter()
        for _ in range(runs):
            handlers.on_frame(frame, tta, 10)
        print(f"webcam 640x480, 1 face, tta={tta:<7}: {runs / (time.perf_counter() - started):5.1f} frames/s processed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--model", nargs="+", default=[str(BUNDLED_MODEL)], help="one or more model folders or Hub ids")
    args = parser.parse_args()
    for source in args.model:
        print(f"model {source}:")
        measure(load_classifier(source), args.runs)


if __name__ == "__main__":
    main()
