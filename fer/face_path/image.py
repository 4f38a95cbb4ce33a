"""Whatever a visitor uploads, as an upright RGB picture, or one clear `ImageError`.

Handles empty and truncated files, non-images, decompression bombs, 16-bit and CMYK pictures,
transparency, animations (first frame), phone photos rotated by EXIF, and iPhones' HEIC/HEIF (pillow-heif).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from fer.face_path.tensors import to_8bit_opaque

register_heif_opener()  # Pillow alone cannot read HEIC/HEIF, the default photo format of iPhones

MAX_PIXELS = 40_000_000  # 40 MP: every phone photo fits; a 20000×20000 "bomb" does not
MIN_SIDE = 16


class ImageError(ValueError):
    """An upload that cannot be used; the message is shown to the visitor as is."""


def open_image(source: str | Path | bytes | Image.Image | np.ndarray) -> Image.Image:
    """A path, raw bytes, PIL image or array → an RGB PIL image, upright, fully decoded."""
    if isinstance(source, np.ndarray):
        source = _array_to_image(source)
    if isinstance(source, Image.Image):
        return _normalise(source)
    if isinstance(source, (bytes, bytearray)):
        if not source:
            raise ImageError("The file is empty (0 bytes).")
        return _decode(io.BytesIO(source), "upload")
    path = Path(source)
    if not path.is_file():
        raise ImageError(f"No such file: {path.name}")
    if path.stat().st_size == 0:
        raise ImageError(f"{path.name} is empty (0 bytes).")
    return _decode(path, path.name)


def _decode(file, name: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                _check_size(image.size, name)
                image.seek(0)  # animated GIF/WebP/PNG: the first frame
                image.load()
                return _normalise(image)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{name} is too large to process (over {MAX_PIXELS // 1_000_000} megapixels).") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name} is not an image this app can read "
                         "(JPEG, PNG, HEIC, WebP, AVIF, TIFF, GIF, BMP).") from None
    except (OSError, SyntaxError, ValueError):
        raise ImageError(f"{name} is damaged or truncated and cannot be decoded.") from None


def _check_size(size: tuple[int, int], name: str) -> None:
    width, height = size
    if width * height > MAX_PIXELS:
        raise ImageError(f"{name} is {width}×{height} pixels, too large to process "
                         f"(limit {MAX_PIXELS // 1_000_000} megapixels).")
    if min(width, height) < MIN_SIDE:
        raise ImageError(f"{name} is only {width}×{height} pixels; a face needs at least {MIN_SIDE}×{MIN_SIDE}.")


def _normalise(image: Image.Image) -> Image.Image:
    _check_size(image.size, "The image")
    image = ImageOps.exif_transpose(image) if image.getexif().get(0x0112, 1) != 1 else image
    return to_8bit_opaque(image).convert("RGB")


def _array_to_image(array: np.ndarray) -> Image.Image:
    if array.ndim not in (2, 3) or array.size == 0:
        raise ImageError(f"Expected an image array, got shape {array.shape}.")
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return Image.fromarray(array)
