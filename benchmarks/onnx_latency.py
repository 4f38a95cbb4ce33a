"""Classify time per face: the PyTorch model against its model.onnx in ONNX Runtime, same faces.

    python benchmarks/onnx_latency.py [--model fer/pretrained] [--runs 50] [--dataset ../shared/fer2013]

Both start from the same uint8 48×48 faces (the example photos' faces, repeated to fill a batch) and
return the prior-corrected probabilities of the centre crop (one view, TTA `none`): PyTorch through
`fer.model.probabilities.predict_probabilities`, ONNX Runtime through the crop and normalisation of the card.
With --dataset, the card's flip (the mean of the two views' corrected probabilities, in ONNX Runtime) is
also compared with the app's (the correction of the mean) on every validation face.
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
from fer.face_path.faces import face_crops, find_faces  # noqa: E402
from fer.face_path.tensors import IMAGE_SIZE  # noqa: E402
from fer.model.classifier import load_classifier  # noqa: E402
from fer.model.onnx_export import ONNX_NAME  # noqa: E402
from fer.model.probabilities import predict_probabilities  # noqa: E402
from fer.training.dataset import load_fer  # noqa: E402
from fer.training.evaluate import labels_in_model_order  # noqa: E402


def example_faces() -> np.ndarray:
    crops = []
    for path in sorted((ROOT / "examples").glob("*.jpg")):
        picture = Image.open(path).convert("RGB")
        crops += [crop for face in find_faces(picture, 10)[0] for crop in face_crops(picture, face)]
    return np.stack(crops)


def median_ms_per_face(classifiers: dict, faces: np.ndarray, runs: int) -> dict[str, float]:
    """Median time per face of each classifier, the two taking turns so that both see the same load."""
    times = {name: [] for name in classifiers}
    for _ in range(runs + 1):  # the first round warms up
        for name, classify in classifiers.items():
            started = time.perf_counter()
            classify(faces)
            times[name].append((time.perf_counter() - started) * 1000 / len(faces))
    return {name: statistics.median(values[1:]) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=ROOT / "fer" / "pretrained")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--dataset", help="also compare the card's flip with the app's on this validation split")
    args = parser.parse_args()
    model = load_classifier(args.model)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = onnxruntime.InferenceSession(str(args.model / ONNX_NAME), options, providers=["CPUExecutionProvider"])
    top = round((IMAGE_SIZE - model.input_size) / 2)
    crop = slice(top, top + model.input_size)

    def onnx_classify(faces: np.ndarray, mirror: bool = False) -> np.ndarray:
        crops = faces[:, None, crop, crop]
        batch = ((crops[..., ::-1] if mirror else crops).astype(np.float32) / 255 - model.mean) / model.std
        return session.run(None, {"faces": batch})[0]

    classifiers = {"PyTorch": lambda faces: predict_probabilities(model, torch.from_numpy(faces), tta="none"),
                   "ONNX Runtime": onnx_classify}
    examples = example_faces()
    print(f"PyTorch {torch.__version__} vs ONNX Runtime {onnxruntime.__version__}, {torch.get_num_threads()} threads "
          f"each; {len(examples)} example faces repeated; TTA none; median of {args.runs} runs")
    for size in (1, 8, 64):
        per_face = median_ms_per_face(classifiers, np.resize(examples, (size, IMAGE_SIZE, IMAGE_SIZE)), args.runs)
        print(f"batch {size:>2}: PyTorch {per_face['PyTorch']:6.2f} ms/face, ONNX Runtime {per_face['ONNX Runtime']:6.2f} "
              f"ms/face (PyTorch / ONNX Runtime {per_face['PyTorch'] / per_face['ONNX Runtime']:.2f})")
    if args.dataset:
        compare_flips(model, onnx_classify, load_fer(args.dataset))


def compare_flips(model, onnx_classify, data) -> None:
    faces = data.splits["validation"].images
    app = predict_probabilities(model, faces, tta="flip").numpy()
    card = (onnx_classify(faces.numpy()) + onnx_classify(faces.numpy(), mirror=True)) / 2
    true = labels_in_model_order(data, "validation", model).numpy()
    print(f"flip on {len(faces)} validation faces: same top class for {(app.argmax(1) == card.argmax(1)).sum()}, "
          f"largest probability difference {np.abs(app - card).max():.3f}; accuracy app {(app.argmax(1) == true).mean():.4f}, "
          f"card {(card.argmax(1) == true).mean():.4f}")


if __name__ == "__main__":
    main()
