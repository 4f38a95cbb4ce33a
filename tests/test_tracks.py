"""The face tracker: ids follow boxes, new and returning faces, and the time-based smoothing."""

import math

import numpy as np
import pytest

from fer.video.tracks import Tracker, shift

UNIFORM = np.full(7, 1 / 7)


def test_shift_is_the_centre_move_in_face_sizes_and_infinite_for_a_different_size():
    assert shift((0, 0, 10, 10), (0, 0, 10, 10)) == 0
    assert shift((0, 0, 10, 10), (10, 0, 10, 10)) == 1
    assert shift((0, 0, 10, 10), (0, 0, 20, 20)) == math.inf


def test_two_faces_moving_past_each_other_keep_their_ids():
    tracker = Tracker()
    ids = {"left": set(), "right": set()}
    for step in range(12):  # 40-pixel faces crossing at 50 px per frame (no overlap between frames), one a bit lower
        boxes = {"left": (20 + 50 * step, 100, 40, 40), "right": (620 - 50 * step, 150, 40, 40)}
        order = ["right", "left"] if step % 2 else ["left", "right"]  # detectors list faces in any order
        answers = tracker.update([boxes[name] for name in order], [UNIFORM, UNIFORM], step / 5)
        for name, (track_id, _) in zip(order, answers):
            ids[name].add(track_id)
    assert ids == {"left": {1}, "right": {2}}


def test_a_new_face_gets_a_new_id_and_a_face_gone_too_long_comes_back_as_new():
    tracker = Tracker(max_missing_s=1.0)
    assert [id for id, _ in tracker.update([(0, 0, 50, 50)], [UNIFORM], 0.0)] == [1]
    assert [id for id, _ in tracker.update([(2, 0, 50, 50), (300, 0, 50, 50)], [UNIFORM] * 2, 0.2)] == [1, 2]
    assert [id for id, _ in tracker.update([(4, 0, 50, 50)], [UNIFORM], 1.0)] == [1]  # face 2 missed briefly
    assert [id for id, _ in tracker.update([(4, 0, 50, 50), (300, 0, 50, 50)], [UNIFORM] * 2, 1.1)] == [1, 2]
    assert [id for id, _ in tracker.update([(300, 0, 50, 50)], [UNIFORM], 3.0)] == [3]


def test_smoothing_moves_63_percent_of_a_step_in_one_time_constant_at_any_frame_rate():
    for frames_per_s in (5, 10, 30):
        tracker = Tracker(smoothing_s=1.0)
        start, target = np.eye(7)[0], np.eye(7)[3]
        tracker.update([(0, 0, 50, 50)], [start], 0.0)
        for index in range(1, frames_per_s + 1):
            (_, smoothed), = tracker.update([(0, 0, 50, 50)], [target], index / frames_per_s)
        assert smoothed[3] == pytest.approx(1 - math.exp(-1))
        assert smoothed.sum() == pytest.approx(1)


def test_smoothing_off_passes_the_probabilities_through():
    tracker = Tracker(smoothing_s=0)
    tracker.update([(0, 0, 50, 50)], [np.eye(7)[0]], 0.0)
    (_, smoothed), = tracker.update([(0, 0, 50, 50)], [np.eye(7)[3]], 0.1)
    assert np.array_equal(smoothed, np.eye(7)[3])


def label_changes_per_minute(smoothing_s: float, seconds: float = 60, frames_per_s: float = 10) -> float:
    """A still face near a tie (happy 0.40, neutral 0.36) with noise of 0.05 on every class."""
    rng = np.random.default_rng(0)
    base = np.array([0.04, 0.02, 0.06, 0.40, 0.36, 0.08, 0.04])
    tracker, labels = Tracker(smoothing_s=smoothing_s), []
    for index in range(int(seconds * frames_per_s)):
        noisy = np.clip(base + rng.normal(0, 0.05, 7), 0, None)
        (_, shown), = tracker.update([(100, 100, 80, 80)], [noisy / noisy.sum()], index / frames_per_s)
        labels.append(int(shown.argmax()))
    return sum(a != b for a, b in zip(labels, labels[1:])) * 60 / seconds


def test_smoothing_keeps_a_noisy_still_face_label_steady():
    raw, smoothed = label_changes_per_minute(0), label_changes_per_minute(1.0)
    print(f"label changes per minute, still face near a tie at 10 frames/s: raw {raw:.0f}, "
          f"smoothed (1 s) {smoothed:.0f}")
    assert raw > 60 and smoothed <= 12  # at most one change per 5 s
