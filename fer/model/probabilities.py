"""Model outputs to class probabilities, with the test-time augmentation the app uses.

Evaluation and the app both call `predict_probabilities`, so reported accuracy is the
accuracy of what visitors see.
"""

import numpy as np
import torch
from torchvision.transforms.v2 import functional as TF

from fer.face_path.tensors import normalize
from fer.model.classifier import EmotionClassifier

TTA_MODES = ("none", "flip", "tencrop")
DEFAULT_TTA = "flip"


def tta_views(gray_images: torch.Tensor, crop_size: int, tta: str) -> list[torch.Tensor]:
    """The crops of a uint8 N×48×48 batch that are averaged for one prediction."""
    if tta not in TTA_MODES:
        raise ValueError(f"tta must be one of {TTA_MODES}, not {tta!r}")
    if tta == "tencrop":
        return list(TF.ten_crop(gray_images, [crop_size, crop_size]))
    center = TF.center_crop(gray_images, [crop_size, crop_size])
    return [center, center.flip(-1)] if tta == "flip" else [center]


@torch.inference_mode()
def view_probabilities(model: EmotionClassifier, views: list[torch.Tensor]) -> torch.Tensor:
    """Softmax of every view, V×N×C."""
    return torch.stack([model(normalize(view, model.mean, model.std)).float().softmax(-1) for view in views])


def predict_probabilities(model: EmotionClassifier, gray_images: torch.Tensor, tta: str = DEFAULT_TTA,
                          batch_size: int = 256) -> torch.Tensor:
    """uint8 N×48×48 faces → N×C class probabilities (rows sum to 1, prior correction applied), in fp32."""
    return corrected(uncorrected_probabilities(model, gray_images, tta, batch_size), model.prior_correction)


def face_probabilities(model: EmotionClassifier, crops_per_face: list[list[np.ndarray]],
                       tta: str = DEFAULT_TTA) -> torch.Tensor:
    """Each face's class probabilities averaged over its 48×48 crops (`fer.face_path.faces.face_crops`), F×C, with
    the prior correction applied once to the average, as `predict_probabilities` does for TTA views."""
    counts = torch.tensor([len(crops) for crops in crops_per_face])
    if not len(counts):
        return torch.empty(0, len(model.labels))
    every_crop = torch.from_numpy(np.stack([crop for crops in crops_per_face for crop in crops]))
    sums = torch.zeros(len(counts), len(model.labels)).index_add_(
        0, torch.arange(len(counts)).repeat_interleave(counts), uncorrected_probabilities(model, every_crop, tta))
    return corrected(sums / counts[:, None], model.prior_correction)


@torch.inference_mode()
def uncorrected_probabilities(model: EmotionClassifier, gray_images: torch.Tensor, tta: str = DEFAULT_TTA,
                              batch_size: int = 256) -> torch.Tensor:
    """The model's softmax averaged over the TTA views of each face, without the prior correction."""
    model.eval()
    chunks = []
    for start in range(0, len(gray_images), batch_size):
        views = tta_views(gray_images[start:start + batch_size], model.input_size, tta)
        chunks.append(view_probabilities(model, views).mean(0))
    return torch.cat(chunks) if chunks else torch.empty(0, len(model.labels))


def corrected(probabilities: torch.Tensor, prior_correction: list[float] | None) -> torch.Tensor:
    """Probabilities times the per-class multipliers, renormalised (unchanged without multipliers)."""
    if prior_correction is None:
        return probabilities
    scaled = probabilities * torch.tensor(prior_correction, dtype=probabilities.dtype, device=probabilities.device)
    return scaled / scaled.sum(-1, keepdim=True)
