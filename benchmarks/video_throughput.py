"""Video analysis throughput: sampled frames analysed per second on 640×480 clips, one face and three.

    python benchmarks/video_throughput.py [--seconds 10] [--sample-fps 5] [--torch-threads 1] [--model DIR ...]

The clips (25 frames/s, H.264) pan and zoom over the example portraits, made with PyAV. The figure
is the whole of `fer.video.timeline.analyze_video` (decode every frame, detect, crop, classify the sampled
ones, track) divided into the sampled frame count, for each TTA; and, less sensitive to other
processes on a shared machine, one over the median time between consecutive sampled frames. The
detector's and the classifier's share per sampled frame are measured apart on the same frames.
Several models are measured one after the other on the same clips, so their ratio holds on a noisy machine.

`--torch-threads 1`: PyTorch's intra-op threads (default: one per core) wait spinning for work after
each batch; while other processes keep the cores busy that starves the detector in the same process
(measured on a shared machine: 35 ms per 640×480 frame with one torch thread, 160–440 ms with two).
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fer.model.analysis import analyze  # noqa: E402
from fer.model.classifier import BUNDLED_MODEL, load_classifier  # noqa: E402
from fer.video.clip import Clip  # noqa: E402
from fer.video.timeline import analyze_video  # noqa: E402
from tests.videos import pan_and_zoom, stage  # noqa: E402

CLIPS = {"1 face": ["grace_hopper"], "3 faces": ["grace_hopper", "astronaut", "grace_hopper"]}


def stage_times_ms(path: Path, model, sample_fps: float, tta: str) -> tuple[float, float]:
    """Median detector (with crops) and classifier time per sampled frame."""
    detects, classifies = [], []
    with Clip(path) as clip:
        for _, picture in clip.sampled_frames(sample_fps):
            analysis = analyze(picture, model, tta=tta)
            detects.append(analysis.detect_ms)
            classifies.append(analysis.classify_ms)
    return statistics.median(detects), statistics.median(classifies)


def measure(model, clips: dict[str, Path], sample_fps: float, seconds: float) -> None:
    for name, path in clips.items():
        analyze_video(path, model, fps=sample_fps, tta="none")  # warm-up
        for tta in ("flip", "none"):
            started = time.perf_counter()
            done_at = []
            analysis = analyze_video(path, model, fps=sample_fps, tta=tta,
                                     on_frame=lambda *_: done_at.append(time.perf_counter()))
            elapsed = time.perf_counter() - started
            typical_s = statistics.median(b - a for a, b in zip(done_at, done_at[1:]))
            faces = statistics.mean(len(frame.faces) for frame in analysis.frames)
            detect_ms, classify_ms = stage_times_ms(path, model, sample_fps, tta)
            print(f"640x480 {name}, tta={tta:<4}: {len(analysis.frames) / elapsed:5.1f} sampled frames/s "
                  f"(median {1 / typical_s:5.1f}) "
                  f"({len(analysis.frames)} sampled at {sample_fps:g}/s from {seconds:g} s at 25 fps, "
                  f"{faces:.1f} faces each, {len(analysis.track_ids())} track(s)); per frame: "
                  f"detect+crop {detect_ms:.1f} ms, classify {classify_ms:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--sample-fps", type=float, default=5)
    parser.add_argument("--torch-threads", type=int, help="PyTorch intra-op threads (default: PyTorch's)")
    parser.add_argument("--model", nargs="+", default=[str(BUNDLED_MODEL)], help="one or more model folders or Hub ids")
    args = parser.parse_args()
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    print(f"PyTorch threads: {torch.get_num_threads()}")
    folder = Path(tempfile.mkdtemp(prefix="fer-video-benchmark-"))
    clips = {name: pan_and_zoom(stage(portraits), folder / f"{len(portraits)}.mp4", seconds=args.seconds)
             for name, portraits in CLIPS.items()}
    for source in args.model:
        print(f"model {source}:")
        measure(load_classifier(source), clips, args.sample_fps, args.seconds)


if __name__ == "__main__":
    main()
