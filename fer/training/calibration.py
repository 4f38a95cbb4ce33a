"""Prior matching: after training, rescale the class probabilities so that the model predicts each
emotion about as often as it occurs in the training labels.

A network trained on FER-2013 predicts the confusable classes too rarely on images it has not seen:
the bundled model called 11 % of the validation faces `fear` against 14 % fear in the training
labels, so fear recall stayed below 0.50 although fear precision was 0.59. One multiplier per
class, fitted on the model's predictions for the validation images (their labels are not used),
moves those borderline faces back without retraining. The app, `fer.training.evaluate` and `train.py`'s
report all predict through the multipliers (`fer.model.probabilities.corrected`).
"""

import math

import torch

from fer.model.classifier import EmotionClassifier
from fer.model.probabilities import DEFAULT_TTA, uncorrected_probabilities
from fer.training.dataset import FerData

MATCHING_STEPS = 300
STEP_SIZE = 0.2  # each step closes a fifth of the log-gap; argmax shares are step functions, so small steps settle
# A class the model never ranks first (a barely trained net) would push its multiplier to infinity.
MAX_LOG_WEIGHT = math.log(30.0)


def prior_matching_weights(probabilities: torch.Tensor, class_counts: list[int]) -> list[float]:
    """Per-class multipliers after which the argmax shares of `probabilities` (N×C) match the
    shares of `class_counts`; geometric mean 1, so 1.2 reads as "20 % more of this class"."""
    counts = torch.tensor(class_counts, dtype=torch.float64)
    target_shares = (counts + 1) / (counts.sum() + len(counts))  # +1: a class absent from training keeps a share
    log_probabilities = probabilities.double().log()
    log_weights = torch.zeros(len(counts), dtype=torch.float64)
    for _ in range(MATCHING_STEPS):
        predicted = (log_probabilities + log_weights).argmax(1)
        predicted_shares = torch.bincount(predicted, minlength=len(counts)) / max(1, len(probabilities))
        log_weights += STEP_SIZE * (target_shares.log() - predicted_shares.clamp(min=1e-4).log())
        log_weights.clamp_(-MAX_LOG_WEIGHT, MAX_LOG_WEIGHT)
    return (log_weights - log_weights.mean()).exp().tolist()


def training_class_counts(data: FerData, labels: list[str]) -> list[int]:
    """How many training images each of `labels` has, in that order (0 for a class the data lacks)."""
    counts = dict(zip(data.label_names, data.class_counts("train")))
    return [counts.get(name, 0) for name in labels]


def match_class_prior(model: EmotionClassifier, data: FerData,
                      tta: str = DEFAULT_TTA) -> tuple[EmotionClassifier, torch.Tensor]:
    """The model with multipliers fitted on the validation images (not their labels), and its
    uncorrected probabilities for those images."""
    probabilities = uncorrected_probabilities(model, data.splits["validation"].images, tta=tta)
    weights = prior_matching_weights(probabilities, training_class_counts(data, model.labels))
    return model.with_prior_correction([round(weight, 4) for weight in weights]), probabilities
