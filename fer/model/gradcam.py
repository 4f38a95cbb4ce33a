"""Grad-CAM: which parts of the face drove the predicted class (Selvaraju et al., 2017).

The gradient of the class score with respect to the last convolutional feature maps, averaged
per channel, weights those maps; their positive sum, upsampled, is the heat map.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import colormaps
from PIL import Image
from torch import nn
from torchvision.transforms.v2 import functional as TF

from fer.face_path.tensors import normalize
from fer.model.classifier import EmotionClassifier

DISPLAY_SIZE = 192


def last_feature_layer(net: nn.Module) -> nn.Module:
    """The last ReLU of a network's convolutional part (a layer of it, or a residual block's output): the finest
    maps that still see the whole face."""
    parts = [part for layer in net.features for part in (layer, *layer.children())]
    return [part for part in parts if isinstance(part, nn.ReLU)][-1]


def heat_map(model: EmotionClassifier, face: np.ndarray, class_index: int) -> np.ndarray:
    """Grad-CAM in [0, 1] at the model's input size for one 48×48 uint8 face; for an average of networks, the
    mean of their maps (each from the gradient of the averaged output)."""
    captured = []

    def keep(module, inputs, output):
        output.retain_grad()
        captured.append(output)

    handles = [last_feature_layer(net).register_forward_hook(keep) for net in model.networks()]
    try:
        model.eval()
        crop = TF.center_crop(torch.from_numpy(face)[None], [model.input_size, model.input_size])
        with torch.enable_grad():
            batch = normalize(crop, model.mean, model.std).requires_grad_(True)
            model(batch)[0, class_index].backward()
    finally:
        for handle in handles:
            handle.remove()
    cam = sum(class_activation(maps.detach(), maps.grad, model.input_size) for maps in captured)
    return (cam / cam.max()).numpy() if cam.max() > 0 else cam.numpy()


def class_activation(maps: torch.Tensor, gradients: torch.Tensor, size: int) -> torch.Tensor:
    """The positive, gradient-weighted sum of one network's feature maps, upsampled to size × size."""
    cam = F.relu((gradients.mean(dim=(2, 3), keepdim=True) * maps).sum(1, keepdim=True))
    return F.interpolate(cam, size=(size, size), mode="bilinear", align_corners=False)[0, 0]


def overlay(model: EmotionClassifier, face: np.ndarray, class_index: int, alpha: float = 0.45) -> Image.Image:
    """The face the model saw, with the Grad-CAM heat map laid over it, enlarged for display."""
    cam = heat_map(model, face, class_index)
    offset = (face.shape[0] - model.input_size) // 2
    gray = face[offset:offset + model.input_size, offset:offset + model.input_size].astype(np.float32) / 255
    coloured = colormaps["jet"](cam)[..., :3]
    blended = (1 - alpha) * gray[..., None] + alpha * coloured
    picture = Image.fromarray((blended * 255).astype(np.uint8))
    return picture.resize((DISPLAY_SIZE, DISPLAY_SIZE), Image.Resampling.BICUBIC)
