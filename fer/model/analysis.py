"""One picture in, every face's class probabilities out: faces → tensors → model → probabilities."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from fer.face_path.faces import DEFAULT_MAX_FACES, Face, face_crops, find_faces
from fer.model.classifier import EmotionClassifier
from fer.model.probabilities import DEFAULT_TTA, face_probabilities


@dataclass
class FaceResult:
    face: Face
    crop: np.ndarray  # the 48×48 grayscale the model saw (the first, if it saw several framings)
    probabilities: dict[str, float]  # every class, in the model's order

    @property
    def label(self) -> str:
        return max(self.probabilities, key=self.probabilities.get)

    @property
    def confidence(self) -> float:
        return self.probabilities[self.label]

    def as_json(self) -> dict:
        x, y, width, height = self.face.box
        return {"box": {"x": x, "y": y, "width": width, "height": height}, "kind": self.face.kind,
                "detector_score": round(self.face.score, 3), "label": self.label,
                "confidence": round(self.confidence, 4),
                "probabilities": {name: round(value, 4) for name, value in self.probabilities.items()}}


@dataclass
class Analysis:
    faces: list[FaceResult]
    notes: list[str] = field(default_factory=list)
    detect_ms: float = 0.0
    classify_ms: float = 0.0

    def as_json(self) -> dict:
        return {"faces": [face.as_json() for face in self.faces], "notes": self.notes,
                "timing_ms": {"detect": round(self.detect_ms, 1), "classify": round(self.classify_ms, 1)}}


def analyze(image: Image.Image, model: EmotionClassifier, tta: str = DEFAULT_TTA,
            max_faces: int = DEFAULT_MAX_FACES, second_look: bool = True) -> Analysis:
    """Find the faces of an RGB picture (`fer.face_path.faces.find_faces`) and classify them all in one batch."""
    started = time.perf_counter()
    faces, notes = find_faces(image, max_faces, second_look)
    crops = [face_crops(image, face) for face in faces]
    detected = time.perf_counter()
    probabilities = face_probabilities(model, crops, tta=tta)
    classified = time.perf_counter()
    results = [FaceResult(face, framings[0], dict(zip(model.labels, row.tolist())))
               for face, framings, row in zip(faces, crops, probabilities)]
    return Analysis(results, notes, (detected - started) * 1000, (classified - detected) * 1000)
