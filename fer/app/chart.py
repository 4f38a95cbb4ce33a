"""Probabilities as pictures: boxes and labels drawn on the photo, the per-class bar data, and a
video's timelines and per-face summaries."""

from __future__ import annotations

import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from fer.model.analysis import Analysis, FaceResult
from fer.video.timeline import TrackedFace, VideoAnalysis

FACE_COLUMNS = ["face", "emotion", "confidence", "kind", "box (x, y, w, h)"]
COLOURS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
           "#fabed4", "#469990"]
EMOTION_COLOURS = {"angry": "#d62728", "disgust": "#2ca02c", "fear": "#9467bd", "happy": "#ff9f1c",
                   "neutral": "#9a9a9a", "sad": "#1f77b4", "surprise": "#e377c2"}


def probability_frame(result: FaceResult | None, labels: list[str]) -> pd.DataFrame:
    """All classes in the model's fixed order (zeros when there is no face yet)."""
    values = [result.probabilities[name] if result else 0.0 for name in labels]
    return pd.DataFrame({"emotion": labels, "probability": values})


def face_table(analysis: Analysis) -> pd.DataFrame:
    rows = [{"face": index + 1, "emotion": result.label, "confidence": round(result.confidence, 3),
             "kind": result.face.kind, "box (x, y, w, h)": ", ".join(map(str, result.face.box))}
            for index, result in enumerate(analysis.faces)]
    return pd.DataFrame(rows, columns=FACE_COLUMNS)


def annotate(image: Image.Image, analysis: Analysis, selected: int | None = 0,
             numbers: list[int] | None = None) -> Image.Image:
    """A copy of the picture with a numbered box and 'label confidence' on every face; `numbers`
    (track ids) replace 1, 2, 3… and pick the colours."""
    canvas = image.copy()
    draw = ImageDraw.Draw(canvas)
    line, font = label_style(image)
    for index, result in enumerate(analysis.faces):
        x, y, width, height = result.face.box
        number = numbers[index] if numbers else index + 1
        colour = COLOURS[(number - 1) % len(COLOURS)]
        draw.rectangle((x, y, x + width, y + height), outline=colour, width=line * (2 if index == selected else 1))
        text = f"{number}: {result.label} {result.confidence:.0%}"
        left, top, right, bottom = draw.textbbox((x, y), text, font=font)
        label_height = (bottom - top) + 2 * line
        label_top = y - label_height if y >= label_height else y  # above the box, or inside it at the top
        draw.rectangle((x, label_top, x + (right - left) + 2 * line, label_top + label_height), fill=colour)
        draw.text((x + line, label_top + line - (top - y)), text, fill="white", font=font)
    return canvas


def label_style(picture: Image.Image) -> tuple[int, ImageFont.FreeTypeFont]:
    """Line width and font of boxes and labels, scaled to the picture."""
    return max(2, round(max(picture.size) / 300)), ImageFont.load_default(size=max(12, round(max(picture.size) / 40)))


def text_bars(result: FaceResult, width: int = 30) -> str:
    """The bar chart for a terminal."""
    return "\n".join(f"  {name:>9} {'█' * round(value * width):<{width}} {value:6.1%}"
                     for name, value in result.probabilities.items())


def emotion_colours(labels: list[str]) -> dict[str, str]:
    """One colour per class, the same in every timeline (other models' classes take the palette's)."""
    return {name: EMOTION_COLOURS.get(name, COLOURS[index % len(COLOURS)]) for index, name in enumerate(labels)}


def timeline_frame(analysis: VideoAnalysis | None, track: int | None) -> pd.DataFrame:
    """The smoothed probability of every class over time for one face track, long format."""
    rows = [] if analysis is None or track is None else [
        {"time (s)": round(time_s, 3), "emotion": name, "probability": value}
        for time_s, face in analysis.appearances(track) for name, value in face.smoothed.items()]
    return pd.DataFrame(rows, columns=["time (s)", "emotion", "probability"])


def track_table(analysis: VideoAnalysis) -> pd.DataFrame:
    """One row per face track: when it was seen, its share of time per emotion, its strongest moments."""
    rows = []
    for track in analysis.track_ids():
        summary = analysis.summary(track)
        shares = sorted(summary["share"].items(), key=lambda item: -item[1])
        rows.append({"face": track, "seen (s)": f"{summary['first_s']:.1f}–{summary['last_s']:.1f}",
                     "share of time": ", ".join(f"{name} {share:.0%}" for name, share in shares if share),
                     "strongest moments": "; ".join(f"{moment['label']} {moment['probability']:.0%} at "
                                                    f"{moment['time_s']:.1f} s"
                                                    for moment in summary["strongest_moments"])})
    return pd.DataFrame(rows, columns=["face", "seen (s)", "share of time", "strongest moments"])


def annotate_tracked(picture: Image.Image, faces: list[TrackedFace], selected: int | None = None) -> Image.Image:
    """A video or webcam frame with each face's track number and smoothed label, or a "no face" note."""
    if not faces:
        return with_note(picture, "no face")
    return annotate(picture, Analysis([face.shown() for face in faces]), selected=selected,
                    numbers=[face.track for face in faces])


def with_note(picture: Image.Image, text: str) -> Image.Image:
    """A copy of the picture with `text` on a dark band in its top-left corner."""
    canvas = picture.copy()
    draw = ImageDraw.Draw(canvas)
    margin, font = label_style(picture)
    left, top, right, bottom = draw.textbbox((margin, margin), text, font=font)
    draw.rectangle((0, 0, right + margin, bottom + margin), fill="#333333")
    draw.text((margin, margin), text, fill="white", font=font)
    return canvas
