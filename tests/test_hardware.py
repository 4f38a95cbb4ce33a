"""The trainer on other hardware: the device choice (GPU checks patched), fp16 with a gradient scaler, and
DistributedDataParallel with two CPU processes (gloo) against one process taking the same global batches."""

import json
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file

from fer.training import checkpoint, hardware, loop, precision, recipes
from fer.training.dataset import load_fer

# The student report's network: no dropout and no batch norm, so two processes can match one closely.
SEED_NET = dict(arch="seed", width=4, input_size=40, epochs=2, restarts=0, batch_size=16, lr=0.02,
                augment=True, precision="fp32", match_class_prior=False)
TOLERANCE = 1e-5  # largest weight difference allowed: float sums in another order, over 10 steps


def test_auto_is_the_cpu_here_and_an_absent_gpu_asked_for_is_a_clear_error():
    assert hardware.resolve_device("auto") == torch.device("cpu")
    with pytest.raises(hardware.HardwareError, match="no CUDA GPU"):
        hardware.resolve_device("cuda")
    with pytest.raises(hardware.HardwareError, match="MPS is not available"):
        hardware.resolve_device("mps")


def test_auto_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(hardware, "mps_is_available", lambda: True)
    assert hardware.resolve_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert hardware.resolve_device("auto") == torch.device("cuda", 0)
    assert hardware.resolve_device("cuda", local_rank=3) == torch.device("cuda", 3)


@pytest.mark.parametrize("bf16_supported, expected", [(True, "bf16"), (False, "fp16")])
def test_auto_precision_on_a_gpu_is_bf16_where_supported_else_fp16(monkeypatch, bf16_supported, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: bf16_supported)
    assert precision.resolve("auto", torch.device("cuda", 0)) == expected
    assert precision.resolve("fp32", torch.device("cuda", 0)) == "fp32"
    assert precision.gradient_scaler(expected, torch.device("cpu")).is_enabled() == (expected == "fp16")


def test_auto_precision_on_the_cpu_is_unchanged(monkeypatch):
    for native in (True, False):
        monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native)
        assert precision.resolve("auto", torch.device("cpu")) == ("bf16" if native else "fp32")
        assert precision.resolve("auto") == ("bf16" if native else "fp32")


@pytest.mark.parametrize("batch", [16, 17, 1, 0])
@pytest.mark.parametrize("world_size", [1, 2, 3])
def test_the_processes_shares_of_a_batch_cover_it_once_and_differ_by_one_image_at_most(batch, world_size):
    shares = [hardware.Hardware(torch.device("cpu"), rank, world_size).share(batch) for rank in range(world_size)]
    covered = [index for part in shares for index in range(batch)[part]]
    assert covered == list(range(batch))
    sizes = [len(range(batch)[part]) for part in shares]
    assert max(sizes) - min(sizes) <= 1


def test_fp16_training_with_a_gradient_scaler_keeps_its_scale_across_a_resume(local_dataset, tmp_path):
    data = load_fer(str(local_dataset))
    config = recipes.recipe("default", **{**SEED_NET, "arch": "vgg", "precision": "fp16", "epochs": 2})
    state = loop.train(config, data, tmp_path)
    assert state["precision"] == "fp16" and state["gradient_scaler"]["scale"] > 0
    assert all(torch.isfinite(torch.tensor(record["train_loss"])) for record in state["history"])
    longer = recipes.recipe("default", **{**SEED_NET, "arch": "vgg", "precision": "fp16", "epochs": 3})
    resumed = loop.train(longer, data, tmp_path, resume=True)
    assert resumed["epochs_done"] == 3 and resumed["history"][:2] == state["history"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Interrupted(Exception):
    """Raised in every process at the start of an epoch, standing in for a crash."""


def train_as_one_of_two(rank: int, port: int, dataset: str, out_dir: str, log_dir: str, settings: dict,
                        crash_at_epoch: int | None) -> None:
    """One process of `torchrun --nproc_per_node 2`: the environment torchrun sets, then loop.train. Logs which
    files-writing calls this process made, and its training history."""
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": "2",
                       "RANK": str(rank), "LOCAL_RANK": str(rank), "LOCAL_WORLD_SIZE": "2"})
    writes = []
    real_save, real_save_best, real_run_epoch = checkpoint.save, loop.save_best, loop.run_epoch

    def run_epoch(model, optimizer, split, config, epoch, *args, **kwargs):
        if epoch == crash_at_epoch:
            dist.barrier()  # process 0 has written the previous epoch's checkpoint
            raise Interrupted
        return real_run_epoch(model, optimizer, split, config, epoch, *args, **kwargs)

    checkpoint.save = lambda *args, **kwargs: writes.append("checkpoint") or real_save(*args, **kwargs)
    loop.save_best = lambda *args, **kwargs: writes.append("best") or real_save_best(*args, **kwargs)
    loop.run_epoch = run_epoch
    history = None
    try:
        history = loop.train(recipes.recipe("default", **settings), load_fer(dataset), Path(out_dir))["history"]
    except Interrupted:
        pass
    finally:
        hardware.stop()
    (Path(log_dir) / f"rank{rank}.json").write_text(json.dumps({"writes": writes, "history": history}))


def two_processes(dataset: Path, out_dir: Path, settings: dict, crash_at_epoch: int | None = None) -> list[dict]:
    log_dir = out_dir.parent / f"{out_dir.name}-logs"
    log_dir.mkdir(parents=True)
    mp.spawn(train_as_one_of_two, args=(free_port(), str(dataset), str(out_dir), str(log_dir), settings,
                                        crash_at_epoch), nprocs=2)
    return [json.loads((log_dir / f"rank{rank}.json").read_text()) for rank in range(2)]


def without_timing(history: list[dict]) -> list[dict]:
    return [{key: value for key, value in record.items() if key != "seconds"} for record in history]


def largest_difference(folder_a: Path, folder_b: Path) -> float:
    a, b = load_file(str(folder_a / "model.safetensors")), load_file(str(folder_b / "model.safetensors"))
    assert a.keys() == b.keys()
    return max((a[name] - b[name]).abs().max().item() for name in a)


@pytest.fixture(scope="module")
def one_process_run(local_dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("one_process")
    loop.train(recipes.recipe("default", **SEED_NET), load_fer(str(local_dataset)), out)
    return out


def test_two_processes_train_the_weights_one_process_trains_and_only_the_first_writes(
        local_dataset, one_process_run, tmp_path):
    ranks = two_processes(local_dataset, tmp_path / "two", SEED_NET)
    assert largest_difference(tmp_path / "two", one_process_run) < TOLERANCE
    assert "checkpoint" in ranks[0]["writes"] and "best" in ranks[0]["writes"]
    assert ranks[1]["writes"] == []
    assert without_timing(ranks[0]["history"]) == without_timing(ranks[1]["history"]), "they validated different models"


def test_two_processes_with_batch_norm_and_a_weight_average_validate_the_same_model(local_dataset, tmp_path):
    settings = {**SEED_NET, "arch": "vgg", "ema": 0.9, "dropout": 0.3}
    ranks = two_processes(local_dataset, tmp_path / "two", settings)
    assert without_timing(ranks[0]["history"]) == without_timing(ranks[1]["history"])


def test_a_two_process_run_resumes_in_one_process_and_ends_where_one_process_ends(
        local_dataset, one_process_run, tmp_path):
    ranks = two_processes(local_dataset, tmp_path / "run", SEED_NET, crash_at_epoch=1)
    assert ranks[0]["history"] is None and (tmp_path / "run" / loop.CHECKPOINT_NAME).exists()
    state = loop.train(recipes.recipe("default", **SEED_NET), load_fer(str(local_dataset)), tmp_path / "run",
                       resume=True)
    assert state["epochs_done"] == 2 and state["hardware"] == {"device": "cpu", "processes": 1}
    assert largest_difference(tmp_path / "run", one_process_run) < TOLERANCE
