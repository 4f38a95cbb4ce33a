"""Webcam flicker: how often the displayed label of a still face changes, with and without the
Webcam tab's "Steady labels" smoothing.

    python benchmarks/webcam_flicker.py [--seconds 30] [--noise 6]

A still 640×480 frame of Grace Hopper's portrait (whose expression the model finds between neutral
and angry) with sensor-like noise and a jitter of up to 2 pixels on every frame, arriving at the
webcam stream's 10 frames/s. Each frame is analysed once (TTA flip, the app's default) and its faces
go through the same tracker the stream handler uses, once smoothed (1 s) and once not; the clock is
the frame's nominal time, so the figures do not depend on how busy the CPU is.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.app_latency import webcam_frame  # noqa: E402
from fer.model.analysis import analyze  # noqa: E402
from fer.model.classifier import BUNDLED_MODEL, load_classifier  # noqa: E402
from fer.video.timeline import tracked  # noqa: E402
from fer.video.tracks import DEFAULT_SMOOTHING_S, Tracker  # noqa: E402

FRAMES_PER_S = 10  # app.py: webcam.stream(stream_every=0.1)


def noisy(frame: np.ndarray, rng: np.random.Generator, noise: float) -> Image.Image:
    dx, dy = rng.integers(-2, 3, 2)
    shifted = np.roll(frame, (dy, dx), axis=(0, 1)).astype(np.float32)
    return Image.fromarray(np.clip(shifted + rng.normal(0, noise, frame.shape), 0, 255).astype(np.uint8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--noise", type=float, default=6, help="standard deviation in grey levels")
    args = parser.parse_args()
    model = load_classifier(BUNDLED_MODEL)
    rng = np.random.default_rng(0)
    frame = webcam_frame()
    trackers = {"smoothing on": Tracker(DEFAULT_SMOOTHING_S), "smoothing off": Tracker(0)}
    shown = {name: [] for name in trackers}
    raw_tops = []
    for index in range(round(args.seconds * FRAMES_PER_S)):
        faces = analyze(noisy(frame, rng, args.noise), model).faces
        raw_tops.append(faces[0].confidence)
        for name, tracker in trackers.items():
            shown[name].append(tracked(faces, tracker, index / FRAMES_PER_S)[0].shown().label)
    print(f"still face, {args.seconds:g} s at {FRAMES_PER_S} frames/s, noise σ={args.noise:g}, jitter ±2 px; "
          f"top class probability {np.mean(raw_tops):.2f} ± {np.std(raw_tops):.2f}")
    for name, labels in shown.items():
        changes = sum(a != b for a, b in zip(labels, labels[1:]))
        counts = {label: labels.count(label) for label in dict.fromkeys(labels)}
        print(f"{name:>13}: {changes * 60 / args.seconds:5.1f} label changes per minute "
              f"({changes} in {args.seconds:g} s; labels shown {counts})")


if __name__ == "__main__":
    main()
