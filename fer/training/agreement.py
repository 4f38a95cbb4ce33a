"""How far a model agrees with people: its probabilities scored against FER+'s ten votes per face.

The measures of ../shared/notes/ferplus.md, on the seven emotions FER-2013 and FER+ share (a model with a
contempt class is scored on its other seven probabilities, renormalised):

- plurality accuracy: argmax against the class most of the ten chose (ties, contempt, unknown and not-a-face
  left out), FER+'s protocol;
- annotator share: the share of the seven emotions' votes that went to the predicted class;
- total variation: half the L1 distance between the probabilities and the vote shares;
- calibration: the expected gap between the predicted class's probability and its annotator share (10 bins);
- clear expressions: accuracy on faces where at least 7 of the 10 chose one emotion other than neutral.
"""

from __future__ import annotations

import torch

from fer.training.votes import CONTEMPT, FERPLUS_TO_LABEL, emotion_votes, plurality, vote_shares

CLEAR_VOTES = 7  # of 10: a clear expression
CALIBRATION_BINS = 10


def seven_emotions(labels: list[str]) -> list[int]:
    """Indices of the model's classes that FER+ has votes for, contempt left out."""
    shared = set(FERPLUS_TO_LABEL.values()) - {CONTEMPT}
    return [index for index, name in enumerate(labels) if name in shared]


def agreement_with_people(probabilities: torch.Tensor, votes: torch.Tensor, labels: list[str]) -> dict:
    """The people-agreement figures of N×C `probabilities` (classes `labels`) against N×10 FER+ `votes`."""
    columns = seven_emotions(labels)
    emotions = [labels[index] for index in columns]
    probabilities = probabilities[:, columns].double()
    probabilities = probabilities / probabilities.sum(1, keepdim=True).clamp(min=1e-12)
    predicted = probabilities.argmax(1)
    counts = emotion_votes(votes, emotions).double()
    voted = counts.sum(1) > 0
    shares = vote_shares(votes, emotions).double()[voted]
    chosen_share = shares.gather(1, predicted[voted, None]).squeeze(1)
    winners = plurality(votes, emotions)
    judged = winners >= 0
    return {
        "people_labels": emotions,
        "plurality_accuracy": _mean(predicted[judged] == winners[judged]),
        "plurality_n": int(judged.sum()),
        "plurality_recall": _recalls(predicted[judged], winners[judged], emotions),
        "annotator_share": _mean(chosen_share),
        "total_variation": _mean(0.5 * (probabilities[voted] - shares).abs().sum(1)),
        **calibration(probabilities[voted].max(1).values, chosen_share),
        "voted_n": int(voted.sum()),
        **clear_expressions(predicted, counts, emotions),
    }


def clear_expressions(predicted: torch.Tensor, counts: torch.Tensor, emotions: list[str]) -> dict:
    """Accuracy and per-class recall on faces where at least `CLEAR_VOTES` of the ten chose one non-neutral class."""
    most, winner = counts.max(1)
    clear = (most >= CLEAR_VOTES) & torch.tensor([emotions[index] != "neutral" for index in winner.tolist()],
                                                 dtype=torch.bool)
    return {"clear_accuracy": _mean(predicted[clear] == winner[clear]), "clear_n": int(clear.sum()),
            "clear_recall": _recalls(predicted[clear], winner[clear], emotions)}


def calibration(confidence: torch.Tensor, agreement: torch.Tensor) -> dict:
    """Calibration against people, bin by bin of the predicted class's probability: the faces' mean probability and
    the mean share of annotators who chose that class (`calibration_bins`), and the expected calibration error, the
    mean over faces of the gap between the two."""
    bins = (confidence * CALIBRATION_BINS).long().clamp(max=CALIBRATION_BINS - 1)
    rows = []
    for index in bins.unique().tolist():
        members = bins == index
        rows.append({"confidence": confidence[members].mean().item(), "agreement": agreement[members].mean().item(),
                     "n": int(members.sum())})
    gap = sum(row["n"] * abs(row["confidence"] - row["agreement"]) for row in rows)
    return {"calibration_error": gap / max(1, len(confidence)), "calibration_bins": rows}


def _recalls(predicted: torch.Tensor, true: torch.Tensor, names: list[str]) -> dict:
    return {name: {"recall": _mean(predicted[true == index] == index), "n": int((true == index).sum())}
            for index, name in enumerate(names)}


def _mean(values: torch.Tensor) -> float | None:
    return values.double().mean().item() if len(values) else None

