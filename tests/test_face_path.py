"""How a detected face becomes the model's 48×48 input: FER-2013's framing, no black borders, eyes levelled
beyond FER-2013's own tilt, and a downsampler that keeps detail."""

import math

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from fer.face_path.faces import (
    DETECTED,
    FRAME_SCALE,
    LOOSE_FRAMING,
    ROLL_TOLERANCE_DEGREES,
    Face,
    face_crops,
    fer_squares,
)
from fer.face_path.tensors import to_gray_array
from fer.model.classifier import EmotionClassifier
from fer.model.probabilities import corrected, face_probabilities, uncorrected_probabilities


def test_a_face_in_a_large_picture_gets_fer_framing_and_a_looser_one_around_its_box():
    (centre, side), (loose_centre, loose_side) = fer_squares((400, 300, 100, 144), (1600, 1200))
    assert centre == loose_centre == (450, 372)
    assert side == pytest.approx(FRAME_SCALE * 120)
    assert loose_side == pytest.approx(LOOSE_FRAMING * FRAME_SCALE * 120)


def test_a_face_whose_square_reaches_past_the_picture_is_framed_by_the_whole_picture():
    # a tight 192×192 face crop: YuNet's box runs past the top and bottom
    assert fer_squares((10, -10, 172, 212), (192, 192)) == [((96, 96), 192)]


def test_a_face_nearly_filling_the_picture_is_framed_both_by_its_box_and_by_the_whole_picture():
    # the square around the box covers 0.8 of the short side: a face crop or a headshot with room around it
    box_side = round(0.8 * 300 / FRAME_SCALE)
    (box_centre, box_square), (whole_centre, whole_square) = fer_squares((100, 60, box_side, box_side), (400, 300))
    assert box_square == pytest.approx(FRAME_SCALE * box_side)
    assert (whole_centre[1], whole_square) == (150, 300)


def test_a_face_seen_in_two_framings_gets_their_average_corrected_once():
    torch.manual_seed(0)
    model = EmotionClassifier(width=4, prior_correction=[1.2, 1.8, 1.25, 0.9, 0.8, 0.85, 0.55]).eval()
    crops = [np.random.default_rng(seed).integers(0, 256, (48, 48), dtype=np.uint8) for seed in range(3)]
    each = uncorrected_probabilities(model, torch.from_numpy(np.stack(crops)))
    result = face_probabilities(model, [crops[:2], crops[2:]])
    assert torch.allclose(result[0], corrected(each[:2].mean(0, keepdim=True), model.prior_correction)[0], atol=1e-6)
    assert torch.allclose(result[1], corrected(each[2:], model.prior_correction)[0], atol=1e-6)
    assert face_probabilities(model, []).shape == (0, 7)


def test_a_face_at_the_edge_keeps_both_its_squares_inside_the_picture():
    squares = fer_squares((0, 10, 60, 60), (400, 300))
    assert len(squares) == 2
    for centre, side in squares:
        assert side < 300
        assert centre[0] - side / 2 == 0 and centre[1] - side / 2 >= 0


def test_no_black_border_even_where_a_turned_square_leaves_the_picture():
    picture = Image.new("RGB", (200, 200), (180, 180, 180))
    corner_face = Face((0, 0, 120, 120), 0.9, DETECTED, ((10, 20), (100, 70), (55, 70), (30, 100), (90, 120)))
    crops = face_crops(picture, corner_face)
    assert crops and all(crop.shape == (48, 48) and crop.min() >= 170 for crop in crops)


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
    assert abs(eye_roll_in_crop(face_crops(picture, face)[0])) == pytest.approx(ROLL_TOLERANCE_DEGREES, abs=3)


def test_a_tilt_within_fer_2013_band_is_left_as_it_is():
    picture, face = eyes_picture(6)
    assert eye_roll_in_crop(face_crops(picture, face)[0]) == pytest.approx(6, abs=3)


def test_downsampling_keeps_fine_detail():
    # 4-px black and white stripes at 192 px are one pixel each at 48 px; their contrast (std 127.5 if
    # kept whole) must mostly survive: the former bilinear filter kept 65, Lanczos keeps 85
    stripes = np.tile(np.array([0, 255], dtype=np.uint8).repeat(4), 24)[None, :].repeat(192, 0)
    small = to_gray_array(Image.fromarray(stripes))
    assert small.shape == (48, 48) and small.std() > 75
