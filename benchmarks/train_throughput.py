"""Training throughput (images/s) of the seed and default networks, fp32 against bf16, in one run.

    python benchmarks/train_throughput.py [--steps 20]

Real training steps (augmentation, forward, backward, SGD) on random 48×48 faces, with each
recipe's batch size and input size. bf16 rows are skipped where the CPU lacks native bf16.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fer import precision, training  # noqa: E402
from fer.dataset import Split  # noqa: E402


def images_per_second(recipe: str, compute: str, steps: int) -> float:
    config = training.recipe(recipe, precision=compute)
    model = training.build_model(config, [str(i) for i in range(7)])
    optimizer = training.make_optimizer(model, config)
    batch = config.batch_size * 2
    split = Split(torch.randint(0, 256, (batch * (steps + 2), 48, 48), dtype=torch.uint8),
                  torch.randint(0, 7, (batch * (steps + 2),)))
    warmup = Split(split.images[:batch], split.labels[:batch])
    training.run_epoch(model, optimizer, warmup, config, 0, None, compute, "warm-up")
    started = time.perf_counter()
    training.run_epoch(model, optimizer, split, config, 0, None, compute, f"{recipe} {compute}")
    return len(split) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20, help="batches timed per row (of 2× the recipe batch)")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    computes = ["fp32"] + (["bf16"] if precision.cpu_has_native_bf16() else [])
    print(f"{torch.get_num_threads()} threads; native bf16: {precision.cpu_has_native_bf16()}")
    print(f"{'recipe':<8} {'arch':<5} {'fp32 img/s':>11} {'bf16 img/s':>11} {'bf16/fp32':>10}")
    for recipe in ("seed", "default"):
        rates = {compute: images_per_second(recipe, compute, args.steps) for compute in computes}
        bf16 = rates.get("bf16")
        print(f"{recipe:<8} {training.RECIPES[recipe].arch:<5} {rates['fp32']:>11.0f} "
              f"{bf16 or float('nan'):>11.0f} {(bf16 / rates['fp32']) if bf16 else float('nan'):>9.2f}x")


if __name__ == "__main__":
    main()
