"""The training loop: one epoch at a time, a checkpoint after each.

A run can be killed at any moment: `train(..., resume=True)` continues after the last finished
epoch and, because every epoch seeds its own random numbers, ends where an uninterrupted run
with the same seed would.
"""

from __future__ import annotations

import copy
import math
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn, update_bn
from torchvision.transforms.v2 import functional as TF
from tqdm.auto import tqdm

from fer.face_path.tensors import normalize
from fer.model.classifier import (FER2013_LABELS_SOURCE, FERPLUS_VOTES_SOURCE, EmotionClassifier, ModelLoadError,
                                  load_classifier)
from fer.model.probabilities import predict_probabilities
from fer.training import checkpoint, precision
from fer.training.augment import capture_artefacts, mixup, random_affine_crops, random_erasing
from fer.training.dataset import FerData, Split
from fer.training.hardware import Hardware, start
from fer.training.losses import class_weights, teacher_probabilities, training_loss
from fer.training.recipes import TARGET_MODES, TrainConfig
from fer.training.votes import judged_by_plurality, model_labels, with_vote_targets
from fer.training.schedule import cycles, learning_rate, total_epochs

CHECKPOINT_NAME = "checkpoint.safetensors"

BATCH_NORM_IMAGES = 8192  # about this many training images re-estimate the weight average's batch-norm statistics

def build_model(config: TrainConfig, labels: list[str]) -> EmotionClassifier:
    torch.manual_seed(config.seed)
    model = EmotionClassifier(arch=config.arch, labels=labels, input_size=config.input_size,
                              width=config.width, dropout=config.dropout, weights_dtype=config.weights_dtype,
                              trained_on=FER2013_LABELS_SOURCE if config.targets == "labels" else FERPLUS_VOTES_SOURCE)
    return model.to(memory_format=torch.channels_last)


SHAPE_SETTINGS = ("arch", "width", "input_size")


def shaped_like(config: TrainConfig, source: str, given: set[str]) -> TrainConfig:
    """`config` building the network of the model at `source` (for --init-from): its arch, width and input
    size, unless the user gave one of them, which must then agree with the model."""
    trained = load_classifier(source)
    if trained.members > 1:
        raise ModelLoadError(f"{source} averages {trained.members} networks: fine-tune one of them instead")
    shape = {name: getattr(trained, name) for name in SHAPE_SETTINGS}
    clashes = [f"--{name.replace('_', '-')} {getattr(config, name)}" for name in SHAPE_SETTINGS
               if name in given and getattr(config, name) != shape[name]]
    if clashes:
        raise ModelLoadError(f"{source} is a {trained.arch} of width {trained.width} taking {trained.input_size}×"
                             f"{trained.input_size} crops, but you asked for {' and '.join(clashes)}: "
                             "leave those flags out to fine-tune it as it is")
    return replace(config, **shape)


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
    """The frozen teachers on the student's device, checked to predict its classes from the same input."""
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
    device = next(student.parameters()).device
    return [teacher.requires_grad_(False).to(device, memory_format=torch.channels_last) for teacher in teachers]


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
    with precision.autocast(compute, images.device):
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


def batch_targets(split: Split, indices: torch.Tensor, config: TrainConfig, generator: torch.Generator):
    """The batch's class indices (FER-2013 labels, or one drawn from each face's votes in `probability` mode) or
    its rows of soft targets (the other vote modes)."""
    if split.targets is None:
        return split.labels[indices]
    if config.targets == "probability":
        return torch.multinomial(split.targets[indices].cpu(), 1, generator=generator).squeeze(1).to(indices.device)
    return split.targets[indices]


def hard(targets: torch.Tensor) -> torch.Tensor:
    """Class indices of a batch's targets, soft ones by their largest share."""
    return targets.argmax(1) if targets.is_floating_point() else targets


def my_share_of_batch(split: Split, indices: torch.Tensor, config: TrainConfig, model: EmotionClassifier,
                      generator: torch.Generator, hardware: Hardware):
    """The batch drawn and augmented (and mixed) whole, as one process would, then cut to this process's share:
    its inputs, targets, the targets of the images mixed into them (or None) and the mix's share."""
    inputs = training_batch(split.images[indices], config, model, generator)
    targets = batch_targets(split, indices, config, generator)
    partner_targets, share = None, 1.0
    if config.mixup:
        inputs, partners, share = mixup(inputs, config.mixup, generator)
        partner_targets = targets[partners]
    mine = hardware.share(len(targets))
    return inputs[mine], targets[mine], None if partner_targets is None else partner_targets[mine], share


def run_epoch(model, optimizer, split: Split, config: TrainConfig, epoch: int, loss_weights,
              compute: str, description: str, average: AveragedModel | None = None,
              teachers: list[EmotionClassifier] | None = None, hardware: Hardware | None = None,
              scaler: torch.amp.GradScaler | None = None) -> dict:
    """One epoch over `split` (on the model's device); `model` is DDP-wrapped when several processes train."""
    hardware = hardware or Hardware(torch.device("cpu"))
    scaler = scaler or torch.amp.GradScaler(hardware.device.type, enabled=False)
    network = model.module if isinstance(model, DistributedDataParallel) else model
    model.train()
    torch.manual_seed(config.seed * 10_000 + epoch)  # dropout: same numbers whether resumed or not
    generator = torch.Generator().manual_seed(config.seed * 10_000 + epoch)
    order = torch.randperm(len(split), generator=generator)
    steps_per_epoch = math.ceil(len(split) / config.batch_size)
    totals = torch.zeros(3, dtype=torch.float64)  # loss sum, correct, seen: over every process's share
    progress = tqdm(range(steps_per_epoch), desc=description, unit="batch", leave=False, dynamic_ncols=True,
                    disable=not hardware.is_main)
    for step_in_epoch in progress:
        indices = order[step_in_epoch * config.batch_size:(step_in_epoch + 1) * config.batch_size]
        inputs, targets, partner_targets, share = my_share_of_batch(split, indices, config, network, generator,
                                                                    hardware)
        # DDP averages the processes' gradients: weighting each share by its size makes that the batch's mean
        share_weight = len(targets) * hardware.world_size / len(indices) if hardware.world_size > 1 else 1.0
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, epoch * steps_per_epoch + step_in_epoch, steps_per_epoch)
        soft_targets = None
        if teachers:  # the very batch the student sees (mixed, if mixup is on): their targets fit it
            with precision.autocast(compute, hardware.device):
                soft_targets = teacher_probabilities(teachers, inputs, config.distill_temperature)

        def batch_loss():
            with precision.autocast(compute, hardware.device):
                logits = model(inputs)
            loss = training_loss(logits, targets, config, loss_weights, partner_targets, share, soft_targets)
            return logits, loss
        logits, loss = batch_loss()
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss * share_weight).backward()
        if config.sam:
            sharpness_aware_gradients(model, config.sam, lambda: scaler.scale(batch_loss()[1] * share_weight))
        scaler.step(optimizer)
        scaler.update()
        if average is not None:
            average.update_parameters(network)
        totals += torch.tensor([loss.item() * len(targets), (logits.argmax(1) == hard(targets)).sum().item(),
                                len(targets)],
                               dtype=torch.float64)
        progress.set_postfix(loss=f"{totals[0] / totals[2]:.3f}", acc=f"{totals[1] / totals[2]:.3f}")
    loss_sum, correct, seen = hardware.sum(totals).tolist()
    return {"train_loss": loss_sum / seen, "train_accuracy": correct / seen,
            "lr": optimizer.param_groups[0]["lr"]}


def fitted_splits(data: FerData, config: TrainConfig, labels: list[str]) -> tuple[Split, Split]:
    """The training split with what it fits (its labels, or its faces with vote targets), and the validation split
    judged as the run's targets ask: by FER-2013's labels or by the plurality of FER+'s votes."""
    if config.targets not in TARGET_MODES:
        raise ValueError(f"targets must be one of {TARGET_MODES}, not {config.targets!r}")
    train_split, val_split = data.splits["train"], data.splits["validation"]
    if config.targets == "labels":
        return train_split, val_split
    return (with_vote_targets(train_split, labels, config.targets, config.label_blend),
            judged_by_plurality(val_split, labels))


def class_counts(split: Split, classes: int) -> list[int]:
    """How many faces of the split each class has: by label, or by the largest share of their targets."""
    return torch.bincount(hard(split.targets if split.targets is not None else split.labels).cpu(),
                          minlength=classes).tolist()


def validate(model: EmotionClassifier, split: Split, compute: str) -> dict:
    """Centre crop in the training precision: model selection only (the final report uses the app's path)."""
    with precision.autocast(compute, split.images.device):
        probabilities = predict_probabilities(model, split.images, tta="none")
    loss = F.nll_loss(probabilities.clamp(min=1e-9).log(), split.labels).item()
    return {"val_loss": loss, "val_accuracy": (probabilities.argmax(1) == split.labels).float().mean().item()}


def save_best(model: EmotionClassifier, out_dir: Path) -> None:
    """config.json + model.safetensors for the best epoch, replaced atomically; always CPU tensors, so the
    folder loads anywhere."""
    if any(parameter.device.type != "cpu" for parameter in model.parameters()):
        model = copy.deepcopy(model).cpu()
    staging = out_dir / ".best.tmp"
    model.save_pretrained(staging)
    for name in ("config.json", "model.safetensors"):
        os.replace(staging / name, out_dir / name)
    for leftover in staging.iterdir():
        leftover.unlink()
    staging.rmdir()


def say(message: str) -> None:
    """Print above the progress bars, at once (logs may be files); of several processes, only the first."""
    if dist.is_initialized() and dist.get_rank() != 0:
        return
    tqdm.write(message)
    sys.stdout.flush()


def cpu_threads() -> int:
    """This process's share of the cores (torchrun starts LOCAL_WORLD_SIZE processes on each machine)."""
    return max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def train(config: TrainConfig, data: FerData, out_dir: Path, resume: bool = False, command: str = "") -> dict:
    """Train, keeping the best validation epoch in `out_dir`; return the training state. Under torchrun, every
    process trains its share and only the first writes files."""
    hardware = start(config.device)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cpu_threads())
    compute = precision.resolve(config.precision, hardware.device)
    checkpoint_path = out_dir / CHECKPOINT_NAME
    resuming = resume and checkpoint_path.exists()
    labels = model_labels(data.label_names, config.contempt)
    train_split, val_split = (split.to(hardware.device) for split in fitted_splits(data, config, labels))
    model = hardware.sync_batch_norm(build_model(config, labels)).to(hardware.device)
    if config.init_from and not resuming:
        start_from(model, config.init_from)
    teachers = load_teachers(config, model)
    optimizer = make_optimizer(model, config)
    scaler = precision.gradient_scaler(compute, hardware.device)
    average = weight_average(model, config)  # so an average starts from the initial weights too
    kept_model = average.module if average is not None else model  # validated, and saved when best
    state = {"config": asdict(config), "epochs_done": 0, "history": [], "best_epoch": None,
             "best_val_accuracy": -1.0, "train_seconds": 0.0, "precision": compute,
             "command": command, "dataset": data.source, "train_images": len(train_split)}
    if resuming:
        state = checkpoint.load(checkpoint_path, model, optimizer, average)
        if "gradient_scaler" in state:
            scaler.load_state_dict(state["gradient_scaler"])
        state["config"] = {**asdict(TrainConfig()), **state["config"]}  # settings added since take their defaults
        if state["config"] != asdict(config):
            say(f"warning: resuming with settings that differ from the checkpoint's: {state['config']}")
        say(f"resuming after epoch {state['epochs_done']} of {total_epochs(config)} from {checkpoint_path}")
    elif resume:
        say(f"no checkpoint at {checkpoint_path}; starting from scratch")
    state["hardware"] = {"device": hardware.device.type, "processes": hardware.world_size}
    loss_weights = class_weights(class_counts(train_split, len(labels)), config.class_weights)
    if loss_weights is not None:
        loss_weights = loss_weights.to(hardware.device)
    restart_starts = {first_epoch for first_epoch, _, _ in cycles(config)[1:]}
    last_epoch = total_epochs(config)
    trained = hardware.wrap(model)
    if teachers:
        say(f"distilling from {len(teachers)} teacher(s): {', '.join(config.teachers)} (weight "
            f"{config.distill_weight}, temperature {config.distill_temperature})")
    say(f"training {config.arch} on {len(train_split):,} images ({hardware.device.type}, {compute}, "
        f"{hardware.world_size} process(es) of {torch.get_num_threads()} threads), validating on {len(val_split):,}")
    epochs = tqdm(range(state["epochs_done"], last_epoch), initial=state["epochs_done"], total=last_epoch,
                  desc="epochs", unit="epoch", dynamic_ncols=True, disable=not hardware.is_main)
    for epoch in epochs:
        started = time.perf_counter()
        if epoch in restart_starts:
            model.load_state_dict(kept_model.state_dict())
            optimizer = make_optimizer(model, config)
            say(f"epoch {epoch + 1}: restarting from the kept weights at lr {config.restart_lr}")
        record = {"epoch": epoch + 1}
        record.update(run_epoch(trained, optimizer, train_split, config, epoch, loss_weights, compute,
                                f"epoch {epoch + 1}/{last_epoch}", average, teachers, hardware, scaler))
        hardware.broadcast_buffers(model)
        if average is not None:
            refresh_batch_norm(kept_model, train_split, config, compute)
            hardware.broadcast_buffers(kept_model)
            record["raw_val_accuracy"] = validate(model, val_split, compute)["val_accuracy"]
        record.update(validate(kept_model, val_split, compute))
        record["seconds"] = time.perf_counter() - started
        state["history"].append(record)
        state["epochs_done"] = epoch + 1
        state["train_seconds"] += record["seconds"]
        if scaler.is_enabled():
            state["gradient_scaler"] = scaler.state_dict()
        if record["val_accuracy"] > state["best_val_accuracy"]:
            state["best_val_accuracy"], state["best_epoch"] = record["val_accuracy"], epoch + 1
            if hardware.is_main:
                save_best(kept_model, out_dir)
        if hardware.is_main:
            checkpoint.save(checkpoint_path, model, optimizer, state, average)
        epochs.set_postfix(val_acc=f"{record['val_accuracy']:.4f}", best=f"{state['best_val_accuracy']:.4f}")
        say(f"epoch {epoch + 1}: train loss {record['train_loss']:.3f} acc {record['train_accuracy']:.3f} | "
            f"val loss {record['val_loss']:.3f} acc {record['val_accuracy']:.4f} | {record['seconds']:.0f} s")
    hardware.barrier()  # the last checkpoint and best model are on disk before any process goes on
    return state
