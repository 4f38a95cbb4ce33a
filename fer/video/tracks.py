"""Faces over time: link each frame's faces to the faces of earlier frames (greedy, nearest first),
so a person keeps one id through a clip, and smooth each track's probabilities for display.

Boxes are matched by how far their centres moved relative to the face's size, not by overlap: at
5 sampled frames per second a small face crossing the picture moves more than its own width between
samples, so its boxes never overlap (tests/test_video.py's crossing faces).

Smoothing is an exponential moving average whose time constant is in seconds, so it behaves the
same at 5 sampled frames per second and at a webcam's 10: after `smoothing_s` a change has moved
the displayed value 63 % of the way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Box = tuple[int, int, int, int]  # x, y, width, height

MAX_SHIFT = 2.0  # face sizes (a box's longer side) a face may move between samples: someone walking by, at 5/s
MAX_SIZE_RATIO = 1.5  # nor grows or shrinks more than this
MAX_MISSING_S = 1.0  # a face unseen this long is gone; if it comes back it gets a new id
DEFAULT_SMOOTHING_S = 1.0


def shift(previous: Box, box: Box) -> float:
    """How far the box's centre moved, in face sizes; infinite when its size changed too much to be
    the same face."""
    px, py, pw, ph = previous
    x, y, width, height = box
    size, previous_size = max(width, height), max(pw, ph)
    if max(size, previous_size) > MAX_SIZE_RATIO * min(size, previous_size):
        return math.inf
    distance = math.hypot(x + width / 2 - px - pw / 2, y + height / 2 - py - ph / 2)
    return distance / ((size + previous_size) / 2)


@dataclass
class Track:
    id: int
    box: Box
    last_seen_s: float
    smoothed: np.ndarray  # the displayed probabilities


class Tracker:
    """Call `update` with each frame's boxes and probabilities in time order; it answers with each
    face's track id and its smoothed probabilities. `smoothing_s=0` passes the probabilities through."""

    def __init__(self, smoothing_s: float = DEFAULT_SMOOTHING_S, max_shift: float = MAX_SHIFT,
                 max_missing_s: float = MAX_MISSING_S):
        self.smoothing_s, self.max_shift, self.max_missing_s = smoothing_s, max_shift, max_missing_s
        self.tracks: list[Track] = []
        self.last_id = 0

    def update(self, boxes: list[Box], probabilities: list[np.ndarray], time_s: float) -> list[tuple[int, np.ndarray]]:
        """(track id, smoothed probabilities) for each box, in the order given."""
        self.tracks = [track for track in self.tracks if time_s - track.last_seen_s <= self.max_missing_s]
        matches = self.match(boxes)
        answers = []
        for index, (box, values) in enumerate(zip(boxes, probabilities)):
            values = np.asarray(values, dtype=np.float64)
            track = matches.get(index)
            if track is None:
                self.last_id += 1
                track = Track(self.last_id, box, time_s, values)
                self.tracks.append(track)
            else:
                weight = self.new_value_weight(time_s - track.last_seen_s)
                track.smoothed = (1 - weight) * track.smoothed + weight * values
                track.box, track.last_seen_s = box, time_s
            answers.append((track.id, track.smoothed.copy()))
        return answers

    def match(self, boxes: list[Box]) -> dict[int, Track]:
        """Box index → existing track, smallest moves first, each track and box used once."""
        pairs = sorted(((shift(track.box, box), index, track) for index, box in enumerate(boxes)
                        for track in self.tracks), key=lambda pair: pair[0])
        matches, taken = {}, set()
        for moved, index, track in pairs:
            if moved > self.max_shift:
                break
            if index not in matches and track.id not in taken:
                matches[index] = track
                taken.add(track.id)
        return matches

    def new_value_weight(self, elapsed_s: float) -> float:
        if self.smoothing_s <= 0:
            return 1.0
        return 1 - math.exp(-max(elapsed_s, 0.0) / self.smoothing_s)
