"""Training throughput (images/s) of the seed and default networks, fp32 against bf16, in one run;
or, with --widths, of default-recipe students of those widths distilled from width-44 teachers;
or, with --nproc, of the default recipe trained by 1, 2, ... DistributedDataParallel processes (gloo).

    python benchmarks/train_throughput.py [--steps 20]
    python benchmarks/train_throughput.py --widths 44 56 64 --teachers 0 3   # distillation's cost
    python benchmarks/train_throughput.py --nproc 1 2                        # torchrun's gain on this machine

With --nproc, every process takes its share of the same global batches (the recipe's 128), as under torchrun;
the communication share is how much longer a step takes with DDP's gradient all-reduce than without it
(`no_sync`), over the time with it.

Real training steps (augmentation, forward, backward, SGD; the teachers' forward passes) on random
48×48 faces, with each recipe's batch size and input size. bf16 rows are skipped where the CPU lacks
native bf16; distillation rows use bf16 where it is native.
"""

import argparse
import contextlib
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.multiprocessing as mp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fer.training import hardware, loop, precision, recipes  # noqa: E402
from fer.training.dataset import Split  # noqa: E402

LABELS = [str(i) for i in range(7)]


def images_per_second(recipe: str, compute: str, steps: int, width: int | None = None, teachers: int = 0) -> float:
    config = recipes.recipe(recipe, precision=compute, width=width)
    model = loop.build_model(config, LABELS)
    teacher_models = [loop.build_model(recipes.recipe("default", seed=seed), LABELS).eval().requires_grad_(False)
                      for seed in range(teachers)]
    optimizer = loop.make_optimizer(model, config)
    batch = config.batch_size * 2
    split = Split(torch.randint(0, 256, (batch * (steps + 2), 48, 48), dtype=torch.uint8),
                  torch.randint(0, 7, (batch * (steps + 2),)))
    warmup = Split(split.images[:batch], split.labels[:batch])
    loop.run_epoch(model, optimizer, warmup, config, 0, None, compute, "warm-up", teachers=teacher_models)
    started = time.perf_counter()
    loop.run_epoch(model, optimizer, split, config, 0, None, compute, f"{recipe} {compute}",
                       teachers=teacher_models)
    return len(split) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20, help="batches timed per row (of 2× the recipe batch)")
    parser.add_argument("--widths", type=int, nargs="+", help="time default-recipe students of these widths")
    parser.add_argument("--teachers", type=int, nargs="+", default=[0, 3], help="with --widths: teacher counts")
    parser.add_argument("--nproc", type=int, nargs="+", help="time the default recipe in this many DDP processes")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    if args.nproc:
        process_rows(args.nproc, args.steps)
        return
    if args.widths:
        distillation_rows(args.widths, args.teachers, args.steps)
        return
    computes = ["fp32"] + (["bf16"] if precision.cpu_has_native_bf16() else [])
    print(f"{torch.get_num_threads()} threads; native bf16: {precision.cpu_has_native_bf16()}")
    print(f"{'recipe':<8} {'arch':<5} {'fp32 img/s':>11} {'bf16 img/s':>11} {'bf16/fp32':>10}")
    for recipe in ("seed", "default"):
        rates = {compute: images_per_second(recipe, compute, args.steps) for compute in computes}
        bf16 = rates.get("bf16")
        print(f"{recipe:<8} {recipes.RECIPES[recipe].arch:<5} {rates['fp32']:>11.0f} "
              f"{bf16 or float('nan'):>11.0f} {(bf16 / rates['fp32']) if bf16 else float('nan'):>9.2f}x")


def distillation_rows(widths: list[int], teacher_counts: list[int], steps: int) -> None:
    compute = "bf16" if precision.cpu_has_native_bf16() else "fp32"
    print(f"{torch.get_num_threads()} threads, {compute}; teachers: default recipe, width 44")
    print(f"{'width':>5} {'teachers':>8} {'img/s':>7} {'s/epoch (28,709)':>17}")
    for width in widths:
        for teachers in teacher_counts:
            rate = images_per_second("default", compute, steps, width, teachers)
            print(f"{width:>5} {teachers:>8} {rate:>7.0f} {28709 / rate:>17.0f}")


def time_steps_in_process(rank: int, nproc: int, port: int, steps: int, results: str) -> None:
    """One of `nproc` processes (the environment torchrun sets): seconds for `steps` global batches with
    DDP's gradient all-reduce, and without it."""
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": str(nproc),
                       "RANK": str(rank), "LOCAL_RANK": str(rank), "LOCAL_WORLD_SIZE": str(nproc)})
    torch.set_num_threads(loop.cpu_threads())
    where = hardware.start("cpu")
    config = recipes.recipe("default", precision="bf16" if precision.cpu_has_native_bf16() else "fp32")
    model = loop.build_model(config, LABELS)
    trained, optimizer = where.wrap(model), loop.make_optimizer(model, config)
    images = config.batch_size * steps
    generator = torch.Generator().manual_seed(0)  # the same faces in every process
    split = Split(torch.randint(0, 256, (images, 48, 48), dtype=torch.uint8, generator=generator),
                  torch.randint(0, 7, (images,), generator=generator))
    warmup = Split(split.images[:config.batch_size * 2], split.labels[:config.batch_size * 2])
    loop.run_epoch(trained, optimizer, warmup, config, 0, None, config.precision, "warm-up", hardware=where)
    seconds = {}
    for mode in ("synced", "unsynced") if nproc > 1 else ("synced",):
        without_sync = trained.no_sync() if mode == "unsynced" else contextlib.nullcontext()
        where.barrier()
        started = time.perf_counter()
        with without_sync:
            loop.run_epoch(trained, optimizer, split, config, 0, None, config.precision, mode, hardware=where)
        seconds[mode] = time.perf_counter() - started
    if where.is_main:
        Path(results).write_text(json.dumps({"images": images, "threads": torch.get_num_threads(), **seconds}))
    hardware.stop()


def process_rows(counts: list[int], steps: int) -> None:
    print(f"default recipe, global batch 128, {steps} steps; {os.cpu_count()} cores shared by the processes")
    print(f"{'processes':>9} {'threads each':>12} {'img/s':>7} {'vs 1':>6} {'communication':>14}")
    single = None
    for nproc in counts:
        with tempfile.TemporaryDirectory() as folder, socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
            probe.close()
            results = Path(folder) / "results.json"
            mp.spawn(time_steps_in_process, args=(nproc, port, steps, str(results)), nprocs=nproc)
            timing = json.loads(results.read_text())
        rate = timing["images"] / timing["synced"]
        single = single or rate
        communication = (timing["synced"] - timing.get("unsynced", timing["synced"])) / timing["synced"]
        print(f"{nproc:>9} {timing['threads']:>12} {rate:>7.0f} {rate / single:>5.2f}x {communication:>13.0%}")


if __name__ == "__main__":
    main()
