"""Train an emotion classifier on FER-2013 (on a GPU if there is one, else the CPU), evaluate it, and
optionally push it.

    python train.py --dataset ../shared/fer2013                 # the default model, on FER-2013's labels
    python train.py --dataset ../shared/fer2013 --recipe votes  # on FER+'s ten votes per face (--targets)
    python train.py --dataset ../shared/fer2013 --recipe people --resume  # the bundled model: 2 vote-trained
                                                               # teachers, then a wider student
    python train.py --dataset ../shared/fer2013 --arch seed --recipe seed --out runs/seed
    python train.py --resume                                   # continue after a crash
    python train.py --init-from fer/pretrained --epochs 8 --lr 0.02 --restarts 0  # fine-tune a trained model
    python train.py --teachers runs/default runs/seed1 --out runs/student  # distil the two models into a new one
    python train.py --recipe best --resume                     # 2 teachers, then a wider student distilled from them
    python train.py --average runs/votes runs/votes_blend20 --out runs/pair  # 2 trained models averaged into one
    python train.py --subset 12000 --epochs 6 --ema 0 --restarts 0  # a quick trial
    python train.py --push --repo-id USER/NAME                 # upload runs/default to the Hub
    python train.py --skip-training --push --space USER/DEMO   # ... and run it in a Gradio Space
    torchrun --nproc_per_node 4 train.py --out runs/ddp         # one model, 4 processes (GPUs) in DDP
"""

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from fer.training import recipes
from fer.training.dataset import DEFAULT_HUB_DATASET


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=DEFAULT_HUB_DATASET,
                        help="Hub dataset id, local dataset folder, Kaggle fer2013.csv (with FER+'s fer2013new.csv "
                             "beside it for votes), or FER+'s folders (FER2013Train/label.csv...) (default: %(default)s)")
    parser.add_argument("--recipe", choices=sorted(recipes.RECIPES), default="default",
                        help="preset of all training settings; the options below override it (for `best`, "
                             "whose teachers are trained first, the student's)")
    parser.add_argument("--out", type=Path, help="output folder (default: runs/<recipe>, or runs/average)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--subset", type=int, help="train on only this many images (quick trials)")
    parser.add_argument("--push", action="store_true", help="upload the output folder to the Hugging Face Hub")
    parser.add_argument("--repo-id", help="Hub repo for --push (default: <your user>/fer2013-emotion)")
    parser.add_argument("--space", metavar="USER/NAME",
                        help="with --push: create or update this Gradio Space, running the app on the pushed model")
    parser.add_argument("--private", action="store_true", help="create the Hub repo (and Space) as private")
    parser.add_argument("--skip-training", action="store_true", help="only evaluate/push what --out holds")
    parser.add_argument("--average", nargs="+", metavar="MODEL",
                        help="instead of training: average these trained models' probabilities into one model in "
                             "--out, then evaluate it (and push it) like a trained one")
    settings = parser.add_argument_group("training settings (default: from --recipe)")
    for field in fields(recipes.TrainConfig):
        flag = "--" + field.name.replace("_", "-")
        if field.type in ("bool", bool):
            settings.add_argument(flag, action=argparse.BooleanOptionalAction, default=None)
        elif field.type == "list[str]":  # `--teachers` alone gives none, overriding a recipe's
            settings.add_argument(flag, nargs="*", metavar="MODEL", default=None)
        else:
            kind = {"int": int, "float": float}.get(field.type, str)
            settings.add_argument(flag, type=kind, default=None, choices=recipes.CHOICES.get(field.name))
    args = parser.parse_args(argv)
    if args.average and (args.resume or args.skip_training):
        parser.error("--average makes a model from trained ones: it does not go with --resume or --skip-training")
    if args.space and not args.push:
        parser.error("--space needs --push: the Space runs the model that --push uploads")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from fer.training import pipeline  # heavy imports after --help
    overrides = {field.name: getattr(args, field.name) for field in fields(recipes.TrainConfig)}
    config = recipes.recipe(args.recipe, **overrides)
    out_dir = args.out or Path("runs") / ("average" if args.average else args.recipe)
    return pipeline.run(config, args, out_dir)


if __name__ == "__main__":
    sys.exit(main())
