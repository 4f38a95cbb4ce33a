"""How a detected face becomes the model's 48×48 input: FER-2013's framing, no black borders, eyes levelled
beyond FER-2013's own tilt, and a downsampler that keeps detail."""

import math

import numpy as np
import pytest
from PIL import Image, ImageDraw

from fer.faces import DETECTED, FILLS_PICTURE, FRAME_SCALE, ROLL_TOLERANCE_DEGREES, Face, crop_face, fer_square
from fer.tensors import to_gray_array


def test_a_face_in_a_large_picture_gets_fer_framing_around_its_box():
    centre, side = fer_square((400, 300, 100, 144), (1600, 1200))
    assert centre == (450, 372)
    assert side == pytest.approx(FRAME_SCALE * 120)


def test_a_face_filling_the_picture_is_framed_by_the_whole_picture():
    # a pre-cropped 192×192 face: YuNet's box runs a little past the top and bottom, as on FER-2013
    centre, side = fer_square((16, -4, 157, 200), (192, 192))
    assert (centre, side) == ((96, 96), 192)


def test_a_face_at_the_edge_keeps_its_square_inside_the_picture():
    centre, side = fer_square((0, 10, 60, 60), (400, 300))
    assert side < FILLS_PICTURE * 300
    assert centre[0] - side / 2 == 0 and centre[1] - side / 2 >= 0


def test_no_black_border_even_where_a_turned_square_leaves_the_picture():
    picture = Image.new("RGB", (200, 200), (180, 180, 180))
    corner_face = Face((0, 0, 120, 120), 0.9, DETECTED, ((10, 20), (100, 70), (55, 70), (30, 100), (90, 120)))
    crop = crop_face(picture, corner_face)
    assert crop.shape == (48, 48) and crop.min() >= 170


def eyes_picture(roll_degrees: float) -> tuple[Image.Image, Face]:
    """A grey 300×300 picture with two dark 'eyes' 80 px apart around its centre, tilted clockwise by roll."""
    picture = Image.new("RGB", (300, 300), (200, 200, 200))
    draw = ImageDraw.Draw(picture)
    dx, dy = 40 * math.cos(math.radians(roll_degrees)), 40 * math.sin(math.radians(roll_degrees))
    eyes = [(round(150 - dx), round(130 - dy)), (round(150 + dx), round(130 + dy))]
    for x, y in eyes:
        draw.ellipse((x - 6, y - 6, x + 6, y + 6), fill=(0, 0, 0))
    return picture, Face((90, 90, 120, 120), 0.9, DETECTED, (*eyes, (150, 160), (125, 190), (175, 190)))


def eye_roll_in_crop(crop: np.ndarray) -> float:
    """The angle of the line through the centres of the dark blobs in the crop's left and right halves."""
    ys, xs = np.nonzero(crop < 100)
    left, right = xs < 24, xs >= 24
    return math.degrees(math.atan2(ys[right].mean() - ys[left].mean(), xs[right].mean() - xs[left].mean()))


@pytest.mark.parametrize("roll", [-30, -18, 25])
def test_a_head_tilted_beyond_fer_2013_is_turned_back_to_its_band(roll):
    picture, face = eyes_picture(roll)
    assert abs(eye_roll_in_crop(crop_face(picture, face))) == pytest.approx(ROLL_TOLERANCE_DEGREES, abs=3)


def test_a_tilt_within_fer_2013_band_is_left_as_it_is():
    picture, face = eyes_picture(6)
    assert eye_roll_in_crop(crop_face(picture, face)) == pytest.approx(6, abs=3)


def test_downsampling_keeps_fine_detail():
    # 4-px black and white stripes at 192 px are one pixel each at 48 px; their contrast (std 127.5 if
    # kept whole) must mostly survive: the former bilinear filter kept 65, Lanczos keeps 85
    stripes = np.tile(np.array([0, 255], dtype=np.uint8).repeat(4), 24)[None, :].repeat(192, 0)
    small = to_gray_array(Image.fromarray(stripes))
    assert small.shape == (48, 48) and small.std() > 75
