"""Evaluation results as files people read: metrics.json, the confusion matrix and training curves."""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)
import numpy as np  # noqa: E402

CONFUSION_PNG = "confusion_matrix.png"
CURVES_PNG = "training_curves.png"
METRICS_JSON = "metrics.json"
PEOPLE_PNG = "agreement_with_people.png"


def plot_confusion_matrix(result: dict, path: Path) -> None:
    """Rows = true class, each row normalised to recall; cells show the share and the count."""
    counts = np.array(result["confusion_matrix"])
    shares = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    labels = result["labels"]
    figure, axes = plt.subplots(figsize=(7, 6))
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for row in range(len(labels)):
        for column in range(len(labels)):
            axes.text(column, row, f"{shares[row, column]:.0%}\n{counts[row, column]}", ha="center", va="center",
                      fontsize=8, color="white" if shares[row, column] > 0.5 else "black")
    axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(f"{result.get('split', '')} accuracy {result['accuracy']:.1%}, macro-F1 {result['macro_f1']:.3f}")
    figure.colorbar(image, ax=axes, label="share of the true class")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_training_curves(history: list[dict], path: Path) -> None:
    epochs = [record["epoch"] for record in history]
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(10, 4))
    loss_axes.plot(epochs, [r["train_loss"] for r in history], label="train")
    loss_axes.plot(epochs, [r["val_loss"] for r in history], label="validation")
    loss_axes.set_title("loss")
    accuracy_axes.plot(epochs, [r["train_accuracy"] for r in history], label="train (augmented)")
    accuracy_axes.plot(epochs, [r["val_accuracy"] for r in history], label="validation (centre crop)")
    if all("raw_val_accuracy" in r for r in history):
        accuracy_axes.plot(epochs, [r["raw_val_accuracy"] for r in history], ":",
                           label="validation, weights before averaging")
    accuracy_axes.set_title("accuracy")
    for axes in (loss_axes, accuracy_axes):
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_agreement_with_people(people: dict, path: Path) -> None:
    """Left: recall per expression against the plurality of the ten annotators and on clear expressions. Right: how
    sure the model is of its label against how many of the ten chose it (the diagonal: as sure as people agree)."""
    figure, (recall_axes, calibration_axes) = plt.subplots(1, 2, figsize=(11, 4))
    names = people["people_labels"]
    positions = np.arange(len(names))
    for offset, key, title in ((-0.2, "plurality_recall", "against the plurality"), (0.2, "clear_recall",
                                                                                    "clear expressions (≥ 7 of 10)")):
        recalls = [people[key][name]["recall"] or 0.0 for name in names]
        recall_axes.bar(positions + offset, recalls, width=0.4, label=title)
    recall_axes.set_xticks(positions, names, rotation=30, ha="right")
    recall_axes.set_ylim(0, 1)
    recall_axes.set_title(f"recall per expression (plurality accuracy {people['plurality_accuracy']:.1%})")
    recall_axes.legend(loc="lower right")
    bins = people["calibration_bins"]
    calibration_axes.plot([0, 1], [0, 1], ":", color="grey")
    calibration_axes.plot([row["confidence"] for row in bins], [row["agreement"] for row in bins], "o-")
    calibration_axes.set_xlabel("the predicted expression's probability (bin mean)")
    calibration_axes.set_ylabel("share of the 10 annotators who chose it")
    calibration_axes.set_title(f"calibration against people (error {people['calibration_error']:.3f})")
    for axes in (recall_axes, calibration_axes):
        axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def read_metrics(folder) -> dict | None:
    """The metrics.json a finished run wrote into `folder`, if there is one."""
    path = Path(folder) / METRICS_JSON
    return json.loads(path.read_text()) if path.exists() else None


def write_reports(out_dir: Path, result: dict, state: dict, uncorrected: dict | None = None) -> None:
    """`uncorrected`: the validation results without the prior correction, when there is one."""
    (out_dir / METRICS_JSON).write_text(json.dumps({
        "validation": result,
        "validation_without_prior_correction": uncorrected,
        "best_epoch": state["best_epoch"],
        "epochs": state["epochs_done"],
        "train_seconds": state["train_seconds"],
        "precision": state["precision"],
        "command": state["command"],
        "config": state["config"],
        "history": state["history"],
        **({"members": state["members"]} if state.get("members") else {}),
    }, indent=2))
    plot_confusion_matrix(result, out_dir / CONFUSION_PNG)
    if result.get("people"):
        plot_agreement_with_people(result["people"], out_dir / PEOPLE_PNG)
    if state["history"]:  # an average of trained models has none of its own
        plot_training_curves(state["history"], out_dir / CURVES_PNG)
