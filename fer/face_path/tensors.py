"""Pictures to model inputs: 48×48 grayscale uint8 arrays, then normalised float batches.

Training data and the app's face crops both pass through `to_gray_array`, so the model sees
the same kind of pixels in both.
"""

import numpy as np
import torch
from PIL import Image

IMAGE_SIZE = 48
# Lanczos keeps the fine detail the model relies on: the app's former bilinear filter (reducing_gap 2)
# cost 2–3 points on upscaled validation faces (benchmarks/pipeline_fidelity.py, docs/face_path.md).
DOWNSAMPLING = Image.Resampling.LANCZOS
HIGH_BIT_DEPTH_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def to_gray_array(image: Image.Image) -> np.ndarray:
    """Any PIL image (any mode, any size) as a 48×48 uint8 grayscale array."""
    image = _to_8bit_gray(image)
    if image.size != (IMAGE_SIZE, IMAGE_SIZE):
        image = image.resize((IMAGE_SIZE, IMAGE_SIZE), DOWNSAMPLING)
    return np.array(image, dtype=np.uint8)


def _to_8bit_gray(image: Image.Image) -> Image.Image:
    return image if image.mode == "L" else to_8bit_opaque(image).convert("L")


def to_8bit_opaque(image: Image.Image) -> Image.Image:
    """16-bit and float pictures rescaled to 8 bits; transparent ones flattened onto white."""
    if image.mode in HIGH_BIT_DEPTH_MODES:
        # PIL's convert("L") clips 16-bit values at 255 (a white picture); rescale the range instead.
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
        return Image.fromarray(np.clip(values / top * 255.0, 0, 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image.convert("RGBA"))
    return image


def normalize(images: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """uint8 N×H×W (or N×1×H×W) to a float N×1×H×W batch in channels_last layout."""
    if images.dim() == 3:
        images = images.unsqueeze(1)
    batch = (images.float() / 255.0 - mean) / std
    return batch.contiguous(memory_format=torch.channels_last)
