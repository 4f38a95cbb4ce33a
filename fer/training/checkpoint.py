"""Resumable training state in one safetensors file (no pickle), written atomically, always as CPU tensors
(a run started on a GPU resumes on a CPU and the other way round).

Tensors: the model's state dict under `model.`, the optimizer's per-parameter buffers under
`optimizer.<index>.`, the moving average of the weights (if the run keeps one) under `average.`.
Everything else (epoch, history, best score, param groups) is JSON in the file's metadata, so one
file always holds one consistent epoch.
"""

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from fer.errors import first_line


class CheckpointError(Exception):
    """A checkpoint or weights file that cannot be read; the message names the file."""


def atomic_save_tensors(tensors: dict, path: Path, metadata: dict | None = None) -> None:
    temporary = path.with_name(path.name + ".tmp")
    save_file({name: t.detach().cpu().contiguous() for name, t in tensors.items()}, str(temporary), metadata=metadata)
    os.replace(temporary, path)


def save(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict,
         average: torch.nn.Module | None = None) -> None:
    tensors = {f"model.{name}": value for name, value in model.state_dict().items()}
    if average is not None:
        tensors.update({f"average.{name}": value for name, value in average.state_dict().items()})
    optimizer_state = optimizer.state_dict()
    for index, buffers in optimizer_state["state"].items():
        for key, value in buffers.items():
            tensors[f"optimizer.{index}.{key}"] = torch.as_tensor(value)
    metadata = {"state": json.dumps(state), "param_groups": json.dumps(optimizer_state["param_groups"])}
    atomic_save_tensors(tensors, path, metadata)


def load(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
         average: torch.nn.Module | None = None) -> dict:
    """Restore model, optimizer and weight average from `path`; return the saved training state.

    A checkpoint without an average leaves `average` untouched: it restarts from the model's weights."""
    try:
        tensors = load_file(str(path))
        with open(path, "rb") as handle:
            header_size = int.from_bytes(handle.read(8), "little")
            metadata = json.loads(handle.read(header_size))["__metadata__"]
        state = json.loads(metadata["state"])
        param_groups = json.loads(metadata["param_groups"])
        model.load_state_dict({name[len("model."):]: value for name, value in tensors.items()
                               if name.startswith("model.")})
        saved_average = {name[len("average."):]: value for name, value in tensors.items()
                         if name.startswith("average.")}
        if average is not None and saved_average:
            average.load_state_dict(saved_average)
    except (SafetensorError, OSError, ValueError, KeyError, RuntimeError) as error:
        raise CheckpointError(f"Cannot resume from {path}: the file is damaged or not a checkpoint "
                              f"of this model ({first_line(error)})") from None
    buffers: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            buffers.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": buffers, "param_groups": param_groups})
    return state
