"""Number formats for training: bf16 autocast where the hardware computes it natively, fp16 with a gradient
scaler on GPUs without bf16, fp32 elsewhere."""

import contextlib

import torch

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def cpu_has_native_bf16() -> bool:
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def resolve(precision: str, device: torch.device = torch.device("cpu")) -> str:
    """'auto' becomes the fastest safe format on `device`; an explicit choice is kept."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu":
        return "bf16" if cpu_has_native_bf16() else "fp32"
    return "fp32"  # Apple's MPS: its autocast gains little for a net this small


def autocast(precision: str, device: torch.device = torch.device("cpu")):
    if precision in AUTOCAST_DTYPES:
        return torch.autocast(device.type, dtype=AUTOCAST_DTYPES[precision])
    return contextlib.nullcontext()


def gradient_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler:
    """fp16 gradients underflow without loss scaling; for the other formats the scaler passes steps through."""
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")
