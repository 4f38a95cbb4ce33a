"""Faces over time: link each frame's faces to the faces of earlier frames (greedy, by box overlap),
so a person keeps one id through a clip, and smooth each track's probabilities for display.

Smoothing is an exponential moving average whose time constant is in seconds, so it behaves the
same at 5 sampled frames per second and at a webcam's 10: after `smoothing_s` a change has moved
the displayed value 63 % of the way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import count

import numpy as np

Box = tuple[int, int, int, int]  # x, y, width, height

MIN_IOU = 0.3
MAX_MISSING_S = 1.0  # a face unseen this long is gone; if it comes back it gets a new id
DEFAULT_SMOOTHING_S = 1.0


def iou(first: Box, second: Box) -> float:
    """Intersection over union of two boxes, 0 when they do not touch."""
    ax, ay, aw, ah = first
    bx, by, bw, bh = second
    overlap_w = min(ax + aw, bx + bw) - max(ax, bx)
    overlap_h = min(ay + ah, by + bh) - max(ay, by)
    if overlap_w <= 0 or overlap_h <= 0:
        return 0.0
    overlap = overlap_w * overlap_h
    return overlap / (aw * ah + bw * bh - overlap)


@dataclass
class Track:
    id: int
    box: Box
    last_seen_s: float
    smoothed: np.ndarray  # the displayed probabilities


class Tracker:
    """Call `update` with each frame's boxes and probabilities in time order; it answers with each
    face's track id and its smoothed probabilities. `smoothing_s=0` passes the probabilities through."""

    def __init__(self, smoothing_s: float = DEFAULT_SMOOTHING_S, min_iou: float = MIN_IOU,
                 max_missing_s: float = MAX_MISSING_S):
        self.smoothing_s, self.min_iou, self.max_missing_s = smoothing_s, min_iou, max_missing_s
        self.tracks: list[Track] = []
        self.next_id = count(1)

    def update(self, boxes: list[Box], probabilities: list[np.ndarray], time_s: float) -> list[tuple[int, np.ndarray]]:
        """(track id, smoothed probabilities) for each box, in the order given."""
        self.tracks = [track for track in self.tracks if time_s - track.last_seen_s <= self.max_missing_s]
        matches = self.match(boxes)
        answers = []
        for index, (box, values) in enumerate(zip(boxes, probabilities)):
            values = np.asarray(values, dtype=np.float64)
            track = matches.get(index)
            if track is None:
                track = Track(next(self.next_id), box, time_s, values)
                self.tracks.append(track)
            else:
                weight = self.new_value_weight(time_s - track.last_seen_s)
                track.smoothed = (1 - weight) * track.smoothed + weight * values
                track.box, track.last_seen_s = box, time_s
            answers.append((track.id, track.smoothed.copy()))
        return answers

    def match(self, boxes: list[Box]) -> dict[int, Track]:
        """Box index → existing track, best overlaps first, each track and box used once."""
        pairs = sorted(((iou(track.box, box), index, track) for index, box in enumerate(boxes)
                        for track in self.tracks), key=lambda pair: pair[0], reverse=True)
        matches, taken = {}, set()
        for overlap, index, track in pairs:
            if overlap < self.min_iou:
                break
            if index not in matches and track.id not in taken:
                matches[index] = track
                taken.add(track.id)
        return matches

    def new_value_weight(self, elapsed_s: float) -> float:
        if self.smoothing_s <= 0:
            return 1.0
        return 1 - math.exp(-max(elapsed_s, 0.0) / self.smoothing_s)
