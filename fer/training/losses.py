"""What a training step minimises: (focal) cross-entropy with class weights, mixup's blend and distillation."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fer.model.classifier import EmotionClassifier
from fer.training.recipes import TrainConfig

CLASS_WEIGHTINGS = ("none", "balanced", "sqrt")

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


def as_distribution(targets: torch.Tensor, classes: int) -> torch.Tensor:
    """Class indices as one-hot rows; soft targets (rows of class shares) as they are."""
    return targets.float() if targets.is_floating_point() else F.one_hot(targets, classes).float()


def focal_loss(logits: torch.Tensor, targets: torch.Tensor, gamma: float, label_smoothing: float,
               loss_weights: torch.Tensor | None) -> torch.Tensor:
    """Label-smoothed cross-entropy whose term for each class is scaled by (1 - its probability)^gamma
    (Lin et al. 2017); class weights weight each image by its true class (soft targets: by their shares of the
    classes), averaged like cross-entropy's."""
    log_probabilities = logits.log_softmax(1)
    classes = logits.shape[1]
    distribution = as_distribution(targets, classes)
    smoothed = distribution * (1 - label_smoothing) + label_smoothing / classes
    focus = (1 - log_probabilities.exp()).pow(gamma)
    per_image = -(smoothed * focus * log_probabilities).sum(1)
    if loss_weights is None:
        return per_image.mean()
    image_weights = distribution @ loss_weights
    return (per_image * image_weights).sum() / image_weights.sum()


def hard_label_loss(logits: torch.Tensor, targets: torch.Tensor, config: TrainConfig, loss_weights,
                    partner_targets: torch.Tensor | None = None, share: float = 1.0) -> torch.Tensor:
    """Cross-entropy (focal if the recipe says so) against class indices or soft targets; for a mixup batch, the losses of both images' labels
    weighted by their shares."""
    def loss_against(labels):
        if config.focal_gamma:
            return focal_loss(logits.float(), labels, config.focal_gamma, config.label_smoothing, loss_weights)
        return F.cross_entropy(logits.float(), labels, weight=loss_weights, label_smoothing=config.label_smoothing)
    if partner_targets is None:
        return loss_against(targets)
    return share * loss_against(targets) + (1 - share) * loss_against(partner_targets)


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
                  partner_targets: torch.Tensor | None = None, share: float = 1.0,
                  soft_targets: torch.Tensor | None = None) -> torch.Tensor:
    """The hard-label loss; with teachers' `soft_targets`, (1 − w)·that + w·the distillation loss."""
    hard = hard_label_loss(logits, targets, config, loss_weights, partner_targets, share)
    if soft_targets is None:
        return hard
    weight = config.distill_weight
    return (1 - weight) * hard + weight * distillation_loss(logits, soft_targets, config.distill_temperature)
