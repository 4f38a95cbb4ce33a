"""How much accuracy survives the app's face path: validation faces fed straight to the classifier
vs the same faces made into pictures a visitor might send and passed through what the app and
`fer.app.cli` do with an upload (decode → detect → crop → 48×48 → classify).

    python benchmarks/pipeline_fidelity.py [--model fer/pretrained [runs/NAME ...]] [--dataset ../shared/fer2013] [--limit N]

Pictures: the 48×48 faces upscaled ×2/×4/×8 (bicubic, saved as PNG), the raw 48×48 files, ×4 faces
rotated by ±10° and ±20° (edges repeated, so no black corners), ×4 faces in a larger frame (30 % reflected
on each side, so the face is smaller than the picture), and ×4 faces saved as JPEG at quality 40. Each row:
the share of pictures where the detector found a face, the accuracy of the largest face's prediction,
and its gap to the straight-fed accuracy, for each model given (the pictures are detected and cropped once).
Where the split has FER+'s votes, each cell also gives the accuracy against the plurality of the ten
annotators (`fer.training.agreement`), the measure the bundled model is judged by.
"""

import argparse
import io
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fer.face_path.faces import DETECTED, face_crops, find_faces  # noqa: E402
from fer.face_path.image import open_image  # noqa: E402
from fer.model.classifier import BUNDLED_MODEL, load_classifier  # noqa: E402
from fer.model.probabilities import DEFAULT_TTA, TTA_MODES, face_probabilities, predict_probabilities  # noqa: E402
from fer.training.agreement import agreement_with_people  # noqa: E402
from fer.training.dataset import load_fer  # noqa: E402
from fer.training.evaluate import labels_in_model_order  # noqa: E402


def upscaled(face: Image.Image, factor: int) -> Image.Image:
    return face.resize((face.width * factor, face.height * factor), Image.Resampling.BICUBIC)


def rotated(face: Image.Image, degrees: float) -> Image.Image:
    """×4, turned about its centre; the corners come from the picture's repeated edges."""
    large = np.asarray(upscaled(face, 4))
    margin = large.shape[0] // 2
    turned = Image.fromarray(np.pad(large, margin, mode="edge")).rotate(degrees, Image.Resampling.BICUBIC)
    return turned.crop((margin, margin, margin + large.shape[1], margin + large.shape[0]))


def framed(face: Image.Image, share: float) -> Image.Image:
    """×4 inside a frame `share` wider on each side, filled by reflecting the picture."""
    large = np.asarray(upscaled(face, 4))
    return Image.fromarray(np.pad(large, round(share * large.shape[0]), mode="reflect"))


def encoded(picture: Image.Image, format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format=format, **options)
    return buffer.getvalue()


CASES = {
    "×2 bicubic": lambda face: encoded(upscaled(face, 2)),
    "×4 bicubic": lambda face: encoded(upscaled(face, 4)),
    "×8 bicubic": lambda face: encoded(upscaled(face, 8)),
    "raw 48×48": lambda face: encoded(face),
    "×4 rotated −20°": lambda face: encoded(rotated(face, -20)),
    "×4 rotated −10°": lambda face: encoded(rotated(face, -10)),
    "×4 rotated +10°": lambda face: encoded(rotated(face, 10)),
    "×4 rotated +20°": lambda face: encoded(rotated(face, 20)),
    "×4 in a 30 % reflected frame": lambda face: encoded(framed(face, 0.3)),
    "×4 JPEG quality 40": lambda face: encoded(upscaled(face, 4), "JPEG", quality=40),
}


def app_crops(files: list[bytes], desc: str) -> tuple[list[list[np.ndarray]], float]:
    """Each file as an upload: the largest face's 48×48 crops, and the share of files with a detected face."""
    crops, detected = [], 0
    for file in tqdm(files, desc=desc, unit="img", leave=False):
        image = open_image(file)
        faces, _ = find_faces(image)
        crops.append(face_crops(image, faces[0]))
        detected += faces[0].kind == DETECTED
    return crops, detected / len(files)


def scores(probabilities: torch.Tensor, true: torch.Tensor, votes: torch.Tensor | None, labels: list[str]) -> dict:
    """Accuracy against the FER-2013 labels and, with votes, against the plurality of FER+'s ten annotators."""
    figures = {"labels": (probabilities.argmax(1) == true).double().mean().item()}
    if votes is not None:
        figures["people"] = agreement_with_people(probabilities, votes, labels)["plurality_accuracy"]
    return figures


def cell(figures: dict, straight: dict | None = None) -> str:
    """`labels (gap) / people (gap)`; the gaps in points against the straight-fed figures."""
    return " / ".join(f"{value:.2%}" + (f" ({100 * (value - straight[name]):+.2f})" if straight else "")
                      for name, value in figures.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", nargs="+", default=[str(BUNDLED_MODEL)], help="one or more model folders or Hub ids")
    parser.add_argument("--dataset", default=str(ROOT.parent / "shared" / "fer2013"))
    parser.add_argument("--split", default="validation")
    parser.add_argument("--tta", choices=TTA_MODES, default=DEFAULT_TTA)
    parser.add_argument("--limit", type=int, help="only the first N faces of the split (default: all)")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES), metavar="CASE")
    args = parser.parse_args()
    models = {source: load_classifier(source) for source in args.model}
    data = load_fer(args.dataset)
    images = data.splits[args.split].images[:args.limit]
    true = {source: labels_in_model_order(data, args.split, model)[:args.limit] for source, model in models.items()}
    votes = data.splits[args.split].votes
    votes = None if votes is None else votes[:args.limit]

    def model_scores(probabilities_of) -> dict:
        return {source: scores(probabilities_of(model), true[source], votes, model.labels)
                for source, model in models.items()}

    straight = model_scores(lambda model: predict_probabilities(model, images, args.tta))
    against = "FER-2013 label accuracy" + (" / FER+ plurality accuracy" if votes is not None else "")
    print(f"{args.split}: {len(images)} faces, TTA {args.tta}; {against} (gap to straight-fed, points) per model\n")
    print("| input | faces detected | " + " | ".join(f"`{source}`" for source in models) + " |")
    print("|---|---|" + "---|" * len(models))
    print("| 48×48 faces fed straight to the classifier | — | "
          + " | ".join(cell(figures) for figures in straight.values()) + " |")
    faces = [Image.fromarray(image.numpy()) for image in images]
    for name in args.cases:
        crops, detected = app_crops([CASES[name](face) for face in faces], name)
        through_path = model_scores(lambda model: face_probabilities(model, crops, args.tta))
        cells = [cell(figures, straight[source]) for source, figures in through_path.items()]
        print(f"| {name} | {detected:.1%} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
