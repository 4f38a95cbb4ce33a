"""The model card (README.md of a model folder) with Hub metadata in model-index form."""

import platform
from pathlib import Path

import torch
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from fer.model.classifier import FER2013_LABELS_SOURCE, FERPLUS_VOTES_SOURCE
from fer.model.onnx_export import card_section
from fer.training.report import CONFUSION_PNG, CURVES_PNG, PEOPLE_PNG, read_metrics

CARD_TEMPLATE = """---
{card_data}
---

# FER-2013 facial-expression classifier ({arch})

Classifies a 48×48 grayscale face into one of {num_classes} expressions: {labels}.
{origin} on the FER-2013 `train` split (Kaggle "Training", {train_n:,} faces) {targets_text};
the `validation` split (Kaggle "PublicTest", {val_n:,} images) was used only to pick {best_epoch_of}{validation_use}.
It is the model behind the FER-2013 emotion demo Space (`app.py`).

## Uses

### Intended use
Showing which facial expression a face displays, as a demo and for research and teaching about expression
recognition: {meaning}. A face's expression is not a feeling: people smile when they are not happy and
look neutral when they are.

### Out-of-scope use
- Decisions about people (hiring, admission, grading, credit, policing, medical or mental-health assessment).
- Lie detection, or judging honesty, intent or personality.
- Emotion recognition at work or in schools, which the EU AI Act prohibits (Art. 5(1)(f)), and any monitoring of
  people without their knowledge.

## Results on `validation` ({val_n:,} images, test-time augmentation `{tta}` as in the app)
{people}
Against FER-2013's own labels:

| metric | value |
|---|---|
| accuracy | {accuracy:.2%} |
| macro-F1 | {macro_f1:.4f} |

| class | precision | recall | F1 | images |
|---|---|---|---|---|
{class_rows}
{prior_correction}
![confusion matrix (rows = true class)]({confusion_png})
{curves}

Reproduce the table: `python -m fer.evaluate --model MODEL_DIR --dataset ../shared/fer2013 --split validation`

{onnx_section}
## Training

{training}
## Bias, risks and limitations

FER-2013 faces are low-resolution web images, mostly of adults, gathered by web search; its labels are noisy (they
agree with the plurality of FER+'s ten annotators on about two faces in three). The model reads the expression a
face shows, not what its owner feels; it is weakest on the rare `disgust` class and on `fear` (see the recall
columns).{votes_limitation} Expressions are shown and read differently across cultures, ages and contexts; its
errors are not measured per group of people. Do not use it to make decisions about people.
"""

RUN_TRAINING = """- Command: `{command}`
- Architecture `{arch}`, input {input_size}×{input_size} crops of the 48×48 face, {parameters:,} parameters
- {epochs} epochs (best: {best_epoch}), batch {batch_size}, SGD lr {lr} (momentum {momentum}),
  schedule {schedule}, weight decay {weight_decay}, label smoothing {label_smoothing}, dropout {dropout},
  augmentation {augment} (face scale ±{framing}, capture artefacts on a share {capture} of the faces, random erasing {erase},
  mixup alpha {mixup}), class weights `{class_weights}`,
  focal loss gamma {focal_gamma} (0 = plain cross-entropy), sharpness-aware minimisation radius {sam} (0 = off),
  moving average of the weights {ema} (0 = none), seed {seed}
{distillation}{weights_storage}- Hardware: {hardware}; {precision} compute; {threads} threads
- Training wall time: {train_minutes:.1f} min for {epochs} epochs, per-epoch validation included (measured by `train.py`)
"""

AVERAGE_TRAINING = """- Command: `{command}`: the probabilities of the {count} models below averaged (their networks side by side in
  one model, whose output is the log of their mean softmax); no training of its own
- Architecture `{arch}` × {count}, input {input_size}×{input_size} crops of the 48×48 face, {parameters:,} parameters in all
- Members, each trained on its own (their own cards and metrics.json say how):
{member_rows}{weights_storage}- Training wall time: {train_minutes:.1f} min, the members' together{unknown_times}
"""

TARGETS_TEXT = {
    "labels": "against FER-2013's own labels",
    "votes": "to give the share of FER+'s ten annotators who chose each expression (FER+ votes as soft targets)",
    "crossentropy": "on FER+'s votes (its cross-entropy mode: the top categories' shares as soft targets)",
    "majority": "on FER+'s votes (its majority mode: the category most annotators chose, as a label)",
    "probability": "on FER+'s votes (its probability mode: a label drawn from the votes for each batch)",
}
MEANING = {
    FER2013_LABELS_SOURCE: "its probabilities say which of FER-2013's labels the face would have been given",
    FERPLUS_VOTES_SOURCE: "its probabilities say how ten people would label the face (FER+'s annotators)",
}

VOTES_LIMITATION = (" FER+'s annotators call many mild expressions neutral, and a model fitted to their votes does "
                    "too;\nits recall on deliberate, exaggerated expressions (posed photos) is not measured here.")


def targets_text(config: dict) -> str:
    text = TARGETS_TEXT[config.get("targets", "labels")]
    if config.get("label_blend"):
        text += f", {config['label_blend']:.0%} of each face's target being its FER-2013 label instead"
    return text


def people_text(result: dict) -> str:
    """The table of agreement with FER+'s ten annotators, when the split has their votes."""
    people = result.get("people")
    if not people:
        return ""
    rows = [("plurality accuracy: the expression most of the ten chose (FER+ protocol, "
             f"{people['plurality_n']:,} faces)", f"{people['plurality_accuracy']:.1%}"),
            ("annotator share: the share of the ten who chose the predicted expression",
             f"{people['annotator_share']:.4f}"),
            ("total variation between the probabilities and the vote shares (0 = the same)",
             f"{people['total_variation']:.3f}"),
            ("calibration error against the votes (expected gap, 10 bins)", f"{people['calibration_error']:.3f}"),
            (f"clear expressions: at least 7 of 10 chose one emotion other than neutral ({people['clear_n']:,} faces)",
             f"{people['clear_accuracy']:.1%}")]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    recalls = "\n".join(
        f"| {name} | {_recall(people['plurality_recall'][name])} | {_recall(people['clear_recall'][name])} |"
        for name in people["people_labels"])
    return (f"\nAgainst people: FER+'s ten annotators per face ({people['voted_n']:,} faces with votes).\n\n"
            f"| measure | value |\n|---|---|\n{table}\n\n"
            f"Recall per expression, against the plurality and on clear expressions (faces):\n\n"
            f"| expression | plurality | clear |\n|---|---|---|\n{recalls}\n\n"
            f"![recall per expression and calibration against people]({PEOPLE_PNG})\n\n")


def _recall(entry: dict) -> str:
    return "—" if entry["recall"] is None else f"{entry['recall']:.3f} ({entry['n']})"


def hub_dataset_name(source: str) -> str:
    """The card's `datasets:` entry: a Hub id as given; for a local copy, its folder name."""
    return Path(source).name if Path(source).exists() else source


def hardware_description() -> str:
    cpu = platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = f"{names[0]} ({len(names)} cores)" if names else cpu
    return f"{cpu}, {platform.system()}, no GPU"


def schedule_description(config: dict) -> str:
    if not config.get("restarts"):
        return f"`{config['schedule']}`"
    return (f"`{config['schedule']}` of {config['epochs']} epochs, then {config['restarts']} restarts of "
            f"{config['restart_epochs']} epochs at lr {config['restart_lr']} (each from the kept weights)")


def multipliers_text(model) -> str:
    return ", ".join(f"{name} ×{weight:.2f}" for name, weight in zip(model.labels, model.prior_correction))


def prior_correction_text(model, uncorrected: dict | None) -> str:
    if model.prior_correction is None or uncorrected is None:
        return ""
    recalls = ", ".join(f"{name} {recall:.3f}" for name, recall in uncorrected["per_class_recall"].items())
    return (f"\nThe class probabilities are multiplied by {multipliers_text(model)} (then renormalised): "
            f"fitted after training so that the model predicts each class about as often as it occurs in the "
            f"training labels, on its predictions for the validation images (their labels unused; "
            f"`fer/training/calibration.py`). Without them: accuracy {uncorrected['accuracy']:.2%}, "
            f"macro-F1 {uncorrected['macro_f1']:.4f}, recall {recalls}.\n")


def distillation_text(config: dict, student_seconds: float) -> str:
    teachers = config.get("teachers")
    if not teachers:
        return ""
    weight, temperature = config["distill_weight"], config["distill_temperature"]
    runs = [read_metrics(teacher) for teacher in teachers]
    known_seconds = [run["train_seconds"] for run in runs if run]
    total = (f"; all runs together (the teachers' and this one's training): "
             f"{(sum(known_seconds) + student_seconds) / 60:.0f} min" if len(known_seconds) == len(teachers) else "")
    rows = "".join(f"  - `{teacher}`: " + (f"{run['validation']['accuracy']:.2%} validation accuracy "
                                          f"(TTA `{run['validation']['tta']}`), {run['train_seconds'] / 60:.1f} min of "
                                          f"training, `{run.get('command') or 'command not recorded'}`\n"
                                          if run else "no metrics.json to describe it\n")
                   for teacher, run in zip(teachers, runs))
    return (f"- Distilled from {len(teachers)} teacher(s){total}:\n{rows}"
            f"  In each step the teachers see the student's augmented batch; their probabilities softened by temperature "
            f"{temperature} are averaged, and the loss is (1 − {weight}) × the hard-label loss + {weight} × {temperature}² × "
            f"KL(teachers ‖ student softened by {temperature})\n")


def origin_text(state: dict) -> str:
    config = state["config"]
    if state.get("members"):
        return f"The average of {len(state['members'])} networks, each trained"
    return f"Trained further from the weights of `{config['init_from']}`" if config.get("init_from") else "Trained from scratch"


def run_training_text(state: dict, model) -> str:
    config = state["config"]
    return RUN_TRAINING.format(
        command=state["command"], arch=config["arch"], input_size=config["input_size"],
        parameters=sum(p.numel() for p in model.parameters()), epochs=state["epochs_done"],
        best_epoch=state["best_epoch"], hardware=hardware_description(), precision=state["precision"],
        threads=torch.get_num_threads(), train_minutes=state["train_seconds"] / 60,
        schedule=schedule_description(config), capture=config.get("capture", 0.0),
        framing=config.get("framing", 0.1), sam=config.get("sam", 0.0),
        distillation=distillation_text(config, state["train_seconds"]), weights_storage=weights_storage_text(model),
        **{key: config[key] for key in ("batch_size", "lr", "momentum", "weight_decay", "label_smoothing", "dropout",
                                        "augment", "erase", "mixup", "class_weights", "focal_gamma", "ema", "seed")})


def average_training_text(state: dict, model) -> str:
    members = state["members"]
    unknown = [member["source"] for member in members if member["train_seconds"] is None]
    return AVERAGE_TRAINING.format(
        command=state["command"], count=len(members), arch=model.arch, input_size=model.input_size,
        parameters=sum(p.numel() for p in model.parameters()),
        member_rows="".join(f"  - `{member['source']}`: {member_text(member)}\n" for member in members),
        weights_storage=weights_storage_text(model), train_minutes=state["train_seconds"] / 60,
        unknown_times=f" (not counting {', '.join(unknown)}, whose metrics.json is missing)" if unknown else "")


def member_text(member: dict) -> str:
    """A member's validation figure, training time and command, as far as its metrics.json tells."""
    validation = member["validation"]
    if validation is None:
        return "no metrics.json to describe it"
    people = validation.get("people")
    figure = (f"{people['plurality_accuracy']:.2%} FER+ plurality accuracy" if people
              else f"{validation['accuracy']:.2%} accuracy")
    return (f"{figure} alone (validation, TTA `{validation['tta']}`), {member['train_seconds'] / 60:.1f} min of "
            f"training ({member['epochs']} epochs, best {member['best_epoch']}, {member['precision']}), "
            f"`{member['command'] or 'command not recorded'}`")


def weights_storage_text(model) -> str:
    if model.weights_dtype == "float32":
        return ""
    return (f"- Weights stored as {model.weights_dtype} in `model.safetensors` (half the bytes of float32), loaded "
            "into float32 and computed in float32; every figure above is of the stored weights\n")


def build_card(result: dict, state: dict, model, dataset_id: str, train_n: int,
               uncorrected: dict | None = None) -> ModelCard:
    config = state["config"]
    dataset_id = hub_dataset_name(dataset_id)
    eval_results = [EvalResult(task_type="image-classification", dataset_type=dataset_id, dataset_name="FER-2013",
                               dataset_split="validation", metric_type=metric, metric_value=round(result[key], 4),
                               metric_name=name)
                    for metric, key, name in (("accuracy", "accuracy", "Accuracy"), ("f1", "macro_f1", "Macro F1"))]
    if result.get("people"):
        eval_results.append(EvalResult(task_type="image-classification", dataset_type=dataset_id,
                                       dataset_name="FER-2013 with FER+ votes", dataset_split="validation",
                                       metric_type="accuracy", metric_name="FER+ plurality accuracy",
                                       metric_value=round(result["people"]["plurality_accuracy"], 4)))
    card_data = ModelCardData(license="mit", library_name="pytorch", pipeline_tag="image-classification",
                              tags=["facial-expression-recognition", "fer2013", "emotion"], datasets=[dataset_id],
                              metrics=["accuracy", "f1"], model_name="fer2013-emotion", eval_results=eval_results)
    class_rows = "\n".join(f"| {name} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {row['support']} |"
                           for name, row in result["per_class"].items())
    averaged = bool(state.get("members"))
    content = CARD_TEMPLATE.format(
        card_data=card_data.to_yaml(), arch=config["arch"] + (f" × {model.members}" if averaged else ""),
        num_classes=len(result["labels"]), labels=", ".join(result["labels"]), train_n=train_n,
        prior_correction=prior_correction_text(model, uncorrected), onnx_section=card_section(model),
        validation_use=" and, without its labels, to fit the prior correction" if model.prior_correction else "",
        best_epoch_of="each member's best epoch and which models to average" if averaged else "the best epoch",
        val_n=result["n"], tta=result["tta"], people=people_text(result),
        targets_text=targets_text(config), meaning=MEANING[model.trained_on],
        votes_limitation=VOTES_LIMITATION if model.trained_on == FERPLUS_VOTES_SOURCE else "",
        accuracy=result["accuracy"], macro_f1=result["macro_f1"], class_rows=class_rows,
        confusion_png=CONFUSION_PNG, curves="" if averaged else f"\n![training curves]({CURVES_PNG})\n",
        origin=origin_text(state), training=(average_training_text if averaged else run_training_text)(state, model))
    return ModelCard(content)


def write_card(out_dir: Path, card: ModelCard) -> None:
    card.save(out_dir / "README.md")
