"""FER+'s votes: each target mode, the measures of agreement with people, and every source of votes."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from datasets import ClassLabel, Dataset, Features, List, Value
from datasets import Image as ImageFeature
from PIL import Image

from fer.model.classifier import FER2013_LABELS, FERPLUS_VOTES_SOURCE, EmotionClassifier, load_classifier
from fer.model.probabilities import predict_probabilities
from fer.training import loop, pipeline, recipes
from fer.training.agreement import agreement_with_people
from fer.training.dataset import KAGGLE_CSV_LABELS, VOTES_COLUMN, DatasetError, Split, load_fer
from fer.training.votes import (FERPLUS_CATEGORIES, ferplus_processed, judged_by_plurality, model_labels, plurality,
                                vote_targets, with_vote_targets)
from tests.conftest import SYNTHETIC_LABELS, synthetic_votes, write_parquet_dataset

ROOT = Path(__file__).resolve().parents[1]
LABELS = list(FER2013_LABELS)  # angry, disgust, fear, happy, neutral, sad, surprise
WITH_CONTEMPT = [*LABELS, "contempt"]


def votes(**counts) -> list[int]:
    """Ten counts in FER+'s order from keyword counts, e.g. votes(neutral=4, anger=3)."""
    return [counts.get(name, 0) for name in FERPLUS_CATEGORIES]


def distribution(**shares) -> list[float]:
    return [shares.get(name, 0.0) for name in LABELS]


MIXED = votes(neutral=4, sadness=1, anger=3, disgust=2)  # the example line of FER+'s label.csv
NOT_A_FACE = votes(unknown=3, NF=7)
MOSTLY_CONTEMPT = votes(neutral=3, contempt=7)
TIED = votes(neutral=5, happiness=5)
NO_VOTES = votes()
SOME_NOT_A_FACE = votes(neutral=6, NF=4)
ROWS = torch.tensor([MIXED, NOT_A_FACE, MOSTLY_CONTEMPT, TIED, NO_VOTES, SOME_NOT_A_FACE])


def test_votes_mode_is_the_seven_emotions_shares_without_faces_that_are_not_faces():
    targets = vote_targets(ROWS, LABELS, "votes")
    assert targets[0].tolist() == pytest.approx(distribution(neutral=0.4, sad=0.1, angry=0.3, disgust=0.2))
    assert targets[2].tolist() == distribution(neutral=1.0)  # contempt's votes dropped, the rest renormalised
    assert targets[3].tolist() == distribution(neutral=0.5, happy=0.5)
    assert targets[5].tolist() == distribution(neutral=1.0)
    assert targets[1].sum() == 0 and targets[4].sum() == 0  # not a face; no votes


def test_ferplus_crossentropy_mode_drops_lone_votes_and_keeps_the_top_categories():
    targets = ferplus_processed(ROWS, LABELS, "crossentropy")
    # sadness's single vote is an outlier; neutral (4) then anger (3) reach 75 % of the 9 votes left
    assert targets[0].tolist() == pytest.approx(distribution(neutral=4 / 7, angry=3 / 7))
    assert targets[3].tolist() == distribution(neutral=0.5, happy=0.5)
    assert targets[5].tolist() == distribution(neutral=1.0)  # NF came after neutral: neutral stands alone
    assert targets[1].sum() == 0 and targets[4].sum() == 0


def test_ferplus_majority_mode_needs_more_than_half_of_the_votes():
    targets = ferplus_processed(ROWS, LABELS, "majority")
    assert targets[0].sum() == 0  # neutral has 4 of 9: unknown
    assert targets[3].sum() == 0  # 5 of 10 is not more than half
    assert targets[5].tolist() == distribution(neutral=1.0)
    assert targets[2].tolist() == distribution(neutral=1.0)  # seven classes: contempt's votes are dropped
    with_contempt = ferplus_processed(ROWS, WITH_CONTEMPT, "majority")
    assert with_contempt[2].tolist() == [0.0] * 7 + [1.0]


def test_probability_mode_fits_the_crossentropy_distribution_one_drawn_label_at_a_time():
    assert torch.equal(vote_targets(ROWS, LABELS, "probability"), vote_targets(ROWS, LABELS, "crossentropy"))


def test_plurality_leaves_out_ties_contempt_unknown_and_faces_without_votes():
    assert plurality(ROWS, LABELS).tolist() == [LABELS.index("neutral"), -1, -1, -1, -1, LABELS.index("neutral")]
    assert plurality(ROWS, WITH_CONTEMPT)[2] == WITH_CONTEMPT.index("contempt")


def test_contempt_is_an_eighth_class_only_when_asked_for():
    assert model_labels(LABELS, contempt=False) == LABELS
    assert model_labels(LABELS, contempt=True) == WITH_CONTEMPT


def test_agreement_with_people_on_two_known_faces():
    rows = torch.tensor([votes(neutral=6, happiness=4), votes(happiness=8, surprise=2)])
    probabilities = torch.tensor([distribution(happy=1.0), distribution(happy=0.8, surprise=0.2)])
    result = agreement_with_people(probabilities, rows, LABELS)
    assert result["plurality_accuracy"] == 0.5 and result["plurality_n"] == 2
    assert result["annotator_share"] == pytest.approx((0.4 + 0.8) / 2)
    assert result["total_variation"] == pytest.approx((0.6 + 0.0) / 2)
    assert result["calibration_error"] == pytest.approx((0.6 + 0.0) / 2)  # 1.0 said, 0.4 agreed; 0.8 and 0.8
    assert result["calibration_bins"] == [{"confidence": pytest.approx(0.8), "agreement": pytest.approx(0.8), "n": 1},
                                          {"confidence": pytest.approx(1.0), "agreement": pytest.approx(0.4), "n": 1}]
    assert (result["clear_accuracy"], result["clear_n"]) == (1.0, 1)  # 8 of 10 chose happy
    assert result["plurality_recall"]["neutral"] == {"recall": 0.0, "n": 1}
    # an eighth, contempt, probability is left out and the seven renormalised: the same figures
    with_contempt = torch.cat([probabilities * 0.5, torch.full((2, 1), 0.5)], 1)
    assert agreement_with_people(with_contempt, rows, WITH_CONTEMPT)["total_variation"] == pytest.approx(0.3)


def test_vote_training_keeps_faces_with_targets_and_judges_validation_by_the_plurality(voted_dataset):
    data = load_fer(str(voted_dataset))
    train = data.splits["train"]
    assert train.votes.shape == (140, 10) and train.votes[9].sum() == 0  # every tenth face has no votes
    fitted = with_vote_targets(train, data.label_names, "votes")
    assert len(fitted) == 140 - 14 - 15 + 1  # no votes (every 10th: 14), not a face (every 9th: 15); 89 is both
    assert fitted.targets.shape == (len(fitted), 7) and torch.allclose(fitted.targets.sum(1), torch.ones(len(fitted)))
    judged = judged_by_plurality(data.splits["validation"], data.label_names)
    expected = data.splits["validation"].labels[plurality(data.splits["validation"].votes, data.label_names) >= 0]
    assert torch.equal(judged.labels, expected)  # the synthetic votes agree with the labels


def test_a_dataset_with_a_votes_column_loads_them_with_zeros_where_there_are_none(voted_dataset):
    data = load_fer(str(voted_dataset))
    labels = data.splits["validation"].labels.tolist()
    expected = [row or [0] * 10 for row in synthetic_votes(labels)]
    assert data.splits["validation"].votes.tolist() == expected


def test_a_votes_column_of_the_wrong_length_is_refused(tmp_path):
    features = Features({"image": ImageFeature(), "label": ClassLabel(names=SYNTHETIC_LABELS),
                         VOTES_COLUMN: List(Value("int8"))})
    picture = Image.new("L", (48, 48))
    dataset = Dataset.from_dict({"image": [picture] * 2, "label": [0, 1], VOTES_COLUMN: [[1] * 10, [1] * 9]},
                                features=features)
    with pytest.raises(DatasetError, match="row 1 of 'ferplus_votes'.*not 10 vote counts"):
        load_fer(str(write_parquet_dataset(tmp_path, {"train": dataset})))


def test_training_on_votes_needs_a_dataset_that_has_them(local_dataset):
    with pytest.raises(DatasetError, match="has none: give a dataset with a 'ferplus_votes' column"):
        pipeline.load_data(str(local_dataset), None, 0, targets="votes")


# Kaggle's fer2013.csv with FER+'s fer2013new.csv beside it

USAGE = ["Training"] * 14 + ["PublicTest"] * 7 + ["PrivateTest"] * 7


def write_kaggle_csv(folder, usage=USAGE) -> None:
    rows = ["emotion,pixels,Usage"] + [f"{index % 7},{' '.join(['128'] * 48 * 48)},{use}"
                                       for index, use in enumerate(usage)]
    (folder / "fer2013.csv").write_text("\n".join(rows) + "\n")


def write_votes_csv(folder, usage=USAGE) -> list[list[int]]:
    """fer2013new.csv whose row i holds 7 votes for the class of fer2013.csv's row i (its label i % 7)."""
    counts = [votes(**{FERPLUS_CATEGORIES[[4, 5, 6, 1, 3, 2, 0][index % 7]]: 7, "neutral": 3})
              if index % 7 != 6 else votes(neutral=10) for index in range(len(usage))]
    with open(folder / "fer2013new.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["Usage", "Image name", *FERPLUS_CATEGORIES])
        for index, (use, row) in enumerate(zip(usage, counts)):
            writer.writerow([use, f"fer{index:07d}.png", *row])
    return counts


def test_kaggle_csv_takes_the_votes_of_fer2013new_csv_beside_it_row_by_row(tmp_path):
    write_kaggle_csv(tmp_path)
    counts = write_votes_csv(tmp_path)
    data = load_fer(str(tmp_path / "fer2013.csv"))
    assert data.splits["validation"].votes.tolist() == counts[14:21]
    assert data.splits["test"].votes.tolist() == counts[21:]
    train = data.splits["train"]  # each face's plurality is its own Kaggle label, in Kaggle's class order
    assert [data.label_names[i] for i in plurality(train.votes, data.label_names).tolist()] == \
        [KAGGLE_CSV_LABELS[i] for i in train.labels.tolist()]


@pytest.mark.parametrize("votes_usage, message", [
    (USAGE[:-1], "has 27 rows but fer2013.csv beside it has 28"),
    (["PublicTest"] + USAGE[1:], "row 2: Usage 'PublicTest' where fer2013.csv says 'Training'"),
])
def test_votes_that_do_not_line_up_with_fer2013_csv_are_refused(tmp_path, votes_usage, message):
    write_kaggle_csv(tmp_path)
    write_votes_csv(tmp_path, votes_usage)
    with pytest.raises(DatasetError, match=message):
        load_fer(str(tmp_path))


# FER+'s folder layout

def write_ferplus_folder(root, name: str, rows: list[list[int]]) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    lines = []
    for index, counts in enumerate(rows):
        Image.fromarray(np.full((48, 48), index * 9, np.uint8)).save(folder / f"fer{index:07d}.png")
        lines.append([f"fer{index:07d}.png", "(0, 0, 48, 48)", *counts])
    with open(folder / "label.csv", "w", newline="") as file:
        csv.writer(file).writerows(lines)


def test_ferplus_folders_give_splits_labelled_by_the_plurality_without_non_faces(tmp_path):
    write_ferplus_folder(tmp_path, "FER2013Train", [MIXED, NOT_A_FACE, votes(happiness=9, NF=1)])
    write_ferplus_folder(tmp_path, "FER2013Valid", [votes(fear=6, surprise=4)])
    data = load_fer(str(tmp_path))
    assert data.label_names == LABELS and set(data.splits) == {"train", "validation"}
    train = data.splits["train"]
    assert [LABELS[i] for i in train.labels.tolist()] == ["neutral", "happy"]  # the NF face is left out
    assert train.votes.tolist() == [MIXED, votes(happiness=9, NF=1)]
    assert train.images[1, 0, 0] == 18  # the third PNG
    assert data.splits["validation"].labels.tolist() == [LABELS.index("fear")]


def test_ferplus_votes_for_a_missing_picture_are_refused(tmp_path):
    write_ferplus_folder(tmp_path, "FER2013Train", [MIXED, MIXED])
    (tmp_path / "FER2013Train" / "fer0000001.png").unlink()
    with pytest.raises(DatasetError, match="line 2 has votes for fer0000001.png, which is not in"):
        load_fer(str(tmp_path))


# Training on votes

TINY = dict(epochs=2, restarts=0, batch_size=16, width=4, precision="fp32", lr=0.05, ema=0.0)


@pytest.mark.parametrize("mode", ["votes", "crossentropy", "majority", "probability"])
def test_each_vote_mode_trains_and_is_selected_by_the_plurality(voted_dataset, tmp_path, mode):
    data = load_fer(str(voted_dataset))
    state = loop.train(recipes.recipe("votes", targets=mode, **TINY), data, tmp_path)
    assert state["train_images"] == len(with_vote_targets(data.splits["train"], data.label_names, mode))
    assert all(np.isfinite(record["train_loss"]) for record in state["history"])
    judged = judged_by_plurality(data.splits["validation"], data.label_names)
    model = load_classifier(tmp_path)
    agreement = (predict_probabilities(model, judged.images, tta="none").argmax(1) == judged.labels).float().mean()
    assert state["best_val_accuracy"] == pytest.approx(agreement.item(), abs=1e-6)
    assert model.trained_on == FERPLUS_VOTES_SOURCE and model.prior_correction is None


def test_an_eighth_class_contempt_is_trained_when_asked_for(voted_dataset, tmp_path):
    data = load_fer(str(voted_dataset))
    loop.train(recipes.recipe("votes", contempt=True, **TINY), data, tmp_path)
    model = load_classifier(tmp_path)
    assert model.labels == [*SYNTHETIC_LABELS, "contempt"]
    assert model(torch.zeros(1, 1, model.input_size, model.input_size)).shape == (1, 8)


def test_a_label_blend_moves_that_share_of_each_target_to_the_face_s_own_label():
    split = Split(torch.zeros(2, 48, 48, dtype=torch.uint8), torch.tensor([LABELS.index("angry"), 0]),
                  torch.tensor([votes(neutral=6, anger=4), NOT_A_FACE]))
    (target,) = with_vote_targets(split, LABELS, "votes", label_blend=0.25).targets.tolist()
    assert target == pytest.approx(distribution(neutral=0.75 * 0.6, angry=0.75 * 0.4 + 0.25))


def test_a_probability_mode_batch_draws_each_label_from_the_face_s_distribution():
    split = Split(torch.zeros(4, 48, 48, dtype=torch.uint8), torch.zeros(4, dtype=torch.long),
                  targets=torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.5, 0.5]]))
    config = recipes.recipe("votes", targets="probability")
    draws = torch.stack([loop.batch_targets(split, torch.arange(4), config, torch.Generator().manual_seed(seed))
                         for seed in range(200)])
    assert draws[:, 0].eq(1).all() and draws[:, 1].eq(0).all()
    assert 0.35 < draws[:, 2:].float().mean() < 0.65


def test_finishing_a_vote_trained_run_reports_agreement_with_people(voted_dataset, tmp_path):
    data = load_fer(str(voted_dataset))
    state = loop.train(recipes.recipe("votes", **{**TINY, "epochs": 1}), data, tmp_path)
    pipeline.finish(tmp_path, data, state)
    people = json.loads((tmp_path / "metrics.json").read_text())["validation"]["people"]
    assert people["plurality_n"] == len(judged_by_plurality(data.splits["validation"], data.label_names))
    assert 0 <= people["annotator_share"] <= 1 and 0 <= people["total_variation"] <= 1
    assert (tmp_path / "agreement_with_people.png").stat().st_size > 10_000
    card = (tmp_path / "README.md").read_text()
    assert "plurality" in card and f"{people['plurality_accuracy']:.1%}" in card


def test_evaluate_prints_agreement_with_people_beside_the_label_figures(voted_dataset, tmp_path):
    model = EmotionClassifier(labels=SYNTHETIC_LABELS, width=4)
    model.save_pretrained(tmp_path)
    finished = subprocess.run([sys.executable, "-m", "fer.evaluate", "--model", str(tmp_path), "--dataset",
                               str(voted_dataset), "--split", "validation", "--tta", "none"],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    *lines, last = finished.stdout.splitlines()
    people = json.loads(last)["people"]
    assert any(line.startswith("against FER+'s ten annotators: plurality accuracy "
                               f"{people['plurality_accuracy']:.4f}") for line in lines)
    assert people["voted_n"] == 70 - 7  # every tenth face has no votes
