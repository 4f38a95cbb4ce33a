"""What `python train.py` does, step by step: load data, train, evaluate, report, push (and deploy the Space)."""

import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

from fer.model import onnx_export
from fer.model.classifier import EmotionClassifier, ModelLoadError, load_classifier
from fer.model.probabilities import DEFAULT_TTA
from fer.training import card, ensemble, hub, loop, recipes, report
from fer.training.calibration import match_class_prior
from fer.training.checkpoint import CheckpointError
from fer.training.dataset import VOTES_COLUMN, DatasetError, FerData, load_fer, stratified_split
from fer.training.evaluate import evaluate, score
from fer.training.hardware import Hardware, HardwareError, start, stop


def run(config: recipes.TrainConfig, args, out_dir: Path) -> int:
    """Under torchrun every process trains; only the first one evaluates, writes the reports and pushes."""
    started = time.perf_counter()
    try:
        hardware = start(config.device)
        if args.average:
            average(args.average, args.dataset, out_dir)
        elif not args.skip_training:
            if config.init_from:
                given = {name for name in loop.SHAPE_SETTINGS if getattr(args, name) is not None}
                config = loop.shaped_like(config, config.init_from, given)
            data = load_data(args.dataset, args.subset, config.seed, config.targets)
            if args.recipe in recipes.TEACHERS and args.teachers is None:
                teachers = train_teachers(recipes.TEACHERS[args.recipe], data, out_dir, args.resume, hardware)
                config = replace(config, teachers=[str(folder) for folder in teachers])
            state = loop.train(config, data, out_dir, resume=args.resume, command=command_line())
            if hardware.is_main:
                finish(out_dir, data, state)
        if args.push and hardware.is_main:
            model_url = hub.push_folder(out_dir, args.repo_id, args.private)
            print(f"pushed {out_dir} to {model_url}")
            if args.space:
                space_url = hub.push_space(args.space, model_url.repo_id, args.private)
                print(f"the demo runs at {space_url} (Space variable FER_MODEL={model_url.repo_id})")
        loop.say(f"wall time {time.perf_counter() - started:.0f} s")
    except (DatasetError, CheckpointError, ModelLoadError, HardwareError, hub.PushError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        stop()
    return 0


def load_data(source: str, subset: int | None, seed: int, targets: str = "labels") -> FerData:
    data = load_fer(source, seed=seed)
    if "train" not in data.splits:
        raise DatasetError(f"{source} has no train split to train on; it has {sorted(data.splits)}")
    if targets != "labels" and data.splits["train"].votes is None:
        raise DatasetError(f"--targets {targets} trains on FER+'s votes, and {source} has none: give a dataset with a "
                           f"'{VOTES_COLUMN}' column (like ../shared/fer2013), or --targets labels")
    if subset:
        train_split = data.splits["train"]
        data.splits["train"] = stratified_split(train_split, min(1.0, subset / len(train_split)), seed)[1]
    return data


def average(sources: list[str], dataset: str, out_dir: Path) -> None:
    """The models at `sources` averaged into one in `out_dir`, then finished like a trained run."""
    targets = ensemble.targets_of(sources[0])
    data = load_data(dataset, None, 0, targets)
    finish(out_dir, data, ensemble.assemble(sources, targets, data, out_dir, command_line()))


def train_teachers(teachers: dict[str, recipes.TrainConfig], data: FerData, out_dir: Path,
                   resume: bool, hardware: Hardware) -> list[Path]:
    """Train each teacher of a staged recipe into out_dir/teachers/<name> and finish it like any run; with
    `resume`, a finished teacher is kept and an unfinished one continues from its checkpoint."""
    folders = []
    for name, config in teachers.items():
        folder = out_dir / "teachers" / name
        folders.append(folder)
        finished = folder / report.METRICS_JSON  # written last, by `finish`
        if resume and finished.exists():
            loop.say(f"teacher {name}: finished in {folder}, kept")
            continue
        hardware.barrier()  # every process has seen whether it was finished before the first removes the mark
        if hardware.is_main:
            finished.unlink(missing_ok=True)  # an older run's: this one is not finished yet
        loop.say(f"teacher {name} ({len(folders)} of {len(teachers)}), into {folder}")
        state = loop.train(config, data, folder, resume=resume, command=f"{command_line()}  # teacher {name}")
        if hardware.is_main:
            finish(folder, data, state)
        hardware.barrier()  # the teacher is finished on disk before any process distils from it
    return folders


def finish(out_dir: Path, data: FerData, state: dict) -> None:
    """Fit the prior correction (if the recipe says so), export model.onnx, evaluate the best epoch exactly
    as the app predicts, then write metrics, plots and the card."""
    model = load_classifier(out_dir)
    uncorrected = None
    if state["config"].get("match_class_prior"):
        model, uncorrected = fit_prior_correction(model, data)
        loop.save_best(model, out_dir)
    onnx_export.export_onnx(model, out_dir)
    result = evaluate(model, data, "validation", tta=DEFAULT_TTA)
    report.write_reports(out_dir, result, state, uncorrected)
    model_card = card.build_card(result, state, model, dataset_id=state["dataset"], train_n=state["train_images"],
                                 uncorrected=uncorrected)
    card.write_card(out_dir, model_card)
    what = (f"the average of {len(state['members'])} models" if state.get("members")
            else f"best epoch {state['best_epoch']}")
    people = result.get("people")
    against_people = (f", FER+ plurality accuracy {people['plurality_accuracy']:.4f}, annotator share "
                      f"{people['annotator_share']:.4f}" if people else "")
    print(f"{what}: validation accuracy {result['accuracy']:.4f} with TTA '{DEFAULT_TTA}' (macro-F1 "
          f"{result['macro_f1']:.4f}){against_people}; training took {state['train_seconds'] / 60:.1f} min; "
          f"results in {out_dir}")


def fit_prior_correction(model: EmotionClassifier, data: FerData) -> tuple[EmotionClassifier, dict]:
    """The model with its prior correction fitted on the validation images, and its validation
    results without the correction."""
    corrected_model, probabilities = match_class_prior(model, data)
    uncorrected = score(probabilities, data, "validation", model, DEFAULT_TTA)
    print(f"prior correction: {card.multipliers_text(corrected_model)}; "
          f"validation accuracy without it {uncorrected['accuracy']:.4f}")
    return corrected_model, uncorrected


def command_line() -> str:
    return "python " + " ".join(shlex.quote(part) for part in sys.argv)
