"""Training throughput (images/s) of the seed and default networks, fp32 against bf16, in one run;
or, with --widths, of default-recipe students of those widths distilled from width-44 teachers.

    python benchmarks/train_throughput.py [--steps 20]
    python benchmarks/train_throughput.py --widths 44 56 64 --teachers 0 3   # distillation's cost

Real training steps (augmentation, forward, backward, SGD; the teachers' forward passes) on random
48×48 faces, with each recipe's batch size and input size. bf16 rows are skipped where the CPU lacks
native bf16; distillation rows use bf16 where it is native.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fer.training import loop, precision, recipes  # noqa: E402
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
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
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


if __name__ == "__main__":
    main()
