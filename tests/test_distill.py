"""Knowledge distillation: the loss, the teachers' checks, the settings' records and resuming."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torchvision.transforms.v2 import functional as TF

import train
from fer.face_path.tensors import normalize
from fer.training import checkpoint, loop, losses, recipes
from fer.training.dataset import Split, load_fer
from tests.conftest import SYNTHETIC_LABELS, synthetic_faces
from tests.test_training import killed_after_first_epoch

TINY = dict(epochs=2, restarts=0, batch_size=16, width=4, precision="fp32", lr=0.05)


def saved_model(folder, labels=SYNTHETIC_LABELS, **settings) -> str:
    loop.build_model(recipes.recipe("default", **{**TINY, **settings}), labels).save_pretrained(folder)
    return str(folder)


def teacher_agreement(student, teacher, crops: torch.Tensor, temperature: float) -> tuple[float, float]:
    """KL(teacher ‖ student), both softened, and the share of images where their top classes agree."""
    student.eval()
    with torch.no_grad():
        soft_targets = losses.teacher_probabilities([teacher], crops, temperature)
        logits = student(crops)
    divergence = losses.distillation_loss(logits, soft_targets, temperature).item() / temperature ** 2
    return divergence, (logits.argmax(1) == soft_targets.argmax(1)).float().mean().item()


@pytest.fixture
def one_thread():
    """Nets this small gain nothing from a second thread, and lose a lot while the CPU is busy elsewhere."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_distillation_pulls_the_student_towards_a_fixed_teacher_not_the_labels(one_thread):
    images, labels = synthetic_faces(70, seed=1)
    split = Split(torch.from_numpy(np.stack([np.asarray(image) for image in images])), torch.tensor(labels))
    config = recipes.recipe("default", **{**TINY, "epochs": 8, "batch_size": 14, "lr": 0.02, "schedule": "constant",
                                           "dropout": 0.0, "capture": 0.0, "distill_weight": 1.0,
                                           "distill_temperature": 2.0})
    torch.manual_seed(7)
    teacher = loop.build_model(recipes.recipe("default", **{**TINY, "dropout": 0.0}), SYNTHETIC_LABELS)
    crops = normalize(TF.center_crop(split.images, [config.input_size] * 2), teacher.mean, teacher.std)
    wrong_labels = (split.labels + 1) % len(SYNTHETIC_LABELS)  # a teacher that disagrees with the data's labels
    optimizer = torch.optim.SGD(teacher.parameters(), lr=0.05, momentum=0.9)
    for _ in range(40):
        loss = F.cross_entropy(teacher(crops), wrong_labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    teacher.eval().requires_grad_(False)

    student = loop.build_model(config, SYNTHETIC_LABELS)
    divergence_before, agreement_before = teacher_agreement(student, teacher, crops, config.distill_temperature)
    optimizer = loop.make_optimizer(student, config)
    for epoch in range(config.epochs):
        loop.run_epoch(student, optimizer, split, config, epoch, None, "fp32", "distilling", None, [teacher])
    divergence_after, agreement_after = teacher_agreement(student, teacher, crops, config.distill_temperature)
    assert divergence_after < 0.5 * divergence_before
    assert agreement_after > agreement_before + 0.4


def test_the_loss_is_the_hard_label_loss_at_weight_0_and_the_scaled_divergence_at_weight_1():
    torch.manual_seed(0)
    logits, targets = torch.randn(8, 7), torch.randint(0, 7, (8,))
    teachers_logits = torch.randn(2, 8, 7)
    soft_targets = (teachers_logits / 4.0).softmax(2).mean(0)
    config = recipes.recipe("default", distill_temperature=4.0)
    hard = losses.hard_label_loss(logits, targets, config, None)
    for weight, expected in [(0.0, hard), (1.0, 16.0 * F.kl_div((logits / 4.0).log_softmax(1), soft_targets,
                                                                 reduction="batchmean"))]:
        distilling = recipes.recipe("default", distill_weight=weight, distill_temperature=4.0)
        assert losses.training_loss(logits, targets, distilling, None, soft_targets=soft_targets) == pytest.approx(
            expected.item(), rel=1e-6)
    assert losses.training_loss(logits, targets, config, None) == hard
    own_view = (logits / 4.0).softmax(1)
    assert losses.distillation_loss(logits, own_view, 4.0) == pytest.approx(0.0, abs=1e-5)


def test_the_ensemble_averages_each_teacher_s_softened_probabilities():
    torch.manual_seed(0)
    teachers = [loop.build_model(recipes.recipe("default", **TINY, seed=seed), SYNTHETIC_LABELS).eval()
                for seed in (0, 1)]
    inputs = torch.randn(3, 1, 40, 40)
    each = [(teacher(inputs) / 3.0).softmax(1) for teacher in teachers]
    assert torch.allclose(losses.teacher_probabilities(teachers, inputs, 3.0), (each[0] + each[1]) / 2)


@pytest.mark.parametrize("change, message", [({"labels": list("abcdefg")}, "predicts"),
                                             ({"input_size": 32}, "32×32 crops")])
def test_a_teacher_for_other_classes_or_crops_is_refused_before_training(local_dataset, tmp_path, capsys,
                                                                         change, message):
    settings = {key: value for key, value in change.items() if key != "labels"}
    teacher = saved_model(tmp_path / "teacher", change.get("labels", SYNTHETIC_LABELS), **settings)
    out = tmp_path / "student"
    code = train.main(["--dataset", str(local_dataset), "--out", str(out), "--epochs", "1", "--restarts", "0",
                       "--width", "4", "--precision", "fp32", "--teachers", teacher])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1
    assert errors[0].startswith(f"error: teacher {teacher} ") and message in errors[0]
    assert not (out / loop.CHECKPOINT_NAME).exists()


@pytest.mark.parametrize("settings", [{"distill_weight": 1.5}, {"distill_temperature": 0.0}])
def test_a_distillation_weight_outside_0_to_1_or_a_temperature_of_0_is_refused(tmp_path, settings):
    config = recipes.recipe("default", **{**TINY, **settings, "teachers": [saved_model(tmp_path)]})
    with pytest.raises(ValueError, match="distill_weight must be in"):
        loop.load_teachers(config, loop.build_model(config, SYNTHETIC_LABELS))


def test_the_teacher_settings_are_recorded_in_the_checkpoint_metrics_and_card(local_dataset, tmp_path):
    teachers = [saved_model(tmp_path / f"teacher{seed}", seed=seed) for seed in (0, 1)]
    out = tmp_path / "student"
    assert train.main(["--dataset", str(local_dataset), "--out", str(out), "--epochs", "1", "--restarts", "0",
                       "--width", "4", "--batch-size", "16", "--precision", "fp32", "--ema", "0",
                       "--teachers", *teachers, "--distill-weight", "0.5", "--distill-temperature", "3"]) == 0
    recorded = {"teachers": teachers, "distill_weight": 0.5, "distill_temperature": 3.0}
    metrics_config = json.loads((out / "metrics.json").read_text())["config"]
    with open(out / loop.CHECKPOINT_NAME, "rb") as handle:
        header = json.loads(handle.read(int.from_bytes(handle.read(8), "little")))
    checkpoint_config = json.loads(header["__metadata__"]["state"])["config"]
    for config in (metrics_config, checkpoint_config):
        assert {key: config[key] for key in recorded} == recorded
    card = (out / "README.md").read_text()
    assert "Distilled from 2 teacher(s):\n" in card  # saved untrained, with no metrics.json: no time to add up
    assert all(f"  - `{teacher}`: no metrics.json to describe it" in card for teacher in teachers)
    assert "(1 − 0.5) × the hard-label loss + 0.5 × 3.0² × KL(teachers ‖ student softened by 3.0)" in card


def test_resume_across_an_interrupted_distillation_reloads_the_teachers(local_dataset, tmp_path, monkeypatch):
    data = load_fer(str(local_dataset))
    config = recipes.recipe("default", **{**TINY, "mixup": 0.4, "teachers": [saved_model(tmp_path / "teacher")]})
    straight = loop.train(config, data, tmp_path / "straight")

    killed_after_first_epoch(config, data, tmp_path / "resumed", monkeypatch)
    teacher_calls = []
    real_teacher_probabilities = losses.teacher_probabilities

    def counted(teachers, *args):
        teacher_calls.append(len(teachers))
        return real_teacher_probabilities(teachers, *args)

    monkeypatch.setattr(loop, "teacher_probabilities", counted)
    resumed = loop.train(config, data, tmp_path / "resumed", resume=True)

    assert resumed["epochs_done"] == 2 and resumed["config"]["teachers"] == config.teachers
    assert teacher_calls and set(teacher_calls) == {1}
    assert [r["train_loss"] for r in resumed["history"]] == [r["train_loss"] for r in straight["history"]]
    weights_straight = load_file(str(tmp_path / "straight" / loop.CHECKPOINT_NAME))
    weights_resumed = load_file(str(tmp_path / "resumed" / loop.CHECKPOINT_NAME))
    assert all(torch.equal(weights_straight[name], weights_resumed[name]) for name in weights_straight)


@pytest.fixture
def tiny_staged_recipe(monkeypatch):
    """`--recipe best` with two tiny teachers instead of its full-size ones."""
    teacher = recipes.recipe("default", **{**TINY, "epochs": 1, "ema": 0.0})
    monkeypatch.setitem(recipes.TEACHERS, "best", {"plain": teacher, "other_seed": replace(teacher, seed=1)})
    return ["--recipe", "best", "--epochs", "1", "--restarts", "0", "--width", "4", "--batch-size", "16",
            "--precision", "fp32", "--ema", "0"]


def test_a_staged_recipe_trains_its_teachers_then_distils_them_into_the_student(local_dataset, tmp_path,
                                                                              tiny_staged_recipe):
    out = tmp_path / "best"
    assert train.main(["--dataset", str(local_dataset), "--out", str(out), *tiny_staged_recipe]) == 0
    teachers = [str(out / "teachers" / name) for name in ("plain", "other_seed")]
    teacher_metrics = [json.loads((Path(teacher) / "metrics.json").read_text()) for teacher in teachers]
    assert [metrics["config"]["seed"] for metrics in teacher_metrics] == [0, 1]
    student = json.loads((out / "metrics.json").read_text())
    assert student["config"]["teachers"] == teachers and student["config"]["weights_dtype"] == "float16"
    total_minutes = (sum(metrics["train_seconds"] for metrics in teacher_metrics) + student["train_seconds"]) / 60
    card = (out / "README.md").read_text()
    assert f"Distilled from 2 teacher(s); all runs together (the teachers' and this one's training): " \
           f"{total_minutes:.0f} min" in card
    assert f"  - `{teachers[1]}`: {teacher_metrics[1]['validation']['accuracy']:.2%} validation accuracy" in card


def test_resume_continues_the_unfinished_teacher_and_keeps_the_finished_one(local_dataset, tmp_path, monkeypatch,
                                                                           tiny_staged_recipe):
    out = tmp_path / "best"
    command = ["--dataset", str(local_dataset), "--out", str(out), *tiny_staged_recipe]
    real_save = checkpoint.save

    def die_in_the_second_teacher(path, *args, **kwargs):
        real_save(path, *args, **kwargs)
        if path.parent.name == "other_seed":
            raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "save", die_in_the_second_teacher)
    with pytest.raises(KeyboardInterrupt):
        train.main(command)
    monkeypatch.setattr(checkpoint, "save", real_save)
    first_teacher_metrics = (out / "teachers" / "plain" / "metrics.json").read_bytes()
    assert not (out / "teachers" / "other_seed" / "metrics.json").exists()

    trained = []
    real_train = loop.train
    monkeypatch.setattr(loop, "train", lambda config, data, folder, **kwargs: trained.append(
        (folder.name, kwargs["resume"])) or real_train(config, data, folder, **kwargs))
    assert train.main([*command, "--resume"]) == 0
    assert trained == [("other_seed", True), ("best", True)]
    assert (out / "teachers" / "plain" / "metrics.json").read_bytes() == first_teacher_metrics
    assert json.loads((out / "teachers" / "other_seed" / "metrics.json").read_text())["epochs"] == 1
    assert (out / "metrics.json").exists()
