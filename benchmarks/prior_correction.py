"""What the prior correction does on faces it was not fitted on: split validation in two halves at
random, fit the multipliers on one half's images, measure on the other half; repeat and average.

    python benchmarks/prior_correction.py --model fer/pretrained --dataset ../shared/fer2013 [--repeats 20]
    python benchmarks/prior_correction.py --model runs/votes --shares plurality   # a vote-trained model

train.py fits the multipliers on all validation images, so the figures it reports for validation
are fitted and measured on the same faces (labels unused); this estimates what an unseen split
like the held-out test would show. The multipliers match the training faces' FER-2013 label shares
(`--shares labels`, what train.py fits) or the shares of their FER+ plurality (`--shares plurality`);
where the data has FER+'s votes, the agreement with people is measured too (`fer.training.agreement`).
"""

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fer.model.classifier import load_classifier  # noqa: E402
from fer.model.probabilities import DEFAULT_TTA, corrected, predict_probabilities  # noqa: E402
from fer.training.agreement import agreement_with_people  # noqa: E402
from fer.training.calibration import prior_matching_weights, training_class_counts  # noqa: E402
from fer.training.dataset import load_fer  # noqa: E402
from fer.training.evaluate import labels_in_model_order, metrics  # noqa: E402
from fer.training.votes import plurality  # noqa: E402


PEOPLE_FIGURES = {"plurality accuracy": "plurality_accuracy", "annotator share": "annotator_share",
                  "total variation": "total_variation", "clear expressions": "clear_accuracy"}


def half_split_figures(probabilities, true, votes, train_counts, labels, generator) -> dict:
    order = torch.randperm(len(true), generator=generator)
    fit_half, measure_half = order[:len(true) // 2], order[len(true) // 2:]
    weights = prior_matching_weights(probabilities[fit_half], train_counts)
    sides = [probabilities[measure_half], corrected(probabilities[measure_half], weights)]
    before, after = (metrics(true[measure_half], side.argmax(1), labels) for side in sides)
    figures = {"accuracy": (before["accuracy"], after["accuracy"]), "macro-F1": (before["macro_f1"], after["macro_f1"])}
    figures.update({f"{name} recall": (before["per_class_recall"][name], after["per_class_recall"][name])
                    for name in labels})
    if votes is not None:
        people = [agreement_with_people(side, votes[measure_half], labels) for side in sides]
        figures.update({name: (people[0][key], people[1][key]) for name, key in PEOPLE_FIGURES.items()})
    return figures


def target_counts(data, labels: list[str], shares: str) -> list[int]:
    """Training faces per class: by FER-2013 label, or by the plurality of their FER+ votes."""
    if shares == "labels":
        return training_class_counts(data, labels)
    winners = plurality(data.splits["train"].votes, labels)
    return torch.bincount(winners[winners >= 0], minlength=len(labels)).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="fer/pretrained")
    parser.add_argument("--dataset", default="../shared/fer2013")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--shares", choices=("labels", "plurality"), default="labels",
                        help="the class shares the multipliers match (plurality: of FER+'s votes)")
    args = parser.parse_args()
    model = load_classifier(args.model).with_prior_correction(None)
    data = load_fer(args.dataset)
    train_counts = target_counts(data, model.labels, args.shares)
    votes = data.splits["validation"].votes
    probabilities = predict_probabilities(model, data.splits["validation"].images, tta=DEFAULT_TTA)
    true = labels_in_model_order(data, "validation", model)
    generator = torch.Generator().manual_seed(0)
    runs = [half_split_figures(probabilities, true, votes, train_counts, model.labels, generator)
            for _ in range(args.repeats)]
    print(f"{args.model}, TTA {DEFAULT_TTA}, shares of the training {args.shares}: fitted on {len(true) // 2} "
          f"validation images, measured on the other {len(true) - len(true) // 2}; mean ± sd over {args.repeats} "
          "random halves")
    print(f"{'':18s} {'without':>16s} {'with':>16s} {'change':>16s}")
    for figure in runs[0]:
        before, after = ([run[figure][side] for run in runs] for side in (0, 1))
        change = [a - b for a, b in zip(after, before)]
        print(f"{figure:18s} {mean_sd(before):>16s} {mean_sd(after):>16s} {mean_sd(change, sign='+'):>16s}")


def mean_sd(values: list[float], sign: str = "") -> str:
    return f"{statistics.mean(values):{sign}.4f} ± {statistics.stdev(values):.4f}"


if __name__ == "__main__":
    main()
