"""How FER-2013 frames its faces, in terms of the boxes of the browser's detectors (BlazeFace short and full
range, fer/app/web/vendor/): the numbers behind `fer.app.browser_live.BLAZEFACE_FRAMING`, measured as
`benchmarks/fer_framing.py` measures them for YuNet.

    python benchmarks/browser_framing.py [--detector short_range|full_range] [--dataset ../shared/fer2013] [--faces 3000]

Random training faces are upscaled ×4 (bicubic, 192×192) in a mid-grey frame 48 px wide; BlazeFace runs
in Python's ONNX Runtime on the picture letterboxed to its input (128×128 or 192×192) as the page does
(fer/app/web/detector.js), and its best box is compared with the 192×192 FER-2013 square.
"""

import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.fer_framing import BORDER, SIDE, sampled_training_faces, spread  # noqa: E402

VENDOR = ROOT / "fer" / "app" / "web" / "vendor"
# Each detector's input side and anchor grids (side, anchors per cell), as in fer/app/web/detector.js, and the
# grey border around the 192-px face: full range looks for small faces, so its face fills a quarter of its input
# (as a 96-px face does in the page's parts of the frame, fer/app/web/finder.js); short range's, two thirds.
DETECTORS = {"short_range": (128, ((16, 2), (8, 6)), BORDER), "full_range": (192, ((48, 1),), 288)}


def anchors(grids) -> np.ndarray:
    """A detector's anchor centres, grid after grid, row by row, `per_cell` times each."""
    centres = []
    for grid, per_cell in grids:
        for row in range(grid):
            for column in range(grid):
                centres += [((column + 0.5) / grid, (row + 0.5) / grid)] * per_cell
    return np.array(centres)


def best_box(session: ort.InferenceSession, detector: str,
             picture: Image.Image) -> tuple[np.ndarray, np.ndarray] | None:
    """The highest-scoring box (x, y, w, h) and its eyes in picture pixels, or None below a score of 0.5."""
    side, grids, _ = DETECTORS[detector]
    scale = side / max(picture.size)
    resized = picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.Resampling.BILINEAR)
    offset = np.array([(side - resized.width) // 2, (side - resized.height) // 2])
    canvas = Image.new("RGB", (side, side))
    canvas.paste(resized, tuple(offset))
    pixels = (np.asarray(canvas, np.float32) / 127.5 - 1).transpose(2, 0, 1)[None]
    regressors, logits = session.run(None, {"input": pixels})
    best = int(np.argmax(logits[0, :, 0]))
    if logits[0, best, 0] < 0:  # sigmoid below 0.5
        return None
    values, anchor = regressors[0, best], anchors(grids)[best] * side
    centre, size = values[:2] + anchor, values[2:4]
    to_picture = lambda points: (points - offset) / scale  # noqa: E731
    eyes = to_picture(values[4:8].reshape(2, 2) + anchor)
    return np.concatenate([to_picture(centre - size / 2), size / scale]), eyes


def main() -> None:
    args, sample = sampled_training_faces(__doc__, lambda parser: parser.add_argument(
        "--detector", choices=sorted(DETECTORS), default="short_range"))
    session = ort.InferenceSession(str(VENDOR / f"face_detection_{args.detector}.onnx"))
    border = DETECTORS[args.detector][2]
    found = []
    for pixels in sample:
        large = np.asarray(Image.fromarray(pixels).resize((SIDE, SIDE), Image.Resampling.BICUBIC))
        picture = Image.fromarray(np.pad(large, border, constant_values=128)).convert("RGB")
        result = best_box(session, args.detector, picture)
        if result is not None:
            found.append(result)
    boxes = np.array([box for box, _ in found]) - [border, border, 0, 0]
    eyes = np.array([eye_pair for _, eye_pair in found])
    x, y, width, height = boxes.T
    root_area = np.sqrt(width * height)
    print(f"{len(found)} of {args.faces} training faces detected")
    print(f"FER square / √(box w·h):          {spread(SIDE / root_area)}")
    print(f"FER square / box height:          {spread(SIDE / height)}")
    print(f"(square centre − box centre) / √(w·h), x: {np.median((SIDE / 2 - x - width / 2) / root_area):+.3f}, "
          f"y: {np.median((SIDE / 2 - y - height / 2) / root_area):+.3f} (median)")
    share = np.median(SIDE / root_area) * root_area / SIDE
    print(f"that square / picture side:       5th percentile {np.percentile(share, 5):.3f}")
    ordered = np.where((eyes[:, 0, 0] <= eyes[:, 1, 0])[:, None, None], eyes, eyes[:, ::-1])
    roll = np.degrees(np.arctan2(ordered[:, 1, 1] - ordered[:, 0, 1], ordered[:, 1, 0] - ordered[:, 0, 0]))
    print(f"eye roll (degrees, clockwise):    median {np.median(roll):+.1f}, 10th–90th percentile "
          f"{np.percentile(roll, 10):+.1f} to {np.percentile(roll, 90):+.1f}")


if __name__ == "__main__":
    main()
