"""Training-time augmentation of a whole uint8 batch at once, on the batch's device (random numbers are drawn on
the CPU from the epoch's generator, so a run draws the same ones on any device).

One random affine per image (crop position, scale, small rotation, horizontal flip) applied by a
single `grid_sample` call: per-image torchvision transforms would cost more CPU than the network
itself on 2 cores, while this costs about 1 % of a training step.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

from fer.face_path.tensors import IMAGE_SIZE


def uniform_sampler(n: int, generator: torch.Generator):
    """`uniform(low, high)`: n numbers drawn uniformly from [low, high), one per image of a batch."""
    return lambda low, high: low + (high - low) * torch.rand(n, generator=generator)


def random_affine_crops(images: torch.Tensor, out_size: int, generator: torch.Generator,
                        max_rotation_deg: float = 12.0, scale_range=(0.9, 1.1)) -> torch.Tensor:
    """uint8 N×48×48 → float N×1×out×out in [0, 255], each image randomly transformed."""
    n = images.shape[0]
    uniform = uniform_sampler(n, generator)
    angle = uniform(-max_rotation_deg, max_rotation_deg) * math.pi / 180
    zoom = (out_size / IMAGE_SIZE) / uniform(*scale_range)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    slack = (1 - zoom).clamp(min=0)
    shift_x, shift_y = uniform(-1, 1) * slack, uniform(-1, 1) * slack
    cos, sin = torch.cos(angle) * zoom, torch.sin(angle) * zoom
    theta = torch.stack([torch.stack([cos * flip, -sin, shift_x], 1),
                         torch.stack([sin * flip, cos, shift_y], 1)], 1).to(images.device)
    grid = F.affine_grid(theta, [n, 1, out_size, out_size], align_corners=False)
    return F.grid_sample(images.unsqueeze(1).float(), grid, mode="bilinear",
                         padding_mode="border", align_corners=False)


def random_erasing(pixels: torch.Tensor, probability: float, generator: torch.Generator,
                   area_range=(0.02, 0.2), aspect_range=(0.3, 3.3)) -> torch.Tensor:
    """Random erasing (Zhong et al. 2017) on a float N×1×H×W batch: with `probability`, one
    rectangle per image is replaced by uniform noise, so no single facial region can be relied on."""
    n, _, height, width = pixels.shape
    uniform = uniform_sampler(n, generator)
    area = uniform(*area_range) * height * width
    aspect = uniform(math.log(aspect_range[0]), math.log(aspect_range[1])).exp()
    box_h, box_w = (area * aspect).sqrt().clamp(max=height), (area / aspect).sqrt().clamp(max=width)
    top, left = uniform(0, 1) * (height - box_h), uniform(0, 1) * (width - box_w)
    rows = torch.arange(height).view(1, -1, 1)
    cols = torch.arange(width).view(1, 1, -1)
    inside = ((rows >= top.view(-1, 1, 1)) & (rows < (top + box_h).view(-1, 1, 1))
              & (cols >= left.view(-1, 1, 1)) & (cols < (left + box_w).view(-1, 1, 1)))
    erased = inside & (torch.rand(n, generator=generator) < probability).view(-1, 1, 1)
    noise = 255 * torch.rand(pixels.shape, generator=generator)
    return torch.where(erased.unsqueeze(1).to(pixels.device), noise.to(pixels.device), pixels)


def mixup(pixels: torch.Tensor, alpha: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Mixup (Zhang et al. 2018): every image of the batch blended with another one of it.

    Returns the blended batch, each image's partner (an index into the batch) and the share of the
    image itself, drawn from Beta(alpha, alpha) and folded to ≥ 0.5 so its own label stays the larger part."""
    # torch's Beta sampler takes no generator; seeding numpy's from ours keeps a resumed run exact
    beta_seed = int(torch.randint(2**31, (1,), generator=generator))
    share = float(np.random.default_rng(beta_seed).beta(alpha, alpha))
    share = max(share, 1 - share)
    partners = torch.randperm(pixels.shape[0], generator=generator)
    return share * pixels + (1 - share) * pixels[partners], partners, share


RESAMPLING_MODES = ("nearest", "bilinear", "bicubic")


def capture_artefacts(images: torch.Tensor, probability: float, generator: torch.Generator) -> torch.Tensor:
    """What becoming a photo and going through the app's face path does to a face, on a random share
    (`probability`) of a uint8 N×48×48 batch: resampled through another size with random filters (a
    visitor's face reaches 48×48 from anywhere between ~30 and ~150 pixels), then mildly blurred or
    JPEG-compressed. One size, filter pair, blur and quality per batch: cheap, and varied over the steps."""
    chosen = torch.nonzero(torch.rand(len(images), generator=generator) < probability).flatten()
    if len(chosen) == 0:
        return images
    uniform = uniform_sampler(1, generator)
    pick = lambda options: options[int(torch.randint(len(options), (1,), generator=generator))]  # noqa: E731
    faces = images[chosen].unsqueeze(1).float()
    other_size = round(IMAGE_SIZE * float(uniform(0.6, 3.0)))
    faces = F.interpolate(faces, size=other_size, mode=pick(RESAMPLING_MODES), antialias=False)
    faces = F.interpolate(faces, size=IMAGE_SIZE, mode=pick(RESAMPLING_MODES[1:]), antialias=True)
    if float(uniform(0, 1)) < 0.5:
        sigma = float(uniform(0.3, 1.0))
        faces = TF.gaussian_blur(faces, [5, 5], [sigma, sigma])
        faces = faces.clamp(0, 255).round().to(torch.uint8)
    else:
        quality = round(float(uniform(30, 95)))  # JPEG coding on the CPU: torchvision's GPU coder is not everywhere
        faces = TF.jpeg(faces.clamp(0, 255).round().to(torch.uint8).cpu(), quality).to(images.device)
    degraded = images.clone()
    degraded[chosen] = faces.squeeze(1)
    return degraded
