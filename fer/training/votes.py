"""FER+ votes as training targets: what ten annotators saw in each face (Barsoum et al. 2016).

Every face of FER-2013 was labelled again by 10 people; a split's `votes` holds their counts in FER+'s order
(`FERPLUS_CATEGORIES`), all zeros for a face FER+ left out. `TrainConfig.targets` chooses what a model learns:

- `labels`: FER-2013's own label (noisy: it agrees with the plurality of the ten on two faces in three);
- `votes`: the emotions' vote shares as soft targets, so the probabilities say how ten people would label the face;
- `crossentropy`, `majority`, `probability`: FER+'s own three modes (its src/ferplus.py, described in
  ../shared/notes/ferplus.md): the processed distribution as a soft target, its majority as a hard label, or a
  label drawn from it for every batch.

Faces without votes, or whose votes say "unknown" or "not a face", are left out of vote training. Contempt, which
FER-2013 lacks, is dropped and the other shares renormalised, unless the model has a `contempt` class.
"""

from __future__ import annotations

from dataclasses import replace

import torch

FERPLUS_CATEGORIES = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt",
                      "unknown", "NF"]
FERPLUS_TO_LABEL = {"neutral": "neutral", "happiness": "happy", "surprise": "surprise", "sadness": "sad",
                    "anger": "angry", "disgust": "disgust", "fear": "fear", "contempt": "contempt"}
NOT_AN_EMOTION = ("unknown", "NF")
CONTEMPT = "contempt"
FERPLUS_MODES = ("crossentropy", "majority", "probability")
VOTERS = 10


def category_columns(labels: list[str]) -> list[int]:
    """For each of `labels`, its column in FER+'s vote order."""
    label_to_column = {label: FERPLUS_CATEGORIES.index(name) for name, label in FERPLUS_TO_LABEL.items()}
    unknown = [label for label in labels if label not in label_to_column]
    if unknown:
        raise ValueError(f"FER+ has no votes for the classes {unknown}; it knows {sorted(label_to_column)}")
    return [label_to_column[label] for label in labels]


def emotion_votes(votes: torch.Tensor, labels: list[str]) -> torch.Tensor:
    """N×10 FER+ counts → N×C float counts of the classes `labels`, in that order (contempt only if listed)."""
    return votes[:, category_columns(labels)].float()


def vote_shares(votes: torch.Tensor, labels: list[str]) -> torch.Tensor:
    """Each face's share of the votes of `labels` that went to each (rows of zeros where none did)."""
    counts = emotion_votes(votes, labels)
    return counts / counts.sum(1, keepdim=True).clamp(min=1)


def plurality(votes: torch.Tensor, labels: list[str]) -> torch.Tensor:
    """The class (index into `labels`) with the most of all ten votes, or -1 where there is none to judge by: no
    votes, a tie for the most, or the most going to a category outside `labels` (contempt, unknown, not a face)."""
    votes = votes.long()
    most = votes.max(1).values
    tied = (votes == most[:, None]).sum(1) > 1
    winner_column = votes.argmax(1)
    column_to_class = torch.full((len(FERPLUS_CATEGORIES),), -1, dtype=torch.long)
    column_to_class[category_columns(labels)] = torch.arange(len(labels))
    winner = column_to_class[winner_column]
    return torch.where((most > 0) & ~tied, winner, torch.full_like(winner, -1))


def ferplus_processed(votes: torch.Tensor, labels: list[str], mode: str) -> torch.Tensor:
    """FER+'s processing of each face's votes into a distribution over `labels` (its src/ferplus.py, as described in
    ../shared/notes/ferplus.md), rows of zeros for faces it calls unknown. Categories that are neither in `labels`
    nor unknown/not-a-face (contempt in a seven-class model) are dropped first."""
    kept_columns = category_columns(labels) + [FERPLUS_CATEGORIES.index(name) for name in NOT_AN_EMOTION]
    counts = votes[:, kept_columns].long()
    counts = torch.where(counts == 1, torch.zeros_like(counts), counts)  # a lone vote is an outlier
    targets = torch.zeros(len(votes), len(labels))
    for face, face_counts in enumerate(counts.tolist()):
        taken = _majority(face_counts) if mode == "majority" else _top_categories(face_counts)
        if taken and max(taken, key=taken.get) < len(labels):
            for column, count in taken.items():
                if column < len(labels):
                    targets[face, column] = count
    return targets / targets.sum(1, keepdim=True).clamp(min=1)


def _majority(counts: list[int]) -> dict[int, int]:
    """{the top category: its count} if it holds more than half of the votes, else {} (unknown)."""
    top = max(range(len(counts)), key=counts.__getitem__)
    return {top: counts[top]} if counts[top] > 0.5 * sum(counts) else {}


def _top_categories(counts: list[int]) -> dict[int, int]:
    """FER+'s crossentropy/probability selection: the most-voted categories, ties together, until they hold 75 % of
    the votes or three are taken; a tie reaching unknown/not-a-face stops there (and drops it unless it came first);
    {} (unknown) if the taken ones hold half of the votes or less, or more than three were needed."""
    total, remaining, taken = sum(counts), list(counts), {}
    first_non_emotion = len(counts) - len(NOT_AN_EMOTION)
    while sum(taken.values()) < 0.75 * total and len(taken) < 3:
        most = max(remaining)
        if most == 0:
            break
        stopped = False
        for column in range(len(counts)):
            if remaining[column] == most:
                taken[column], remaining[column] = most, 0
                if column >= first_non_emotion:
                    if sum(taken.values()) > most:  # emotions came before it: those stand, it does not
                        del taken[column]
                    stopped = True
                    break
        if stopped:
            break
    if sum(taken.values()) <= 0.5 * total or len(taken) > 3:
        return {}
    return taken


def vote_targets(votes: torch.Tensor, labels: list[str], mode: str) -> torch.Tensor:
    """N×C training targets for `mode` (`votes` or one of `FERPLUS_MODES`), rows of zeros for faces left out: no
    votes, or (`votes` mode) more votes for unknown or not-a-face than for any class of `labels`."""
    if mode in FERPLUS_MODES:
        return ferplus_processed(votes, labels, mode)
    if mode != "votes":
        raise ValueError(f"vote targets are one of {('votes', *FERPLUS_MODES)}, not {mode!r}")
    counts = emotion_votes(votes, labels)
    non_emotion = votes[:, [FERPLUS_CATEGORIES.index(name) for name in NOT_AN_EMOTION]].long().max(1).values
    usable = counts.max(1).values > non_emotion
    return torch.where(usable[:, None], vote_shares(votes, labels), torch.zeros_like(counts))


def model_labels(data_labels: list[str], contempt: bool) -> list[str]:
    """The classes a model trained on this data predicts: the data's, and contempt after them if asked for."""
    if contempt and CONTEMPT not in data_labels:
        return [*data_labels, CONTEMPT]
    return list(data_labels)


def with_vote_targets(split, labels: list[str], mode: str, label_blend: float = 0.0):
    """The faces of a `fer.training.dataset.Split` that have a target in `mode`, carrying those targets; with
    `label_blend`, that share of each target is the face's own label (FER-2013's, indexing `labels`) instead."""
    if split.votes is None:
        raise ValueError(f"training on '{mode}' needs FER+ votes, and this split has none")
    if not 0 <= label_blend <= 1:
        raise ValueError(f"label_blend must be in [0, 1], not {label_blend}")
    targets = vote_targets(split.votes, labels, mode)
    kept = torch.nonzero(targets.sum(1) > 0).flatten()
    own_labels = torch.nn.functional.one_hot(split.labels[kept], len(labels)).float()
    return replace(split.subset(kept), targets=(1 - label_blend) * targets[kept] + label_blend * own_labels)


def judged_by_plurality(split, labels: list[str]):
    """The faces of a split that have a plurality (`plurality`), labelled with it instead of FER-2013's label."""
    if split.votes is None:
        raise ValueError("judging by the plurality of the votes needs FER+ votes, and this split has none")
    winners = plurality(split.votes, labels)
    kept = torch.nonzero(winners >= 0).flatten()
    return replace(split.subset(kept), labels=winners[kept])
