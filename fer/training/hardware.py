"""Where training runs: the device (a CUDA GPU, Apple's MPS or the CPU) and, when started by `torchrun`,
which of several processes this one is (DistributedDataParallel: backend nccl on CUDA, gloo on the CPU).

Every process builds each global batch exactly as a single process would (the same shuffled order and
augmentation, from the epoch's seed) and trains on its own contiguous share of it; DDP averages the gradients,
so N processes take the steps one process takes with the same `--batch-size`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

DEVICES = ("auto", "cpu", "cuda", "mps")


class HardwareError(Exception):
    """A device that was asked for and is not there; the message is for the user."""


def mps_is_available() -> bool:
    return torch.backends.mps.is_available()


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """'auto': CUDA, else Apple's MPS, else the CPU; an explicit device that is not there is a clear error."""
    if name not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, not {name!r}")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if mps_is_available() else "cpu"
    elif name == "cuda" and not torch.cuda.is_available():
        raise HardwareError("--device cuda, but PyTorch sees no CUDA GPU here (a CPU-only build of torch, or no "
                         "driver); use --device auto or cpu")
    elif name == "mps" and not mps_is_available():
        raise HardwareError("--device mps, but Apple's MPS is not available here; use --device auto or cpu")
    return torch.device("cuda", local_rank) if name == "cuda" else torch.device(name)


@dataclass(frozen=True)
class Hardware:
    device: torch.device
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """The one process that prints, writes files and pushes."""
        return self.rank == 0

    def share(self, batch_size: int) -> slice:
        """This process's contiguous part of a global batch (as equal as the batch allows)."""
        base, extra = divmod(batch_size, self.world_size)
        start = self.rank * base + min(self.rank, extra)
        return slice(start, start + base + (self.rank < extra))

    def wrap(self, model: nn.Module) -> nn.Module:
        """The model as the training step calls it: DDP-wrapped when there are several processes."""
        if self.world_size == 1:
            return model
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids)

    def sync_batch_norm(self, model: nn.Module) -> nn.Module:
        """On several GPUs, batch norm computes its statistics over the global batch (SyncBatchNorm runs on GPUs
        only); on the CPU each process normalises by its own share, as plain DDP does."""
        if self.world_size > 1 and self.device.type == "cuda":
            return nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return model

    def broadcast_buffers(self, model: nn.Module) -> None:
        """Batch-norm running statistics as process 0 has them, so every process validates the same model."""
        if self.world_size > 1:
            for buffer in model.buffers():
                dist.broadcast(buffer, src=0)

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """`values` added up over all processes (a copy; on the CPU)."""
        if self.world_size == 1:
            return values
        total = values.to(self.device)
        dist.all_reduce(total)
        return total.cpu()

    def barrier(self) -> None:
        """Wait here until every process arrives (e.g. until process 0 has written what the others read)."""
        if self.world_size > 1:
            dist.barrier()


def start(device: str) -> Hardware:
    """This process's hardware; under torchrun (WORLD_SIZE > 1) it joins the process group once."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Hardware(resolve_device(device))
    resolved = resolve_device(device, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        if resolved.type == "cuda":
            torch.cuda.set_device(resolved)
        dist.init_process_group("nccl" if resolved.type == "cuda" else "gloo")
    return Hardware(resolved, dist.get_rank(), world_size)


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
