"""What the app's Video tab does: a clip in, each face's timeline, summary, CSV and (if asked) an
annotated copy out, with a progress bar; and the `/analyze_video` API.

The CSV and the annotated video are written in a folder of their own under `outputs`, which the
cache sweeper empties (app.py); Gradio serves copies from its cache, which the sweeper also empties.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import gradio as gr

from fer.app import chart
from fer.app.wording import with_meaning
from fer.model.classifier import EmotionClassifier
from fer.video.clip import Mp4Writer, VideoError
from fer.video.timeline import VideoAnalysis, analyze_video


class VideoHandlers:
    def __init__(self, model: EmotionClassifier, outputs: Path):
        self.model, self.outputs = model, outputs

    def _analyze(self, clip: str | None, fps: float, tta: str, max_faces: int, smoothing_s: float = 0,
                 annotated_path: Path | None = None, progress=None) -> VideoAnalysis:
        if not clip:
            raise gr.Error("No video given.", print_exception=False)
        writer = Mp4Writer(annotated_path, fps) if annotated_path else None

        def on_frame(picture, frame, expected_frames):
            if writer is not None:
                writer.add(chart.annotate_tracked(picture, frame.faces))
            if progress is not None:
                progress((round(frame.time_s * fps) + 1, expected_frames or None), desc="Analysing frames",
                         unit="frames")

        try:
            return analyze_video(clip, self.model, fps=float(fps), tta=tta, max_faces=int(max_faces),
                                 smoothing_s=float(smoothing_s), on_frame=on_frame)
        except VideoError as error:
            raise gr.Error(str(error), print_exception=False) from None
        finally:
            if writer is not None:
                writer.close()

    def on_analyze(self, clip: str | None, fps: float, smoothing_s: float, make_video: bool, tta: str,
                   max_faces: int, progress=gr.Progress()):
        """Timeline of the first face, face picker, summary table, CSV, annotated video, state, JSON."""
        name = Path(clip).stem if clip else "video"
        annotated_path = self.new_file(f"{name}-faces.mp4") if make_video else None
        analysis = self._analyze(clip, fps, tta, max_faces, smoothing_s, annotated_path, progress)
        for note in analysis.notes:
            gr.Warning(note)
        tracks = analysis.track_ids()
        choices = [f"face {track}" for track in tracks]
        return (chart.timeline_frame(analysis, tracks[0] if tracks else None),
                gr.Radio(choices=choices, value=choices[0] if choices else None, visible=len(choices) > 1),
                chart.track_table(analysis), self.write_csv(analysis, self.new_file(f"{name}-faces.csv")),
                str(annotated_path) if annotated_path else None, analysis, with_meaning(analysis.as_json(), self.model))

    def on_pick_track(self, choice: str | None, analysis: VideoAnalysis | None):
        track = int(choice.removeprefix("face ")) if choice else None
        return chart.timeline_frame(analysis, track)

    def predict(self, clip: str | None, fps: float, tta: str, max_faces: int) -> dict:
        """The API: every sampled frame's faces with their track ids, boxes, labels and probabilities,
        and a summary per track, as JSON."""
        return with_meaning(self._analyze(clip, fps, tta, max_faces).as_json(), self.model)

    def new_file(self, name: str) -> Path:
        """A path named `name` in a new folder of its own, made when the file is about to be written:
        the sweeper deletes empty folders older than a minute, and an analysis can take longer."""
        return Path(tempfile.mkdtemp(dir=self.outputs)) / name

    @staticmethod
    def write_csv(analysis: VideoAnalysis, path: Path) -> str | None:
        rows = analysis.csv_rows()
        if not rows:
            return None
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return str(path)
