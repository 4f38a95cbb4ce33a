"""Property-based fuzzing of the decode → detect → crop path: random bytes, random sizes, random
modes. Every call ends quickly with a picture or the project's own ImageError, never anything else."""

import io
import time

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from fer.face_path.faces import face_crops, find_faces
from fer.face_path.image import ImageError, open_image

MODES = ["1", "L", "P", "RGB", "RGBA", "CMYK", "I", "I;16", "F", "LA", "YCbCr"]
FORMATS = {"PNG": {"1", "L", "P", "RGB", "RGBA", "I", "I;16", "LA"}, "JPEG": {"L", "RGB", "CMYK", "YCbCr"},
           "GIF": {"L", "P"}, "TIFF": {"1", "L", "P", "RGB", "RGBA", "CMYK", "I", "I;16", "F", "LA", "YCbCr"},
           "WEBP": {"RGB", "RGBA"}, "BMP": {"1", "L", "P", "RGB"}}
CALL_LIMIT_S = 5.0
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decode_and_crop(data: bytes) -> None:
    started = time.monotonic()
    try:
        image = open_image(data)
    except ImageError as error:
        assert str(error)
        return
    faces, _ = find_faces(image, max_faces=5)
    for face in faces:
        assert [crop.shape for crop in face_crops(image, face)] in ([(48, 48)], [(48, 48)] * 2)
    assert time.monotonic() - started < CALL_LIMIT_S


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data):
    decode_and_crop(data)


@st.composite
def encoded_pictures(draw):
    format = draw(st.sampled_from(sorted(FORMATS)))
    mode = draw(st.sampled_from(sorted(FORMATS[format])))
    width, height = draw(st.integers(1, 700)), draw(st.integers(1, 700))
    seed = draw(st.integers(0, 2**32 - 1))
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    image = Image.fromarray(pixels).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=format)
    data = buffer.getvalue()
    cut = draw(st.one_of(st.none(), st.integers(0, len(data))))  # sometimes truncated
    return data if cut is None else data[:cut]


@FUZZ
@given(encoded_pictures())
def test_random_pictures_in_every_mode_and_size(data):
    decode_and_crop(data)


@FUZZ
@given(st.sampled_from(MODES), st.integers(1, 300), st.integers(1, 300))
def test_in_memory_pictures_of_any_mode(mode, width, height):
    try:
        image = open_image(Image.new(mode, (width, height)))
    except ImageError:
        assert min(width, height) < 16
        return
    assert image.mode == "RGB" and image.size == (width, height)
