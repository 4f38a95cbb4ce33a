"""The emotion classifier: a network from `fer.model.architectures` plus what it needs to be used
(class names, input size, pixel normalisation), saved as config.json + model.safetensors and
loadable with `EmotionClassifier.from_pretrained(local_dir_or_hub_id)`."""

from __future__ import annotations

import contextlib
import math
import sys
from pathlib import Path

import httpx
import torch
from huggingface_hub import PyTorchModelHubMixin, constants
from huggingface_hub.errors import HfHubHTTPError
from torch import nn

from fer.errors import first_line
from fer.model.architectures import ARCHITECTURES, build

BUNDLED_MODEL = Path(__file__).parent.parent / "pretrained"
FER2013_LABELS = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]

# Bounds for a config.json read from disk or the Hub: anything outside is refused before a
# single tensor is allocated, so a hostile config cannot make the app allocate gigabytes.
MAX_WIDTH = 256
INPUT_SIZE_RANGE = (16, 96)
MAX_CLASSES = 100
MAX_MEMBERS = 8  # networks averaged into one model (fer.training.ensemble)
WEIGHT_DTYPES = ("float32", "float16")  # how model.safetensors stores the weights; the model computes in float32
# What the probabilities mean: FER-2013's label of a face, or how FER+'s ten annotators would label it.
FER2013_LABELS_SOURCE, FERPLUS_VOTES_SOURCE = "fer2013_labels", "ferplus_votes"
TRAINED_ON = (FER2013_LABELS_SOURCE, FERPLUS_VOTES_SOURCE)


class ModelConfigError(ValueError):
    """A config.json that does not describe a model this project can build."""


class EmotionClassifier(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="pytorch",
    tags=["image-classification", "facial-expression-recognition", "fer2013"],
    pipeline_tag="image-classification",
    license="mit",
):
    def __init__(self, arch: str = "vgg", labels: list[str] | None = None, input_size: int = 40,
                 width: int = 48, dropout: float = 0.3, mean: float = 0.5, std: float = 0.25,
                 prior_correction: list[float] | None = None, weights_dtype: str = "float32",
                 trained_on: str = FER2013_LABELS_SOURCE, members: int = 1):
        super().__init__()
        labels = list(FER2013_LABELS) if labels is None else labels
        validate_config(arch, labels, input_size, width, dropout, mean, std, prior_correction, weights_dtype,
                        trained_on, members)
        self.arch, self.labels, self.input_size, self.width = arch, labels, input_size, width
        self.mean, self.std = mean, std
        self.prior_correction = prior_correction  # class-probability multipliers (fer.training.calibration) or None
        self.weights_dtype = weights_dtype
        self.trained_on = trained_on
        self.members = members  # networks of this arch whose probabilities are averaged; 1 for a trained model
        self.net = build(arch, len(labels), input_size, width, dropout, members)

    def forward(self, x):
        return self.net(x)

    def networks(self) -> list[nn.Module]:
        """The networks behind the output: the one, or each member of an average."""
        return list(self.net.members) if self.members > 1 else [self.net]

    def _save_pretrained(self, save_directory: Path) -> None:
        """model.safetensors with the floating-point tensors in `weights_dtype` (float16: half the bytes).

        Loading needs nothing special: `load_state_dict` copies them into the float32 parameters."""
        if self.weights_dtype == "float32":
            return super()._save_pretrained(save_directory)  # byte for byte what the mixin always wrote
        from safetensors.torch import save_file

        halved = {name: value.to(torch.float16).contiguous() if value.is_floating_point() else value
                  for name, value in self.state_dict().items()}
        if not all(value.isfinite().all() for value in halved.values() if value.is_floating_point()):
            raise ValueError("weights beyond the float16 range (±65,504): store them as float32")
        save_file(halved, str(save_directory / constants.SAFETENSORS_SINGLE_FILE))

    def with_prior_correction(self, prior_correction: list[float] | None) -> EmotionClassifier:
        """The same network and weights, saved and predicting with these class-probability multipliers."""
        twin = EmotionClassifier(**{**self._hub_mixin_config, "prior_correction": prior_correction})
        twin.load_state_dict(self.state_dict())
        return twin.train(self.training)


def validate_config(arch, labels, input_size, width, dropout, mean, std, prior_correction=None,
                    weights_dtype="float32", trained_on=FER2013_LABELS_SOURCE, members=1) -> None:
    problems = []
    if arch not in ARCHITECTURES:
        problems.append(f"arch {arch!r} is not one of {sorted(ARCHITECTURES)}")
    if not (isinstance(labels, list) and 2 <= len(labels) <= MAX_CLASSES
            and all(isinstance(name, str) and name for name in labels)):
        problems.append(f"labels must be a list of 2 to {MAX_CLASSES} class names")
    if not (_is_int(input_size) and INPUT_SIZE_RANGE[0] <= input_size <= INPUT_SIZE_RANGE[1]):
        problems.append(f"input_size must be an integer in {INPUT_SIZE_RANGE}, not {input_size!r}")
    if not (_is_int(width) and 1 <= width <= MAX_WIDTH):
        problems.append(f"width must be an integer from 1 to {MAX_WIDTH}, not {width!r}")
    if not (_is_number(dropout) and 0 <= dropout < 1):
        problems.append(f"dropout must be a number in [0, 1), not {dropout!r}")
    if not (_is_number(mean) and _is_number(std) and std > 0):
        problems.append("mean and std must be numbers, std > 0")
    if prior_correction is not None and not (
            isinstance(prior_correction, list) and isinstance(labels, list) and len(prior_correction) == len(labels)
            and all(_is_number(weight) and 0 < weight < math.inf for weight in prior_correction)):
        problems.append("prior_correction must be null or one positive number per label")
    if weights_dtype not in WEIGHT_DTYPES:
        problems.append(f"weights_dtype must be one of {WEIGHT_DTYPES}, not {weights_dtype!r}")
    if trained_on not in TRAINED_ON:
        problems.append(f"trained_on must be one of {TRAINED_ON}, not {trained_on!r}")
    if not (_is_int(members) and 1 <= members <= MAX_MEMBERS):
        problems.append(f"members must be an integer from 1 to {MAX_MEMBERS}, not {members!r}")
    if problems:
        raise ModelConfigError("invalid model config: " + "; ".join(problems))


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class ModelLoadError(Exception):
    """Weights or config that cannot be loaded; the message names the source."""


def load_classifier(source: str) -> EmotionClassifier:
    """`from_pretrained` from a local folder or Hub id, in eval mode, with one-line errors."""
    from safetensors import SafetensorError

    try:
        # huggingface_hub prints "Loading weights from local directory" to stdout, which must stay
        # clean for `fer.app.cli --json` and `fer.training.evaluate`'s JSON line.
        with contextlib.redirect_stdout(sys.stderr):
            model = EmotionClassifier.from_pretrained(str(source))
    except ModelConfigError as error:
        raise ModelLoadError(f"{source}/config.json: {error}") from None
    except SafetensorError as error:
        raise ModelLoadError(f"{source}/model.safetensors is damaged or truncated ({error})") from None
    except (OSError, ValueError, TypeError, RuntimeError, KeyError, HfHubHTTPError, httpx.HTTPError) as error:
        raise ModelLoadError(f"cannot load a model from {source}: {first_line(error)}") from None
    return model.eval()


def load_for_app(source: str | None) -> tuple[EmotionClassifier, str]:
    """The model named by `source` (Hub id or folder), or the bundled one; and a line saying which."""
    if not source:
        return load_classifier(BUNDLED_MODEL), "the bundled model (fer/pretrained)"
    try:
        return load_classifier(source), f"`{source}`"
    except ModelLoadError as error:
        return load_classifier(BUNDLED_MODEL), f"the bundled model, because {source} could not be loaded ({error})"
