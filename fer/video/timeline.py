"""A video in, each face's emotions over time out: sampled frames → faces (fer.model.analysis) → tracks
(fer.video.tracks) → per-track summaries, the API's JSON and the CSV rows.

Raw per-frame probabilities go to the JSON, the CSV and the summaries; the smoothed ones are what
the timeline plot and the annotated video show.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from fer.face_path.faces import DEFAULT_MAX_FACES, WHOLE_IMAGE
from fer.model.analysis import FaceResult, analyze
from fer.model.classifier import EmotionClassifier
from fer.model.probabilities import DEFAULT_TTA
from fer.video.clip import DEFAULT_SAMPLE_FPS, Clip
from fer.video.tracks import DEFAULT_SMOOTHING_S, Tracker

STRONGEST_MOMENTS = 3
MOMENTS_APART_S = 1.0
CALM = "neutral"  # not an "intense moment"


@dataclass
class TrackedFace:
    track: int
    result: FaceResult  # raw probabilities, as the model gave them for this frame
    smoothed: dict[str, float]

    def shown(self) -> FaceResult:
        """The face with its smoothed probabilities, as displayed."""
        return FaceResult(self.result.face, self.result.crop, self.smoothed)

    def as_json(self) -> dict:
        face = self.result.as_json()
        return {"track": self.track, "box": face["box"], "label": face["label"], "probabilities": face["probabilities"]}


@dataclass
class SampledFrame:
    time_s: float
    faces: list[TrackedFace]


@dataclass
class VideoAnalysis:
    fps_sampled: float
    duration_s: float
    labels: list[str]
    frames: list[SampledFrame] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def track_ids(self) -> list[int]:
        return sorted({face.track for frame in self.frames for face in frame.faces})

    def appearances(self, track: int) -> Iterator[tuple[float, TrackedFace]]:
        for frame in self.frames:
            for face in frame.faces:
                if face.track == track:
                    yield frame.time_s, face

    def summary(self, track: int) -> dict:
        """When the face was seen, the share of its sampled frames per emotion, and its strongest
        non-neutral moments (at least a second apart)."""
        seen = list(self.appearances(track))
        labels = [face.result.label for _, face in seen]
        candidates = sorted(((face.result.confidence, time_s, face.result.label) for time_s, face in seen
                             if face.result.label != CALM), reverse=True)
        moments = []
        for confidence, time_s, label in candidates:
            if all(abs(time_s - moment["time_s"]) >= MOMENTS_APART_S for moment in moments):
                moments.append({"time_s": round(time_s, 2), "label": label, "probability": round(confidence, 4)})
            if len(moments) == STRONGEST_MOMENTS:
                break
        return {"first_s": round(seen[0][0], 2), "last_s": round(seen[-1][0], 2), "frames": len(seen),
                "share": {name: round(labels.count(name) / len(labels), 4) for name in self.labels},
                "strongest_moments": moments}

    def as_json(self) -> dict:
        return {"fps_sampled": self.fps_sampled, "duration_s": round(self.duration_s, 3), "notes": self.notes,
                "tracks": [{"id": track, "summary": self.summary(track)} for track in self.track_ids()],
                "frames": [{"time_s": round(frame.time_s, 3), "faces": [face.as_json() for face in frame.faces]}
                           for frame in self.frames]}

    def csv_rows(self) -> list[dict]:
        """One row per face per sampled frame: time, track, box, every class probability, label."""
        rows = []
        for frame in self.frames:
            for face in frame.faces:
                x, y, width, height = face.result.face.box
                rows.append({"time_s": round(frame.time_s, 3), "track": face.track, "x": x, "y": y,
                             "width": width, "height": height,
                             **{name: round(value, 4) for name, value in face.result.probabilities.items()},
                             "label": face.result.label})
        return rows


def analyze_video(path: str | Path, model: EmotionClassifier, fps: float = DEFAULT_SAMPLE_FPS,
                  tta: str = DEFAULT_TTA, max_faces: int = DEFAULT_MAX_FACES,
                  smoothing_s: float = DEFAULT_SMOOTHING_S,
                  on_frame: Callable[[Image.Image, SampledFrame, int], None] | None = None) -> VideoAnalysis:
    """Every face in frames sampled `fps` times a second, tracked. `on_frame(picture, frame,
    expected frame count)` sees each sampled frame as it is analysed (progress bars, the annotated
    video); the count is 0 when the file does not say its duration.
    Raises `fer.video.clip.VideoError` for a file that cannot be used."""
    with Clip(path) as clip:
        analysis = VideoAnalysis(fps, clip.duration_s, list(model.labels))
        tracker = Tracker(smoothing_s)
        expected_frames = math.ceil(clip.duration_s * fps)
        for time_s, picture in clip.sampled_frames(fps):
            frame = SampledFrame(time_s, track_faces(picture, time_s, model, tracker, tta, max_faces))
            analysis.frames.append(frame)
            if on_frame is not None:
                on_frame(picture, frame, expected_frames)
        analysis.notes += clip.notes
    analysis.duration_s = max(analysis.duration_s, analysis.frames[-1].time_s)
    if not analysis.track_ids():
        analysis.notes.append("No face found in any sampled frame.")
    return analysis


def track_faces(picture: Image.Image, time_s: float, model: EmotionClassifier, tracker: Tracker,
                tta: str, max_faces: int) -> list[TrackedFace]:
    """The detected faces of one picture with their track ids and smoothed probabilities."""
    analysis = analyze(picture, model, tta=tta, max_faces=max_faces, second_look=False)
    return tracked(analysis.faces, tracker, time_s)


def tracked(results: list[FaceResult], tracker: Tracker, time_s: float) -> list[TrackedFace]:
    """One frame's detected faces, given to the tracker: each with its track id and smoothed probabilities. A
    frame without a face has none: the whole-picture fallback of photos would start a bogus track."""
    results = [result for result in results if result.face.kind != WHOLE_IMAGE]
    answers = tracker.update([result.face.box for result in results],
                             [np.array(list(result.probabilities.values())) for result in results], time_s)
    return [TrackedFace(track, result, dict(zip(result.probabilities, smoothed.tolist())))
            for result, (track, smoothed) in zip(results, answers)]
