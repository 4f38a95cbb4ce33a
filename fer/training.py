"""The training loop: recipes as plain data, one epoch at a time, a checkpoint after each.

A run can be killed at any moment: `train(..., resume=True)` continues after the last finished
epoch and, because every epoch seeds its own random numbers, ends where an uninterrupted run
with the same seed would.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn, update_bn
from torchvision.transforms.v2 import functional as TF
from tqdm.auto import tqdm

from fer import checkpoint, precision
from fer.augment import capture_artefacts, mixup, random_affine_crops, random_erasing
from fer.dataset import FerData, Split
from fer.model import EmotionClassifier, ModelLoadError, load_classifier
from fer.tensors import normalize
from fer.probabilities import predict_probabilities

CHECKPOINT_NAME = "checkpoint.safetensors"
CLASS_WEIGHTINGS = ("none", "balanced", "sqrt")
BATCH_NORM_IMAGES = 8192  # about this many training images re-estimate the weight average's batch-norm statistics


@dataclass
class TrainConfig:
    arch: str = "vgg"
    epochs: int = 32
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    warmup_fraction: float = 0.15
    schedule: str = "onecycle"  # or "constant"
    restarts: int = 0  # further short one-cycles after the main one (see `cycles`)
    restart_epochs: int = 8
    restart_lr: float = 0.02
    augment: bool = True
    erase: float = 0.0  # probability of random erasing, on top of `augment`
    framing: float = 0.1  # the face's scale varies by up to ± this share (augment), as the detector's framing does
    capture: float = 0.0  # share of images resampled, blurred or JPEG-compressed as the app's face path may (augment)
    mixup: float = 0.0  # alpha of mixup's Beta(alpha, alpha) blend of image pairs; 0 = off
    class_weights: str = "none"
    focal_gamma: float = 0.0  # focal loss: scale each class's term by (1 - p)^gamma, easy examples count less; 0 = off
    sam: float = 0.0  # radius of sharpness-aware minimisation (`sharpness_aware_gradients`), two passes a step; 0 = off
    input_size: int = 40
    width: int = 44
    dropout: float = 0.3
    ema: float = 0.0  # decay per step of a moving average of the weights, then validated and kept; 0 = off
    seed: int = 0
    precision: str = "auto"
    init_from: str = ""  # start from this model's weights (folder or Hub id) instead of random ones
    match_class_prior: bool = True  # after training, fit class-probability multipliers (fer.calibration)
    weights_dtype: str = "float32"  # how model.safetensors stores the kept weights: "float16" halves the file
    teachers: list[str] = field(default_factory=list)  # models (folders or Hub ids) to distil from; none = off
    distill_weight: float = 0.7  # with teachers: the share of the loss that is the teachers' (`training_loss`)
    distill_temperature: float = 4.0  # softens the teachers' and the student's probabilities for that share


RECIPES = {
    # The moving average (decay 0.999: a time constant of ~1000 steps) suits the full 10,800-step run;
    # short trials (--subset, few epochs) should pass --ema 0 --restarts 0, or their average still lags
    # the start and 16 restart epochs follow. The two restarts lifted validation accuracy (docs/experiments.md).
    # No --capture: on the 12,000-image proxy it narrowed the gaps of benchmarks/pipeline_fidelity.py but
    # cost more clean accuracy than it won back through the app's path (docs/face_path.md).
    "default": TrainConfig(ema=0.999, restarts=2),
    # The student report's training, to reproduce its 56 %: SGD lr 0.01 (momentum 0.9: without it the
    # same 10 epochs reach only 48 %), batch 32, constant rate, no augmentation, no dropout, no prior correction.
    "seed": TrainConfig(arch="seed", epochs=10, batch_size=32, lr=0.01, momentum=0.9, nesterov=False,
                        weight_decay=0.0, label_smoothing=0.0, schedule="constant", augment=False,
                        input_size=48, width=32, dropout=0.0, match_class_prior=False),
}


# Recipes trained in stages (fer.pipeline.train_teachers): first each teacher, as a run of its own in
# <out>/teachers/<name>; then the recipe's own settings, as a student distilled from all of them into <out>.
# Teachers from the same recipe gain little as an ensemble (seeds 0 and 1: 70.30 and 69.99 % alone, 70.52 % averaged,
# with flip; docs/experiments.md), so the hours go to the student rather than to a third teacher.
TEACHERS = {
    "best": {
        "default": RECIPES["default"],
        "seed1": replace(RECIPES["default"], seed=1),
    },
}
# The student: width 64 (4.7 M parameters, 9.4 MB as float16) for 80 + 2 × 8 epochs. With two width-44 teachers a
# step costs about 2.3 × a default one (python benchmarks/train_throughput.py --widths 44 56 64 --teachers 0 2 3),
# so it gets the ~4 hours the teachers leave of the 6-hour budget (131–142 s per epoch); width 64 ran as fast as 56.
RECIPES["best"] = replace(RECIPES["default"], width=64, epochs=80, weights_dtype="float16")


def recipe(name: str, **overrides) -> TrainConfig:
    known = {field.name for field in fields(TrainConfig)}
    unknown = set(overrides) - known
    if unknown:
        raise ValueError(f"unknown training settings: {sorted(unknown)}")
    return TrainConfig(**{**asdict(RECIPES[name]), **{k: v for k, v in overrides.items() if v is not None}})


def cycles(config: TrainConfig) -> list[tuple[int, int, float]]:
    """(first epoch, epochs, peak rate) of each one-cycle: the main one, then the restarts.

    A restart begins at the kept weights (the weight average, if any) with fresh momentum: what
    fine-tuning the finished model again with `--init-from` did, which lifted validation accuracy."""
    restarts = [(config.epochs + index * config.restart_epochs, config.restart_epochs, config.restart_lr)
                for index in range(config.restarts)]
    return [(0, config.epochs, config.lr)] + restarts


def total_epochs(config: TrainConfig) -> int:
    first_epoch, epochs, _ = cycles(config)[-1]
    return first_epoch + epochs


def learning_rate(config: TrainConfig, step: int, steps_per_epoch: int) -> float:
    """Per cycle, linear warm-up then cosine decay to zero; a pure function of the step, so resuming needs no state."""
    if config.schedule == "constant":
        return config.lr
    first_epoch, epochs, peak = [cycle for cycle in cycles(config) if step >= cycle[0] * steps_per_epoch][-1]
    step -= first_epoch * steps_per_epoch
    cycle_steps = epochs * steps_per_epoch
    warmup = max(1, int(config.warmup_fraction * cycle_steps))
    if step < warmup:
        return peak * (0.04 + 0.96 * step / warmup)
    progress = (step - warmup) / max(1, cycle_steps - warmup)
    return peak * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def class_weights(counts: list[int], mode: str) -> torch.Tensor | None:
    if mode not in CLASS_WEIGHTINGS:
        raise ValueError(f"class_weights must be one of {CLASS_WEIGHTINGS}")
    if mode == "none":
        return None
    counts = torch.tensor(counts, dtype=torch.float32).clamp(min=1)
    weights = counts.sum() / (len(counts) * counts)
    if mode == "sqrt":
        weights = weights.sqrt()
    return weights / (weights * counts).sum() * counts.sum()  # mean weight over samples stays 1


def build_model(config: TrainConfig, labels: list[str]) -> EmotionClassifier:
    torch.manual_seed(config.seed)
    model = EmotionClassifier(arch=config.arch, labels=labels, input_size=config.input_size,
                              width=config.width, dropout=config.dropout, weights_dtype=config.weights_dtype)
    return model.to(memory_format=torch.channels_last)


def start_from(model: EmotionClassifier, source: str) -> None:
    """Copy the weights of the model at `source` into `model`, which must be the same network and classes."""
    trained = load_classifier(source)
    if trained.labels != model.labels:
        raise ModelLoadError(f"{source} predicts {trained.labels}, but the data's classes are {model.labels}")
    theirs, ours = trained.state_dict(), model.state_dict()
    same_network = theirs.keys() == ours.keys() and all(theirs[k].shape == ours[k].shape for k in ours)
    if not same_network or trained.input_size != model.input_size:
        raise ModelLoadError(f"{source} is not the network these settings build (arch {model.arch}, "
                             f"input size {model.input_size}): pass its --arch, --width and --input-size")
    model.load_state_dict(theirs)


def load_teachers(config: TrainConfig, student: EmotionClassifier) -> list[EmotionClassifier]:
    """The frozen teachers, checked to predict the student's classes from the same input."""
    if config.teachers and not (0 <= config.distill_weight <= 1 and config.distill_temperature > 0):
        raise ValueError("distill_weight must be in [0, 1] and distill_temperature above 0")
    teachers = [load_classifier(source) for source in config.teachers]
    for source, teacher in zip(config.teachers, teachers):
        if teacher.labels != student.labels:
            raise ModelLoadError(f"teacher {source} predicts {teacher.labels}, but the data's classes are "
                                 f"{student.labels}")
        if (teacher.input_size, teacher.mean, teacher.std) != (student.input_size, student.mean, student.std):
            raise ModelLoadError(f"teacher {source} takes {teacher.input_size}×{teacher.input_size} crops normalised "
                                 f"by mean {teacher.mean}, std {teacher.std}; the student takes {student.input_size}×"
                                 f"{student.input_size} by {student.mean}, {student.std}: teachers must take its input")
    return [teacher.requires_grad_(False).to(memory_format=torch.channels_last) for teacher in teachers]


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                           nesterov=config.nesterov and config.momentum > 0, weight_decay=config.weight_decay)


def weight_average(model: EmotionClassifier, config: TrainConfig) -> AveragedModel | None:
    """An exponential moving average of the parameters, if the recipe keeps one.

    Batch-norm statistics are not averaged (averaged statistics do not fit averaged weights: a full run
    kept 64.0 % instead of 68.8 %); `refresh_batch_norm` re-estimates them before each validation."""
    if not config.ema:
        return None
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=False)


def refresh_batch_norm(model: EmotionClassifier, split: Split, config: TrainConfig, compute: str) -> None:
    """Batch-norm running statistics of `model` measured afresh on centre crops of evenly spaced training images."""
    images = split.images[::max(1, len(split) // BATCH_NORM_IMAGES)]
    crops = normalize(TF.center_crop(images, [config.input_size] * 2), model.mean, model.std)
    with precision.autocast(compute):
        update_bn(crops.split(256), model)


def training_batch(images: torch.Tensor, config: TrainConfig, model: EmotionClassifier,
                   generator: torch.Generator) -> torch.Tensor:
    if config.augment:
        if config.capture:
            images = capture_artefacts(images, config.capture, generator)
        pixels = random_affine_crops(images, config.input_size, generator,
                                     scale_range=(1 - config.framing, 1 + config.framing))
        if config.erase:
            pixels = random_erasing(pixels, config.erase, generator)
    else:
        pixels = TF.center_crop(images, [config.input_size] * 2)
    return normalize(pixels, model.mean, model.std)


def focal_loss(logits: torch.Tensor, targets: torch.Tensor, gamma: float, label_smoothing: float,
               loss_weights: torch.Tensor | None) -> torch.Tensor:
    """Label-smoothed cross-entropy whose term for each class is scaled by (1 - its probability)^gamma
    (Lin et al. 2017); class weights weight each image by its true class, averaged like cross-entropy's."""
    log_probabilities = logits.log_softmax(1)
    classes = logits.shape[1]
    smoothed = F.one_hot(targets, classes).float() * (1 - label_smoothing) + label_smoothing / classes
    focus = (1 - log_probabilities.exp()).pow(gamma)
    per_image = -(smoothed * focus * log_probabilities).sum(1)
    if loss_weights is None:
        return per_image.mean()
    image_weights = loss_weights[targets]
    return (per_image * image_weights).sum() / image_weights.sum()


def hard_label_loss(logits: torch.Tensor, targets: torch.Tensor, config: TrainConfig, loss_weights,
                    partners: torch.Tensor | None = None, share: float = 1.0) -> torch.Tensor:
    """Cross-entropy (focal if the recipe says so); for a mixup batch, the losses of both images' labels
    weighted by their shares."""
    def loss_against(labels):
        if config.focal_gamma:
            return focal_loss(logits.float(), labels, config.focal_gamma, config.label_smoothing, loss_weights)
        return F.cross_entropy(logits.float(), labels, weight=loss_weights, label_smoothing=config.label_smoothing)
    if partners is None:
        return loss_against(targets)
    return share * loss_against(targets) + (1 - share) * loss_against(targets[partners])


@torch.no_grad()
def teacher_probabilities(teachers: list[EmotionClassifier], inputs: torch.Tensor, temperature: float) -> torch.Tensor:
    """The ensemble's softened probabilities: each teacher's softmax(logits / T), averaged. Raw logits: a teacher's
    prior correction would bias the student's, which is fitted afresh after training."""
    return torch.stack([(teacher(inputs).float() / temperature).softmax(1) for teacher in teachers]).mean(0)


def distillation_loss(logits: torch.Tensor, soft_targets: torch.Tensor, temperature: float) -> torch.Tensor:
    """T²·KL(teachers ‖ student softened by T) (Hinton et al. 2015): the T² keeps its gradients as large as
    the hard-label loss's whatever the temperature."""
    log_student = (logits.float() / temperature).log_softmax(1)
    return temperature ** 2 * F.kl_div(log_student, soft_targets, reduction="batchmean")


def training_loss(logits: torch.Tensor, targets: torch.Tensor, config: TrainConfig, loss_weights,
                  partners: torch.Tensor | None = None, share: float = 1.0,
                  soft_targets: torch.Tensor | None = None) -> torch.Tensor:
    """The hard-label loss; with teachers' `soft_targets`, (1 − w)·that + w·the distillation loss."""
    hard = hard_label_loss(logits, targets, config, loss_weights, partners, share)
    if soft_targets is None:
        return hard
    weight = config.distill_weight
    return (1 - weight) * hard + weight * distillation_loss(logits, soft_targets, config.distill_temperature)


def sharpness_aware_gradients(model: torch.nn.Module, radius: float, loss_at_weights) -> None:
    """Sharpness-aware minimisation (Foret et al. 2021): replace the gradients `model` holds by those of
    `loss_at_weights()` at the point `radius` away from its weights along them, the nearby worst case, so that
    the optimizer's step seeks flat minima. The weights are put back as they were."""
    parameters = [parameter for parameter in model.parameters() if parameter.grad is not None]
    gradient_norm = torch.nn.utils.get_total_norm([parameter.grad for parameter in parameters])
    ascent = [parameter.grad * (radius / (gradient_norm + 1e-12)) for parameter in parameters]
    with torch.no_grad():
        for parameter, step in zip(parameters, ascent):
            parameter.add_(step)
    model.zero_grad(set_to_none=True)
    loss_at_weights().backward()
    with torch.no_grad():
        for parameter, step in zip(parameters, ascent):
            parameter.sub_(step)


def run_epoch(model, optimizer, split: Split, config: TrainConfig, epoch: int, loss_weights,
              compute: str, description: str, average: AveragedModel | None = None,
              teachers: list[EmotionClassifier] | None = None) -> dict:
    model.train()
    torch.manual_seed(config.seed * 10_000 + epoch)  # dropout: same numbers whether resumed or not
    generator = torch.Generator().manual_seed(config.seed * 10_000 + epoch)
    order = torch.randperm(len(split), generator=generator)
    steps_per_epoch = math.ceil(len(split) / config.batch_size)
    loss_sum, correct, seen = 0.0, 0, 0
    progress = tqdm(range(steps_per_epoch), desc=description, unit="batch", leave=False, dynamic_ncols=True)
    for step_in_epoch in progress:
        indices = order[step_in_epoch * config.batch_size:(step_in_epoch + 1) * config.batch_size]
        inputs = training_batch(split.images[indices], config, model, generator)
        targets = split.labels[indices]
        partners, share = None, 1.0
        if config.mixup:
            inputs, partners, share = mixup(inputs, config.mixup, generator)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, epoch * steps_per_epoch + step_in_epoch, steps_per_epoch)
        soft_targets = None
        if teachers:  # the very batch the student sees (mixed, if mixup is on): their targets fit it
            with precision.autocast(compute):
                soft_targets = teacher_probabilities(teachers, inputs, config.distill_temperature)

        def batch_loss():
            with precision.autocast(compute):
                logits = model(inputs)
            return logits, training_loss(logits, targets, config, loss_weights, partners, share, soft_targets)
        logits, loss = batch_loss()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.sam:
            sharpness_aware_gradients(model, config.sam, lambda: batch_loss()[1])
        optimizer.step()
        if average is not None:
            average.update_parameters(model)
        loss_sum += loss.item() * len(targets)
        correct += (logits.argmax(1) == targets).sum().item()
        seen += len(targets)
        progress.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}")
    return {"train_loss": loss_sum / seen, "train_accuracy": correct / seen,
            "lr": optimizer.param_groups[0]["lr"]}


def validate(model: EmotionClassifier, split: Split, compute: str) -> dict:
    """Centre crop in the training precision: model selection only (the final report uses the app's path)."""
    with precision.autocast(compute):
        probabilities = predict_probabilities(model, split.images, tta="none")
    loss = F.nll_loss(probabilities.clamp(min=1e-9).log(), split.labels).item()
    return {"val_loss": loss, "val_accuracy": (probabilities.argmax(1) == split.labels).float().mean().item()}


def save_best(model: EmotionClassifier, out_dir: Path) -> None:
    """config.json + model.safetensors for the best epoch, replaced atomically."""
    staging = out_dir / ".best.tmp"
    model.save_pretrained(staging)
    for name in ("config.json", "model.safetensors"):
        os.replace(staging / name, out_dir / name)
    for leftover in staging.iterdir():
        leftover.unlink()
    staging.rmdir()


def say(message: str) -> None:
    """Print above the progress bars, at once (logs may be files)."""
    tqdm.write(message)
    sys.stdout.flush()


def train(config: TrainConfig, data: FerData, out_dir: Path, resume: bool = False, command: str = "") -> dict:
    """Train, keeping the best validation epoch in `out_dir`; return the training state."""
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(os.cpu_count() or 1)
    compute = precision.resolve(config.precision)
    checkpoint_path = out_dir / CHECKPOINT_NAME
    resuming = resume and checkpoint_path.exists()
    model = build_model(config, data.label_names)
    if config.init_from and not resuming:
        start_from(model, config.init_from)
    teachers = load_teachers(config, model)
    optimizer = make_optimizer(model, config)
    average = weight_average(model, config)  # so an average starts from the initial weights too
    kept_model = average.module if average is not None else model  # validated, and saved when best
    state = {"config": asdict(config), "epochs_done": 0, "history": [], "best_epoch": None,
             "best_val_accuracy": -1.0, "train_seconds": 0.0, "precision": compute,
             "command": command, "dataset": data.source, "train_images": len(data.splits["train"])}
    if resuming:
        state = checkpoint.load(checkpoint_path, model, optimizer, average)
        state["config"] = {**asdict(TrainConfig()), **state["config"]}  # settings added since take their defaults
        if state["config"] != asdict(config):
            say(f"warning: resuming with settings that differ from the checkpoint's: {state['config']}")
        say(f"resuming after epoch {state['epochs_done']} of {total_epochs(config)} from {checkpoint_path}")
    elif resume:
        say(f"no checkpoint at {checkpoint_path}; starting from scratch")
    train_split, val_split = data.splits["train"], data.splits["validation"]
    loss_weights = class_weights(data.class_counts("train"), config.class_weights)
    restart_starts = {first_epoch for first_epoch, _, _ in cycles(config)[1:]}
    last_epoch = total_epochs(config)
    if teachers:
        say(f"distilling from {len(teachers)} teacher(s): {', '.join(config.teachers)} (weight "
            f"{config.distill_weight}, temperature {config.distill_temperature})")
    say(f"training {config.arch} on {len(train_split):,} images ({compute}, {torch.get_num_threads()} threads), "
        f"validating on {len(val_split):,}")
    epochs = tqdm(range(state["epochs_done"], last_epoch), initial=state["epochs_done"], total=last_epoch,
                  desc="epochs", unit="epoch", dynamic_ncols=True)
    for epoch in epochs:
        started = time.perf_counter()
        if epoch in restart_starts:
            model.load_state_dict(kept_model.state_dict())
            optimizer = make_optimizer(model, config)
            say(f"epoch {epoch + 1}: restarting from the kept weights at lr {config.restart_lr}")
        record = {"epoch": epoch + 1}
        record.update(run_epoch(model, optimizer, train_split, config, epoch, loss_weights, compute,
                                f"epoch {epoch + 1}/{last_epoch}", average, teachers))
        if average is not None:
            refresh_batch_norm(kept_model, train_split, config, compute)
            record["raw_val_accuracy"] = validate(model, val_split, compute)["val_accuracy"]
        record.update(validate(kept_model, val_split, compute))
        record["seconds"] = time.perf_counter() - started
        state["history"].append(record)
        state["epochs_done"] = epoch + 1
        state["train_seconds"] += record["seconds"]
        if record["val_accuracy"] > state["best_val_accuracy"]:
            state["best_val_accuracy"], state["best_epoch"] = record["val_accuracy"], epoch + 1
            save_best(kept_model, out_dir)
        checkpoint.save(checkpoint_path, model, optimizer, state, average)
        epochs.set_postfix(val_acc=f"{record['val_accuracy']:.4f}", best=f"{state['best_val_accuracy']:.4f}")
        say(f"epoch {epoch + 1}: train loss {record['train_loss']:.3f} acc {record['train_accuracy']:.3f} | "
            f"val loss {record['val_loss']:.3f} acc {record['val_accuracy']:.4f} | {record['seconds']:.0f} s")
    return state
