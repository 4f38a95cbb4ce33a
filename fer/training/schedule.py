"""The learning-rate schedule: a main one-cycle and optional restarts, a pure function of the step."""

from __future__ import annotations

import math

from fer.training.recipes import TrainConfig


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
