"""What the Gradio app does on each photo and webcam event (the Video tab's are in
fer/video_handlers.py); app.py only lays out the page and wires these in.

Every visitor-facing failure becomes a `gr.Error` with a plain message; notes (no face found,
faces capped) become `gr.Warning`s. The only picture written is the preview of an upload browsers
cannot show (TIFF, HEIC), in the `outputs` folder the cache sweeper empties (app.py).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from fer.app import chart
from fer.app.wording import with_meaning
from fer.face_path.image import ImageError, open_image
from fer.model import gradcam
from fer.model.analysis import Analysis, analyze
from fer.model.classifier import EmotionClassifier
from fer.video.timeline import tracked
from fer.video.tracks import DEFAULT_SMOOTHING_S, Tracker

# What every current browser shows in an <img>; the Photo box shows a JPEG preview of any other upload.
BROWSER_FORMATS = {"JPEG", "MPO", "PNG", "GIF", "WEBP", "BMP", "AVIF"}
PREVIEW_SIDE = 1280


@dataclass
class PhotoInBox:
    """The upload in the Photo box, which every analysis reads, and the name of the preview shown in its place
    when browsers cannot show it."""
    source: str
    preview_name: str | None = None


class Handlers:
    def __init__(self, model: EmotionClassifier, outputs: Path, clock=time.monotonic):
        self.model, self.outputs, self.clock = model, outputs, clock  # the clock: seconds, for the webcam's smoothing

    def _analyze(self, picture, tta: str, max_faces: int, second_look: bool = True) -> tuple:
        try:
            image = open_image(picture)
        except ImageError as error:
            raise gr.Error(str(error), print_exception=False) from None
        return image, analyze(image, self.model, tta=tta, max_faces=int(max_faces), second_look=second_look)

    def on_photo(self, picture: str | None, in_box: PhotoInBox | None, tta: str, max_faces: int):
        """A new picture in the Photo box: `on_upload`'s outputs, then the box's picture and its PhotoInBox. An
        upload browsers cannot show (TIFF, HEIC) is analysed as it is and replaced in the box by a JPEG preview,
        whose own arrival in the box is not analysed again."""
        if picture is not None and in_box is not None and Path(picture).name == in_box.preview_name:
            return (gr.skip(),) * (len(self.empty_upload_outputs()) + 2)
        if picture is None:
            return *self.empty_upload_outputs(), gr.skip(), None
        image, analysis = self._analyze(picture, tta, max_faces)
        outputs = self.upload_outputs(image, analysis)
        if browsers_show(picture):
            return *outputs, gr.skip(), PhotoInBox(picture)
        preview = self.write_preview(image)
        return *outputs, str(preview), PhotoInBox(picture, preview.name)

    def on_settings(self, in_box: PhotoInBox | None, tta: str, max_faces: int):
        """The photo in the box analysed again with other settings."""
        if in_box is not None and not Path(in_box.source).exists():
            raise gr.Error("The photo was deleted a minute after it arrived (nothing uploaded is kept): upload it "
                           "again to try other settings.", print_exception=False)
        return self.on_upload(in_box.source if in_box else None, tta, max_faces)

    def on_upload(self, picture, tta: str, max_faces: int):
        if picture is None:
            return self.empty_upload_outputs()
        return self.upload_outputs(*self._analyze(picture, tta, max_faces))

    def upload_outputs(self, image: Image.Image, analysis: Analysis) -> tuple:
        """Annotated photo, chart and Grad-CAM of the largest face, face table, face picker, state, JSON."""
        for note in analysis.notes:
            gr.Warning(note)
        choices = [f"face {index + 1}: {result.label}" for index, result in enumerate(analysis.faces)]
        return (chart.annotate(image, analysis), chart.probability_frame(analysis.faces[0], self.model.labels),
                self.grad_cam(analysis, 0), chart.face_table(analysis),
                gr.Radio(choices=choices, value=choices[0], visible=len(choices) > 1), analysis,
                with_meaning(analysis.as_json(), self.model))

    def write_preview(self, image: Image.Image) -> Path:
        """A JPEG of the decoded picture, at most PREVIEW_SIDE pixels a side, under a name no upload has."""
        preview = image.copy()
        preview.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
        path = self.outputs / f"preview-{uuid.uuid4().hex}.jpg"
        preview.save(path, quality=90)
        return path

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
        return with_meaning(self._analyze(picture, tta, max_faces)[1].as_json(), self.model)


def browsers_show(path: str) -> bool:
    with Image.open(path) as image:
        return image.format in BROWSER_FORMATS
