"""The classifier as `model.onnx` beside config.json + model.safetensors, for runtimes without PyTorch.

    python -m fer.onnx_export fer/pretrained runs/default      # (re-)export existing model folders

Input `faces`: float32 N×1×S×S (S = the model's input_size), the centre crop of each 48×48 grayscale
face normalised as (pixel / 255 − mean) / std. Output `probabilities`: N×C class probabilities of that
one view, with the model's prior correction applied. A model stored in float16 keeps its weights in float16
in this file too (computing in float32). Test-time augmentation stays with the caller.
The labels, input size, mean and std are in the file's metadata.
"""

import argparse
import json
import os
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnx.numpy_helper
import torch
from torch import nn

from fer.face_path.tensors import IMAGE_SIZE
from fer.model.classifier import EmotionClassifier, ModelLoadError, load_classifier
from fer.model.probabilities import corrected

ONNX_NAME = "model.onnx"
OPSET = 17

CARD_SECTION = """## ONNX

`model.onnx` (opset {opset}) is the same network for ONNX Runtime and other runtimes without PyTorch.
Input `faces`: float32 N×1×{size}×{size}, the centre {size}×{size} crop of each 48×48 grayscale face, normalised
as (pixel / 255 − {mean}) / {std}. Output `probabilities`: N×{num_classes} class probabilities of that one view
({labels}){correction}; the labels are also in the file's metadata. The app averages each
face with its mirror image (test-time augmentation `flip`); with ONNX Runtime:

```python
import numpy as np, onnxruntime as ort
session = ort.InferenceSession("model.onnx")
crops = faces[:, None, {top}:{bottom}, {top}:{bottom}].astype(np.float32) / 255  # faces: uint8 N×48×48 grayscale
views = [(crops - {mean}) / {std}, (crops[..., ::-1] - {mean}) / {std}]  # the centre crop and its mirror image
probabilities = np.mean([session.run(None, {{"faces": view}})[0] for view in views], axis=0)
```

{tie_note}Re-export after changing the weights:
`python -m fer.onnx_export MODEL_DIR`.
"""


TIE_NOTE = ("The app corrects the mean of the two views' softmax rather than averaging corrected views, so a face "
            "near a\ntie between two classes can get the other one. ")


def card_section(model: EmotionClassifier) -> str:
    top = round((IMAGE_SIZE - model.input_size) / 2)  # where torchvision's centre crop starts
    corrected_model = model.prior_correction is not None
    return CARD_SECTION.format(opset=OPSET, size=model.input_size, mean=model.mean, std=model.std,
                               num_classes=len(model.labels), labels=", ".join(model.labels), top=top,
                               bottom=top + model.input_size,
                               correction=", prior correction included" if corrected_model else "",
                               tie_note=TIE_NOTE if corrected_model else "")


def add_to_card(folder: Path, model: EmotionClassifier) -> None:
    """Put the ONNX section into an existing card (before its Training section), or refresh it."""
    path = Path(folder) / "README.md"
    if not path.exists():
        return
    text = re.sub(r"## ONNX\n.*?(?=^## )", "", path.read_text(), flags=re.S | re.M)
    path.write_text(text.replace("## Training\n", card_section(model) + "\n## Training\n", 1))


class CorrectedProbabilities(nn.Module):
    """The classifier's softmax times its prior correction, as `fer.model.probabilities` computes it for one view."""

    def __init__(self, model: EmotionClassifier):
        super().__init__()
        self.model = model

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        return corrected(self.model(faces).float().softmax(-1), self.model.prior_correction)


def export_onnx(model: EmotionClassifier, folder: Path) -> Path:
    """Write `folder/model.onnx` (replacing any older one at once) and return its path."""
    path, staging = Path(folder) / ONNX_NAME, Path(folder) / f"{ONNX_NAME}.tmp"
    example = torch.zeros(1, 1, model.input_size, model.input_size)
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of the dynamo one, which needs onnxscript, takes
        # about 9× longer here and splits the weights into a second file; torch is pinned, so it stays.
        # Its tracer warns that the multipliers become constants of the graph, which is the point.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(CorrectedProbabilities(model).eval(), (example,), str(staging), dynamo=False,
                          opset_version=OPSET, input_names=["faces"], output_names=["probabilities"],
                          dynamic_axes={"faces": {0: "batch"}, "probabilities": {0: "batch"}})
    exported = onnx.load(str(staging))
    if model.weights_dtype == "float16":
        store_weights_in_float16(exported.graph)
    onnx.helper.set_model_props(exported, {"labels": json.dumps(model.labels), "input_size": str(model.input_size),
                                           "mean": str(model.mean), "std": str(model.std)})
    onnx.save(exported, str(staging))
    os.replace(staging, path)
    return path


def store_weights_in_float16(graph: onnx.GraphProto) -> None:
    """Each float32 weight stored as float16 and cast back to float32 where the graph reads it: half the bytes,
    float32 compute (ONNX Runtime folds the casts when it loads the file)."""
    casts = []
    for weight in graph.initializer:
        if weight.data_type != onnx.TensorProto.FLOAT:
            continue
        halved = onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(weight).astype(np.float16),
                                              f"{weight.name}_float16")
        casts.append(onnx.helper.make_node("Cast", [halved.name], [weight.name], to=onnx.TensorProto.FLOAT))
        weight.CopyFrom(halved)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)  # the casts first: the graph stays in topological order


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Export model folders (config.json + model.safetensors) to "
                                                 f"{ONNX_NAME}, opset {OPSET}.")
    parser.add_argument("folders", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for folder in args.folders:
        try:
            model = load_classifier(folder)
            path = export_onnx(model, folder)
            add_to_card(folder, model)
        except ModelLoadError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, opset {OPSET})")
    return 0
