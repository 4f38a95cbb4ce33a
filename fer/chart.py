"""Probabilities as pictures: boxes and labels drawn on the photo, and the per-class bar data."""

from __future__ import annotations

import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from fer.analysis import Analysis, FaceResult

FACE_COLUMNS = ["face", "emotion", "confidence", "kind", "box (x, y, w, h)"]
COLOURS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
           "#fabed4", "#469990"]


def probability_frame(result: FaceResult | None, labels: list[str]) -> pd.DataFrame:
    """All classes in the model's fixed order (zeros when there is no face yet)."""
    values = [result.probabilities[name] if result else 0.0 for name in labels]
    return pd.DataFrame({"emotion": labels, "probability": values})


def face_table(analysis: Analysis) -> pd.DataFrame:
    rows = [{"face": index + 1, "emotion": result.label, "confidence": round(result.confidence, 3),
             "kind": result.face.kind, "box (x, y, w, h)": ", ".join(map(str, result.face.box))}
            for index, result in enumerate(analysis.faces)]
    return pd.DataFrame(rows, columns=FACE_COLUMNS)


def annotate(image: Image.Image, analysis: Analysis, selected: int = 0) -> Image.Image:
    """A copy of the picture with a numbered box and 'label confidence' on every face."""
    canvas = image.copy()
    draw = ImageDraw.Draw(canvas)
    line = max(2, round(max(image.size) / 300))
    font = ImageFont.load_default(size=max(12, round(max(image.size) / 40)))
    for index, result in enumerate(analysis.faces):
        x, y, width, height = result.face.box
        colour = COLOURS[index % len(COLOURS)]
        draw.rectangle((x, y, x + width, y + height), outline=colour, width=line * (2 if index == selected else 1))
        text = f"{index + 1}: {result.label} {result.confidence:.0%}"
        left, top, right, bottom = draw.textbbox((x, y), text, font=font)
        label_height = (bottom - top) + 2 * line
        label_top = y - label_height if y >= label_height else y  # above the box, or inside it at the top
        draw.rectangle((x, label_top, x + (right - left) + 2 * line, label_top + label_height), fill=colour)
        draw.text((x + line, label_top + line - (top - y)), text, fill="white", font=font)
    return canvas


def text_bars(result: FaceResult, width: int = 30) -> str:
    """The bar chart for a terminal."""
    return "\n".join(f"  {name:>9} {'█' * round(value * width):<{width}} {value:6.1%}"
                     for name, value in result.probabilities.items())
