"""Classify time per face: the PyTorch model against its model.onnx in ONNX Runtime, same faces.

    python benchmarks/onnx_latency.py [--model fer/pretrained] [--runs 50]

Both start from the same uint8 48×48 faces (the example photos' faces, repeated to fill a batch) and
return the prior-corrected probabilities of the centre crop (one view, TTA `none`): PyTorch through
`fer.probabilities.predict_probabilities`, ONNX Runtime through the crop and normalisation of the card.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fer.faces import crop_face, find_faces  # noqa: E402
from fer.model import load_classifier  # noqa: E402
from fer.onnx_export import ONNX_NAME  # noqa: E402
from fer.probabilities import predict_probabilities  # noqa: E402
from fer.tensors import IMAGE_SIZE  # noqa: E402


def example_faces() -> np.ndarray:
    crops = []
    for path in sorted((ROOT / "examples").glob("*.jpg")):
        picture = Image.open(path).convert("RGB")
        crops += [crop_face(picture, face) for face in find_faces(picture, 10)[0]]
    return np.stack(crops)


def median_ms(classify, runs: int) -> float:
    classify()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        classify()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=ROOT / "fer" / "pretrained")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    model = load_classifier(args.model)
    session = onnxruntime.InferenceSession(str(args.model / ONNX_NAME), providers=["CPUExecutionProvider"])
    top = round((IMAGE_SIZE - model.input_size) / 2)
    crop = slice(top, top + model.input_size)

    def onnx_classify(faces: np.ndarray) -> np.ndarray:
        batch = (faces[:, None, crop, crop].astype(np.float32) / 255 - model.mean) / model.std
        return session.run(None, {"faces": batch})[0]

    examples = example_faces()
    print(f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads) vs ONNX Runtime "
          f"{onnxruntime.__version__} (default threads), {len(examples)} example faces repeated, TTA none")
    for size in (1, 8, 64):
        faces = np.resize(examples, (size, IMAGE_SIZE, IMAGE_SIZE))
        torch_ms = median_ms(lambda: predict_probabilities(model, torch.from_numpy(faces), tta="none"), args.runs)
        onnx_ms = median_ms(lambda: onnx_classify(faces), args.runs)
        print(f"batch {size:>2}: PyTorch {torch_ms / size:6.2f} ms/face, ONNX Runtime {onnx_ms / size:6.2f} ms/face "
              f"(PyTorch / ONNX Runtime {torch_ms / onnx_ms:.2f})")


if __name__ == "__main__":
    main()
