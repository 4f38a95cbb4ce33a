"""CPU number formats: bf16 autocast where the processor computes it natively, fp32 elsewhere."""

import contextlib

import torch

PRECISIONS = ("auto", "bf16", "fp32")


def cpu_has_native_bf16() -> bool:
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def resolve(precision: str) -> str:
    """'auto' becomes 'bf16' or 'fp32' for this machine; an explicit choice is kept."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    if precision == "auto":
        return "bf16" if cpu_has_native_bf16() else "fp32"
    return precision


def autocast(precision: str):
    if precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()
