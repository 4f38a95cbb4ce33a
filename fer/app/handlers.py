"""What the Gradio app does on each photo and webcam event (the Video tab's are in
fer/video_handlers.py); app.py only lays out the page and wires these in.

Every visitor-facing failure becomes a `gr.Error` with a plain message; notes (no face found,
faces capped) become `gr.Warning`s. Nothing here writes the picture anywhere.
"""

from __future__ import annotations

import time

import gradio as gr
import numpy as np

from fer.app import chart
from fer.face_path.image import ImageError, open_image
from fer.model import gradcam
from fer.model.analysis import Analysis, analyze
from fer.model.classifier import EmotionClassifier
from fer.video.timeline import tracked
from fer.video.tracks import DEFAULT_SMOOTHING_S, Tracker


class Handlers:
    def __init__(self, model: EmotionClassifier, clock=time.monotonic):
        self.model, self.clock = model, clock  # the clock: seconds, for the webcam's smoothing

    def _analyze(self, picture, tta: str, max_faces: int, second_look: bool = True) -> tuple:
        try:
            image = open_image(picture)
        except ImageError as error:
            raise gr.Error(str(error), print_exception=False) from None
        return image, analyze(image, self.model, tta=tta, max_faces=int(max_faces), second_look=second_look)

    def on_upload(self, picture, tta: str, max_faces: int):
        """Annotated photo, chart and Grad-CAM of the largest face, face table, face picker, state, JSON."""
        if picture is None:
            return self.empty_upload_outputs()
        image, analysis = self._analyze(picture, tta, max_faces)
        for note in analysis.notes:
            gr.Warning(note)
        choices = [f"face {index + 1}: {result.label}" for index, result in enumerate(analysis.faces)]
        return (chart.annotate(image, analysis), chart.probability_frame(analysis.faces[0], self.model.labels),
                self.grad_cam(analysis, 0), chart.face_table(analysis),
                gr.Radio(choices=choices, value=choices[0], visible=len(choices) > 1), analysis, analysis.as_json())

    def empty_upload_outputs(self):
        return (None, chart.probability_frame(None, self.model.labels), None, None,
                gr.Radio(choices=[], value=None, visible=False), None, None)

    def on_pick_face(self, choice: str | None, analysis: Analysis | None):
        """Chart and Grad-CAM of another face of the last photo."""
        if not choice or analysis is None:
            return chart.probability_frame(None, self.model.labels), None
        index = int(choice.split(":")[0].removeprefix("face ")) - 1
        return chart.probability_frame(analysis.faces[index], self.model.labels), self.grad_cam(analysis, index)

    def grad_cam(self, analysis: Analysis, index: int):
        result = analysis.faces[index]
        return gradcam.overlay(self.model, result.crop, self.model.labels.index(result.label))

    def on_frame(self, frame: np.ndarray | None, tta: str, max_faces: int, steady: bool = True,
                 tracker: Tracker | None = None):
        """One webcam frame: annotated frame, the chart of the largest face, and the session's tracker
        (its gr.State). Faces keep their numbers from frame to frame; with `steady`, labels and chart
        show each face's probabilities smoothed over about a second, so they do not flicker."""
        tracker = tracker or Tracker()
        if frame is None:
            return None, chart.probability_frame(None, self.model.labels), tracker
        image, analysis = self._analyze(frame, tta, max_faces, second_look=False)
        tracker.smoothing_s = DEFAULT_SMOOTHING_S if steady else 0
        faces = tracked(analysis.faces, tracker, self.clock())
        largest = faces[0].shown() if faces else None
        return (np.asarray(chart.annotate_tracked(image, faces, selected=0)),
                chart.probability_frame(largest, self.model.labels), tracker)

    def predict(self, picture, tta: str, max_faces: int) -> dict:
        """The API: every face's box, label and all class probabilities, as JSON."""
        if picture is None:
            raise gr.Error("No image given.", print_exception=False)
        return self._analyze(picture, tta, max_faces)[1].as_json()
