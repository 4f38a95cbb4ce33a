"""Trained models as one: the average of their probabilities, saved, evaluated and described like a trained run.

    python train.py --average runs/votes runs/votes_blend20 --dataset ../shared/fer2013 --out runs/pair
"""

from dataclasses import asdict
from pathlib import Path

from fer.model.classifier import FER2013_LABELS_SOURCE, EmotionClassifier, ModelLoadError, load_classifier
from fer.training import loop, recipes, report
from fer.training.dataset import FerData

# What members must share to be averaged into one network: the same input, the same classes, the same meaning.
SHARED_SETTINGS = ("arch", "width", "input_size", "labels", "mean", "std", "trained_on")


def average_models(sources: list[str]) -> EmotionClassifier:
    """One classifier whose probabilities are the mean of the models' at `sources` (stored as float16 if any was)."""
    if len(sources) < 2:
        raise ModelLoadError(f"averaging needs at least two models, not {len(sources)}")
    members = [load_classifier(source) for source in sources]
    for source, member in zip(sources, members):
        check_member(source, member, sources[0], members[0])
    dtype = "float16" if any(member.weights_dtype == "float16" for member in members) else "float32"
    try:
        averaged = EmotionClassifier(**{**members[0]._hub_mixin_config, "members": len(members),
                                        "weights_dtype": dtype})
    except ValueError as error:  # more members than a config allows
        raise ModelLoadError(str(error)) from None
    for network, member in zip(averaged.networks(), members):
        network.load_state_dict(member.net.state_dict())
    return averaged.eval()


def check_member(source: str, member: EmotionClassifier, first_source: str, first: EmotionClassifier) -> None:
    if member.members > 1:
        raise ModelLoadError(f"{source} is itself an average of {member.members} networks: give its members instead")
    if member.prior_correction is not None:
        raise ModelLoadError(f"{source} has a prior correction, which would be applied to its own probabilities "
                             "only: average models without one (train them with --no-match-class-prior)")
    differences = [f"{name} {getattr(member, name)!r} (not {getattr(first, name)!r})" for name in SHARED_SETTINGS
                   if getattr(member, name) != getattr(first, name)]
    if differences:
        raise ModelLoadError(f"{source} cannot be averaged with {first_source}: its " + ", ".join(differences))


def targets_of(source: str) -> str:
    """What the model at `source` was trained to fit, from its metrics.json (a Hub model may have none: then from
    what its config says its probabilities mean)."""
    run = report.read_metrics(source)
    if run:
        return run["config"].get("targets", "labels")
    return "labels" if load_classifier(source).trained_on == FER2013_LABELS_SOURCE else "votes"


def assemble(sources: list[str], targets: str, data: FerData, out_dir: Path, command: str) -> dict:
    """Save the average of the models at `sources`, which were trained to fit `targets` (`targets_of`), in `out_dir`
    and return its state for `pipeline.finish`: the members' settings and training times, from their metrics.json
    where they have one."""
    model = average_models(sources)
    out_dir.mkdir(parents=True, exist_ok=True)
    loop.save_best(model, out_dir)
    runs = [report.read_metrics(source) or {} for source in sources]
    first_config = recipes.TrainConfig(**{**asdict(recipes.TrainConfig()), **runs[0].get("config", {}),
                                          "targets": targets})
    train_split, _ = loop.fitted_splits(data, first_config, model.labels)
    config = {"arch": model.arch, "width": model.width, "input_size": model.input_size,
              "targets": first_config.targets, "match_class_prior": False}
    members = [{"source": str(source), "command": run.get("command"), "train_seconds": run.get("train_seconds"),
                "epochs": run.get("epochs"), "best_epoch": run.get("best_epoch"), "precision": run.get("precision"),
                "validation": run.get("validation")} for source, run in zip(sources, runs)]
    known_seconds = [member["train_seconds"] for member in members if member["train_seconds"] is not None]
    return {"config": config, "members": members, "command": command, "history": [], "best_epoch": None,
            "epochs_done": 0, "train_seconds": sum(known_seconds), "precision": runs[0].get("precision"),
            "dataset": data.source, "train_images": len(train_split)}
