"""How FER-2013 frames its faces, in terms of what YuNet finds: the numbers behind `fer.face_path.faces.FRAME_SCALE`,
`LOOSE_FRAMING` and `ROLL_TOLERANCE_DEGREES`.

    python benchmarks/fer_framing.py [--dataset ../shared/fer2013] [--faces 3000]

Random training faces are upscaled ×4 (bicubic, 192×192) and set in a mid-grey frame 48 px wide, so
that the detector's box is not cut by the picture's edge; the largest face's box and landmarks are
then compared with the 192×192 FER-2013 square. The landmarks' proportions are also tried as a finer
predictor of the square's size than the box.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fer.face_path.faces import detect_faces  # noqa: E402
from fer.training.dataset import load_fer  # noqa: E402

SIDE, BORDER = 192, 48


def detected_faces(images: np.ndarray) -> list:
    found = []
    for pixels in images:
        large = np.asarray(Image.fromarray(pixels).resize((SIDE, SIDE), Image.Resampling.BICUBIC))
        faces = detect_faces(Image.fromarray(np.pad(large, BORDER, constant_values=128)).convert("RGB"))
        if faces:
            found.append(faces[0])
    return found


def robust_sd(values: np.ndarray) -> float:
    """The standard deviation a normal distribution with these quartiles would have."""
    return (np.percentile(values, 75) - np.percentile(values, 25)) / 1.349


def spread(values: np.ndarray) -> str:
    median = np.median(values)
    return f"median {median:.3f}, 10th–90th percentile {np.percentile(values, 10):.3f} to " \
           f"{np.percentile(values, 90):.3f}, robust spread ±{robust_sd(values) / abs(median):.1%}"


def landmark_fit_spread(boxes: np.ndarray, landmarks: np.ndarray) -> tuple[float, float]:
    """Robust spread of log(FER square / √(w·h)) on half the faces, alone and after a least-squares fit (on
    the other half) of the landmarks' proportions: eye distance, eye–mouth distance, mouth width, box shape."""
    width, height = boxes[:, 2], boxes[:, 3]
    root_area = np.sqrt(width * height)
    eyes_centre, mouth_centre = landmarks[:, :2].mean(1), landmarks[:, 3:].mean(1)
    proportions = [np.linalg.norm(landmarks[:, 1] - landmarks[:, 0], axis=1) / root_area,
                   np.linalg.norm(mouth_centre - eyes_centre, axis=1) / root_area,
                   np.linalg.norm(landmarks[:, 4] - landmarks[:, 3], axis=1) / root_area, width / height]
    features = np.column_stack([np.ones(len(boxes))] + [np.log(value) for value in proportions])
    target = np.log(SIDE / root_area)
    fit, measure = np.arange(len(boxes)) % 2 == 0, np.arange(len(boxes)) % 2 == 1
    coefficients = np.linalg.lstsq(features[fit], target[fit], rcond=None)[0]
    return robust_sd(target[measure]), robust_sd(target[measure] - features[measure] @ coefficients)


def sampled_training_faces(description: str, more_options=lambda parser: None) -> tuple[argparse.Namespace, np.ndarray]:
    """The command line (--dataset, --faces, --seed and `more_options`) and that many random 48×48 training faces."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=str(ROOT.parent / "shared" / "fer2013"))
    parser.add_argument("--faces", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    more_options(parser)
    args = parser.parse_args()
    train = load_fer(args.dataset).splits["train"].images.numpy()
    return args, train[np.random.default_rng(args.seed).choice(len(train), args.faces, replace=False)]


def main() -> None:
    args, sample = sampled_training_faces(__doc__)
    faces = detected_faces(sample)
    boxes = np.array([face.box for face in faces], dtype=float) - [BORDER, BORDER, 0, 0]
    eyes = np.array([face.landmarks[:2] for face in faces], dtype=float)
    x, y, width, height = boxes.T
    root_area = np.sqrt(width * height)
    print(f"{len(faces)} of {args.faces} training faces detected")
    print(f"FER square / √(box w·h):          {spread(SIDE / root_area)}")
    print(f"FER square / box height:          {spread(SIDE / height)}")
    print(f"FER square / box width:           {spread(SIDE / width)}")
    print(f"FER square / eye distance:        {spread(SIDE / np.linalg.norm(eyes[:, 1] - eyes[:, 0], axis=1))}")
    print(f"(square centre − box centre) / √(w·h), x: {np.median((SIDE / 2 - x - width / 2) / root_area):+.3f}, "
          f"y: {np.median((SIDE / 2 - y - height / 2) / root_area):+.3f} (median)")
    share = 1.08 * root_area / SIDE
    print(f"1.08·√(w·h) / picture side:       {spread(share)}; 5th percentile {np.percentile(share, 5):.3f}")
    alone, fitted = landmark_fit_spread(boxes, np.array([face.landmarks for face in faces], dtype=float))
    print(f"log(FER square / √(w·h)) robust spread: {alone:.3f} by the box alone, {fitted:.3f} with the landmarks' "
          f"proportions fitted (half the faces fit, the other half measured)")
    roll = np.degrees(np.arctan2(eyes[:, 1, 1] - eyes[:, 0, 1], eyes[:, 1, 0] - eyes[:, 0, 0]))
    print(f"eye roll (degrees, clockwise):    median {np.median(roll):+.1f}, 10th–90th percentile "
          f"{np.percentile(roll, 10):+.1f} to {np.percentile(roll, 90):+.1f}")


if __name__ == "__main__":
    main()
