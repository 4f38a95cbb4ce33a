"""Models side by side on one split, each as the app predicts (its TTA and prior correction), plus
the average of their probabilities (the ensemble a distilled student learns from).

    python benchmarks/compare_models.py --model runs/best/teachers/* runs/best fer/pretrained
    python benchmarks/compare_models.py --model runs/a runs/b --ensemble runs/a runs/b --tta flip none

`--ensemble` defaults to the teachers named in the first model's metrics.json (if it was distilled)
and that are among --model. Size is model.safetensors on disk.
"""

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fer.model.classifier import load_classifier  # noqa: E402
from fer.model.probabilities import DEFAULT_TTA, TTA_MODES, predict_probabilities  # noqa: E402
from fer.training.dataset import load_fer  # noqa: E402
from fer.training.evaluate import labels_in_model_order, metrics  # noqa: E402
from fer.training.report import read_metrics  # noqa: E402


def teachers_of(model_dir: str) -> list[str]:
    return (read_metrics(model_dir) or {}).get("config", {}).get("teachers", [])


def size_mb(model_dir: str) -> float:
    weights = Path(model_dir) / "model.safetensors"
    return weights.stat().st_size / 1e6 if weights.exists() else float("nan")


def row(name: str, tta: str, result: dict, size: float, parameters: int | None) -> str:
    parameters_text = f"{parameters / 1e6:.2f} M" if parameters else "-"
    return (f"| {name} | {tta} | {100 * result['accuracy']:.2f} % | {result['macro_f1']:.3f} | "
            f"{result['per_class_recall']['fear']:.3f} | {parameters_text} | {size:.1f} MB |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", nargs="+", required=True, help="model folders or Hub ids")
    parser.add_argument("--ensemble", nargs="*", help="models whose probabilities are averaged (default: see above)")
    parser.add_argument("--dataset", default="../shared/fer2013")
    parser.add_argument("--split", default="validation")
    parser.add_argument("--tta", nargs="+", choices=TTA_MODES, default=[DEFAULT_TTA])
    args = parser.parse_args()
    ensemble = args.ensemble if args.ensemble is not None else [
        teacher for teacher in teachers_of(args.model[0]) if teacher in args.model]
    data = load_fer(args.dataset)
    images = data.splits[args.split].images
    models = {name: load_classifier(name) for name in args.model + [m for m in ensemble if m not in args.model]}
    first_model = models[args.model[0]]
    labels = first_model.labels
    true = labels_in_model_order(data, args.split, first_model)
    print(f"{args.split} of {args.dataset}: {len(true)} faces")
    print("| model | TTA | accuracy | macro-F1 | fear recall | parameters | size |")
    print("|---|---|---|---|---|---|---|")
    for tta in args.tta:
        probabilities = {}
        for name, model in models.items():
            if model.labels != labels:
                sys.exit(f"error: {name} orders its classes {model.labels}, the first model {labels}")
            probabilities[name] = predict_probabilities(model, images, tta=tta)
            if name in args.model:
                parameters = sum(p.numel() for p in model.parameters())
                print(row(name, tta, metrics(true, probabilities[name].argmax(1), labels), size_mb(name), parameters))
        if len(ensemble) > 1:
            average = torch.stack([probabilities[name] for name in ensemble]).mean(0)
            print(row(f"average of {len(ensemble)}: {' + '.join(ensemble)}", tta,
                      metrics(true, average.argmax(1), labels), float("nan"), None))


if __name__ == "__main__":
    main()
