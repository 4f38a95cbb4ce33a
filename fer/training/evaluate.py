"""Honest evaluation: the app's own prediction path on a whole split, with per-class figures.

    python -m fer.evaluate --model fer/pretrained --dataset ../shared/fer2013 --split validation

The last line printed is one JSON object: accuracy, macro_f1 (averaged over macro_f1_classes, the
classes present in the scored labels), per_class_recall, confusion_matrix (rows = true class, in
`labels` order), labels, n; and, where the split has FER+'s votes, `people`: the model's agreement with
the ten annotators (`fer.training.agreement`). The dataset needs only the split being scored.
"""

import argparse
import json
import sys

import torch

from fer.model.classifier import EmotionClassifier, ModelLoadError, load_classifier
from fer.model.probabilities import DEFAULT_TTA, TTA_MODES, predict_probabilities
from fer.training.agreement import agreement_with_people
from fer.training.dataset import DatasetError, FerData, load_fer


def labels_in_model_order(data: FerData, split: str, model: EmotionClassifier) -> torch.Tensor:
    """The split's labels renumbered to the model's class order (sources order classes differently)."""
    missing = sorted(set(data.label_names) - set(model.labels))
    if missing:
        raise DatasetError(f"the dataset has classes the model does not know: {missing}")
    mapping = torch.tensor([model.labels.index(name) for name in data.label_names])
    return mapping[data.splits[split].labels]


def metrics(true: torch.Tensor, predicted: torch.Tensor, labels: list[str]) -> dict:
    classes = len(labels)
    confusion = torch.bincount(true * classes + predicted, minlength=classes * classes).reshape(classes, classes)
    hits = confusion.diag().double()
    support, predicted_count = confusion.sum(1).double(), confusion.sum(0).double()
    recall = torch.where(support > 0, hits / support.clamp(min=1), torch.zeros_like(hits))
    precision = torch.where(predicted_count > 0, hits / predicted_count.clamp(min=1), torch.zeros_like(hits))
    f1 = torch.where(precision + recall > 0, 2 * precision * recall / (precision + recall).clamp(min=1e-12),
                     torch.zeros_like(hits))
    present = support > 0  # a class absent from the scored labels has no F1 to speak of
    return {
        "accuracy": hits.sum().item() / max(1, len(true)),
        "macro_f1": f1[present].mean().item() if present.any() else 0.0,
        "macro_f1_classes": [name for name, counted in zip(labels, present.tolist()) if counted],
        "per_class_recall": dict(zip(labels, recall.tolist())),
        "per_class": {name: {"precision": p, "recall": r, "f1": f, "support": int(s)}
                      for name, p, r, f, s in zip(labels, precision.tolist(), recall.tolist(), f1.tolist(),
                                                  support.tolist())},
        "confusion_matrix": confusion.tolist(),
        "labels": list(labels),
        "n": len(true),
    }


def evaluate(model: EmotionClassifier, data: FerData, split: str, tta: str = DEFAULT_TTA) -> dict:
    if split not in data.splits:
        raise DatasetError(f"no split '{split}' in {data.source}; it has {sorted(data.splits)}")
    return score(predict_probabilities(model, data.splits[split].images, tta=tta), data, split, model, tta)


def score(probabilities: torch.Tensor, data: FerData, split: str, model: EmotionClassifier, tta: str) -> dict:
    """The metrics of the split's predictions, given as the model's class probabilities for its images: against
    FER-2013's labels, and against FER+'s votes where the split has them (`people`)."""
    true = labels_in_model_order(data, split, model)
    result = {**metrics(true, probabilities.argmax(1), model.labels), "split": split, "tta": tta}
    votes = data.splits[split].votes
    if votes is not None and votes.any():
        result["people"] = agreement_with_people(probabilities, votes, model.labels)
    return result


def people_summary(people: dict) -> str:
    return (f"against FER+'s ten annotators: plurality accuracy {people['plurality_accuracy']:.4f} "
            f"({people['plurality_n']} faces), annotator share {people['annotator_share']:.4f}, total variation "
            f"{people['total_variation']:.4f}, calibration error {people['calibration_error']:.4f}, clear expressions "
            f"{people['clear_accuracy']:.4f} ({people['clear_n']} faces)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate a model on a FER-2013 split; last line is JSON.")
    parser.add_argument("--model", default="fer/pretrained", help="model folder or Hub id")
    parser.add_argument("--dataset", required=True, help="Hub dataset id, local folder or fer2013.csv")
    parser.add_argument("--split", default="validation")
    parser.add_argument("--tta", choices=TTA_MODES, default=DEFAULT_TTA, help="as in the app (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        model = load_classifier(args.model)
        result = evaluate(model, load_fer(args.dataset), args.split, args.tta)
    except (ModelLoadError, DatasetError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{args.split}: accuracy {result['accuracy']:.4f}, macro-F1 {result['macro_f1']:.4f} on {result['n']} images"
          " against FER-2013's labels")
    if "people" in result:
        print(people_summary(result["people"]))
    print(json.dumps({key: result[key] for key in
                      ("accuracy", "macro_f1", "macro_f1_classes", "per_class_recall",
                       "confusion_matrix", "labels", "n", "people") if key in result}))
    return 0
