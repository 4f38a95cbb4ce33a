from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

import train
from fer.model.classifier import BUNDLED_MODEL, FER2013_LABELS, ModelLoadError, load_classifier
from fer.training import checkpoint, loop, losses, recipes, schedule
from fer.training.checkpoint import CheckpointError
from fer.training.dataset import load_fer
from tests.conftest import synthetic_faces

BUNDLED_MEMBER = BUNDLED_MODEL.parents[1] / "runs" / "votes"  # the bundled average's first network, committed
TINY = dict(epochs=2, restarts=0, batch_size=16, width=4, precision="fp32", lr=0.05)


def test_a_training_step_changes_the_weights_and_keeps_the_loss_finite(local_dataset, tmp_path):
    data = load_fer(str(local_dataset))
    config = recipes.recipe("default", **{**TINY, "epochs": 1})
    before = loop.build_model(config, data.label_names).state_dict()
    state = loop.train(config, data, tmp_path)
    after = load_file(str(tmp_path / "model.safetensors"))
    assert torch.isfinite(torch.tensor(state["history"][0]["train_loss"]))
    changed = [name for name, value in before.items() if "weight" in name and not torch.equal(value, after[name])]
    assert changed, "no weight moved"


def test_with_a_weight_average_the_average_is_validated_and_kept(local_dataset, tmp_path):
    data = load_fer(str(local_dataset))
    config = recipes.recipe("default", **{**TINY, "epochs": 1, "ema": 0.9})
    state = loop.train(config, data, tmp_path)
    kept = load_file(str(tmp_path / "model.safetensors"))
    saved = load_file(str(tmp_path / loop.CHECKPOINT_NAME))
    conv, norm = "net.features.0.weight", "net.features.1.running_mean"
    assert torch.equal(kept[conv], saved[f"average.module.{conv}"])
    assert not torch.equal(kept[conv], saved[f"model.{conv}"])
    assert torch.count_nonzero(kept[norm]) > 0, "batch-norm statistics were not re-estimated"
    assert {"val_accuracy", "raw_val_accuracy"} <= set(state["history"][0])


def test_init_from_starts_training_at_the_given_models_weights(local_dataset, tmp_path):
    data = load_fer(str(local_dataset))
    loop.train(recipes.recipe("default", **{**TINY, "epochs": 1}), data, tmp_path / "first")
    standing_still = recipes.recipe("default", **{**TINY, "epochs": 1, "lr": 0.0, "schedule": "constant",
                                                   "seed": 1, "init_from": str(tmp_path / "first")})
    loop.train(standing_still, data, tmp_path / "second")
    first, second = (load_file(str(tmp_path / run / "model.safetensors")) for run in ("first", "second"))
    conv = "net.features.0.weight"
    assert torch.equal(first[conv], second[conv])
    assert not torch.equal(first[conv], loop.build_model(standing_still, data.label_names).state_dict()[conv])


@pytest.mark.parametrize("change, message", [({"width": 8}, "not the network"),
                                             ({"input_size": 32}, "not the network"),
                                             ({"labels": list("abcdefg")}, "the data's classes")])
def test_init_from_a_different_network_is_a_clear_error(local_dataset, tmp_path, change, message):
    data = load_fer(str(local_dataset))
    settings = {key: value for key, value in change.items() if key != "labels"}
    saved = loop.build_model(recipes.recipe("default", **{**TINY, **settings}), change.get("labels", data.label_names))
    saved.save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError, match=message):
        loop.start_from(loop.build_model(recipes.recipe("default", **TINY), data.label_names), str(tmp_path))


def test_seed_recipe_is_the_original_training():
    seed = recipes.recipe("seed")
    assert (seed.arch, seed.epochs, seed.batch_size, seed.lr, seed.augment, seed.dropout) == ("seed", 10, 32, 0.01,
                                                                                              False, 0.0)


def killed_after_first_epoch(config, data, out_dir, monkeypatch) -> None:
    """Train as if the process were killed right after epoch 1's checkpoint is written."""
    real_save = checkpoint.save

    def save_then_die(*args, **kwargs):
        real_save(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        loop.train(config, data, out_dir)
    monkeypatch.setattr(checkpoint, "save", real_save)


@pytest.mark.parametrize("settings", [{"ema": 0.0}, {"ema": 0.9}, {"ema": 0.9, "epochs": 1, "restarts": 1, "restart_epochs": 1},
                                      {"ema": 0.0, "mixup": 0.4}],
                         ids=["plain", "weight-average", "killed-before-a-restart", "mixup"])
def test_resume_after_an_interruption_ends_like_an_uninterrupted_run(local_dataset, tmp_path, monkeypatch, settings):
    data = load_fer(str(local_dataset))
    config = recipes.recipe("default", **{**TINY, **settings})
    straight = loop.train(config, data, tmp_path / "straight")

    killed_after_first_epoch(config, data, tmp_path / "resumed", monkeypatch)
    resumed = loop.train(config, data, tmp_path / "resumed", resume=True)

    assert resumed["epochs_done"] == 2
    assert [r["val_accuracy"] for r in resumed["history"]] == [r["val_accuracy"] for r in straight["history"]]
    weights_straight = load_file(str(tmp_path / "straight" / loop.CHECKPOINT_NAME))
    weights_resumed = load_file(str(tmp_path / "resumed" / loop.CHECKPOINT_NAME))
    assert all(torch.equal(weights_straight[name], weights_resumed[name]) for name in weights_straight)


def test_a_damaged_checkpoint_is_named_in_the_error(local_dataset, tmp_path):
    data = load_fer(str(local_dataset))
    config = recipes.recipe("default", **{**TINY, "epochs": 1})
    loop.train(config, data, tmp_path)
    path = tmp_path / loop.CHECKPOINT_NAME
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match=str(path)):
        loop.train(config, data, tmp_path, resume=True)


def test_learning_rate_warms_up_then_decays_to_zero():
    config = recipes.recipe("default", epochs=4, restarts=0)
    lrs = [schedule.learning_rate(config, step, 25) for step in range(101)]
    assert lrs[0] < lrs[15] == pytest.approx(config.lr)
    assert lrs[100] == pytest.approx(0.0, abs=1e-9)
    assert schedule.learning_rate(recipes.recipe("seed"), 50, 100) == 0.01


def test_each_restart_is_a_one_cycle_at_the_restart_rate():
    config = recipes.recipe("default", epochs=4, restarts=2, restart_epochs=2, restart_lr=0.02)
    assert schedule.cycles(config) == [(0, 4, 0.1), (4, 2, 0.02), (6, 2, 0.02)]
    assert schedule.total_epochs(config) == 8
    lrs = [schedule.learning_rate(config, step, 10) for step in range(80)]
    assert lrs[39] < 0.001 and lrs[40] < lrs[43] == pytest.approx(0.02) and lrs[59] < 0.001
    assert lrs[60:80] == lrs[40:60]
    assert lrs[:40] == [schedule.learning_rate(recipes.recipe("default", epochs=4, restarts=0), step, 10)
                        for step in range(40)]


def test_a_restart_begins_at_the_weight_average_with_fresh_momentum(local_dataset, tmp_path, monkeypatch):
    data = load_fer(str(local_dataset))
    config = recipes.recipe("default", **{**TINY, "epochs": 1, "ema": 0.9, "restarts": 1, "restart_epochs": 1})
    conv = "net.features.0.weight"
    ends, starts = [], []
    real_save, real_run_epoch = checkpoint.save, loop.run_epoch

    def note_the_end(path, model, optimizer, state, average):
        ends.append((model.state_dict()[conv].clone(), average.module.state_dict()[conv].clone()))
        real_save(path, model, optimizer, state, average)

    def note_the_start(model, optimizer, *args, **kwargs):
        starts.append((model.state_dict()[conv].clone(), len(optimizer.state)))
        return real_run_epoch(model, optimizer, *args, **kwargs)

    monkeypatch.setattr(checkpoint, "save", note_the_end)
    monkeypatch.setattr(loop, "run_epoch", note_the_start)
    assert loop.train(config, data, tmp_path)["epochs_done"] == 2
    (raw_after_first, average_after_first), (restart_weights, momentum_buffers) = ends[0], starts[1]
    assert torch.equal(restart_weights, average_after_first)
    assert not torch.equal(restart_weights, raw_after_first)
    assert momentum_buffers == 0, "the optimizer kept its momentum across the restart"


def test_sharpness_aware_gradients_are_those_at_the_nearby_worst_point_and_the_weights_stay():
    model = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, -2.0, 0.5]]))
    start = model.weight.detach().clone()

    def loss():
        return model.weight.pow(4).sum()  # gradient 4·w³
    loss().backward()
    gradient = model.weight.grad.clone()
    loop.sharpness_aware_gradients(model, 0.1, loss)
    worst = start + 0.1 * gradient / gradient.norm()
    assert torch.allclose(model.weight.detach(), start, atol=1e-7)
    assert torch.allclose(model.weight.grad, 4 * worst.pow(3))
    assert not torch.allclose(model.weight.grad, gradient)


def test_the_recipe_s_sam_radius_takes_every_step_through_sharpness_aware_gradients(local_dataset, tmp_path,
                                                                                     monkeypatch):
    data = load_fer(str(local_dataset))
    radii, real_sharpness_aware_gradients = [], loop.sharpness_aware_gradients

    def note_the_radius(model, radius, loss_at_weights):
        radii.append(radius)
        real_sharpness_aware_gradients(model, radius, loss_at_weights)
    monkeypatch.setattr(loop, "sharpness_aware_gradients", note_the_radius)
    config = recipes.recipe("default", **{**TINY, "epochs": 1, "sam": 0.05})
    state = loop.train(config, data, tmp_path)
    steps = -(-len(data.splits["train"]) // config.batch_size)
    assert radii == [0.05] * steps
    assert torch.isfinite(torch.tensor(state["history"][0]["train_loss"]))
    loop.train(recipes.recipe("default", **{**TINY, "epochs": 1}), data, tmp_path / "plain")
    assert len(radii) == steps, "sharpness-aware minimisation ran with the radius 0"


def test_a_mixup_loss_charges_both_labels_by_their_shares():
    config = recipes.recipe("default", label_smoothing=0.0)
    logits = torch.tensor([[4.0, 0.0, 0.0], [0.0, 4.0, 0.0]])
    targets, swapped = torch.tensor([0, 1]), torch.tensor([1, 0])
    own = losses.training_loss(logits, targets, config, None)
    other = losses.training_loss(logits, targets[swapped], config, None)
    assert losses.training_loss(logits, targets, config, None, targets[swapped], share=1.0) == pytest.approx(own.item())
    assert losses.training_loss(logits, targets, config, None, targets[swapped], share=0.7) == pytest.approx(
        0.7 * own.item() + 0.3 * other.item())
    assert other > own


def test_a_focal_loss_of_gamma_zero_is_cross_entropy_and_a_larger_gamma_discounts_easy_images():
    logits = torch.tensor([[6.0, 0.0, 0.0], [0.5, 0.0, 0.0]])  # the first image is easy, the second hard
    targets = torch.tensor([0, 0])
    weights = torch.tensor([1.0, 3.0, 0.5])
    for smoothing, loss_weights in [(0.1, None), (0.0, weights)]:
        assert losses.focal_loss(logits, targets, 0.0, smoothing, loss_weights) == pytest.approx(
            F.cross_entropy(logits, targets, weight=loss_weights, label_smoothing=smoothing).item())

    def easy_share(gamma):
        per_image = [losses.focal_loss(logits[i:i + 1], targets[i:i + 1], gamma, 0.0, None) for i in range(2)]
        return (per_image[0] / per_image[1]).item()
    assert easy_share(2.0) < easy_share(1.0) < easy_share(0.0)


def test_the_recipe_s_focal_gamma_selects_the_focal_loss():
    logits, targets = torch.randn(8, 7), torch.randint(0, 7, (8,))
    focal = recipes.recipe("default", focal_gamma=2.0)
    assert losses.training_loss(logits, targets, focal, None) == pytest.approx(
        losses.focal_loss(logits, targets, 2.0, focal.label_smoothing, None).item())
    assert losses.training_loss(logits, targets, focal, None) < losses.training_loss(
        logits, targets, recipes.recipe("default"), None)


def test_class_weights_favour_rare_classes_and_keep_the_mean():
    counts = [100, 10, 100]
    weights = losses.class_weights(counts, "balanced")
    assert weights[1] > weights[0] == pytest.approx(weights[2])
    assert (weights * torch.tensor(counts)).sum() / sum(counts) == pytest.approx(1.0)
    assert losses.class_weights(counts, "none") is None


def test_weights_dtype_float16_stores_the_kept_model_in_half_precision(local_dataset, tmp_path):
    data = load_fer(str(local_dataset))
    loop.train(recipes.recipe("default", **{**TINY, "epochs": 1, "weights_dtype": "float16"}), data, tmp_path)
    stored = load_file(str(tmp_path / "model.safetensors"))
    assert {value.dtype for value in stored.values() if value.is_floating_point()} == {torch.float16}
    assert load_file(str(tmp_path / loop.CHECKPOINT_NAME))["model.net.features.0.weight"].dtype == torch.float32


@pytest.fixture
def image_folder(tmp_path) -> Path:
    """A tiny folder of class subfolders (what `load_dataset` reads as an image folder), in FER-2013's classes."""
    images, labels = synthetic_faces(42, seed=5)
    for image, label in zip(images, labels):
        folder = tmp_path / "my_faces" / "train" / FER2013_LABELS[label]
        folder.mkdir(parents=True, exist_ok=True)
        image.save(folder / f"{len(list(folder.iterdir()))}.png")
    return tmp_path / "my_faces"


def test_init_from_a_member_of_the_bundled_model_takes_its_shape_and_fine_tunes(image_folder, tmp_path, capsys):
    out = tmp_path / "mine"
    code = train.main(["--dataset", str(image_folder), "--init-from", str(BUNDLED_MEMBER), "--epochs", "1",
                       "--lr", "0.02", "--restarts", "0", "--ema", "0", "--batch-size", "16", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    member, tuned = load_classifier(str(BUNDLED_MEMBER)), load_classifier(str(out))
    assert (tuned.arch, tuned.width, tuned.input_size) == (member.arch, member.width, member.input_size)
    conv = "net.features.0.weight"
    assert not torch.equal(tuned.state_dict()[conv], member.state_dict()[conv])
    assert (out / "metrics.json").exists()


def test_init_from_the_bundled_average_names_its_members_instead(image_folder, tmp_path, capsys):
    code = train.main(["--dataset", str(image_folder), "--init-from", str(BUNDLED_MODEL), "--out", str(tmp_path / "m")])
    assert code == 2 and "fine-tune one of them" in capsys.readouterr().err


def test_init_from_with_a_contradicting_width_is_a_clear_error(image_folder, tmp_path, capsys):
    code = train.main(["--dataset", str(image_folder), "--init-from", str(BUNDLED_MEMBER), "--width", "64",
                       "--out", str(tmp_path / "mine")])
    error = capsys.readouterr().err
    assert code == 2 and "--width 64" in error and "leave those flags out" in error
    assert not (tmp_path / "mine" / loop.CHECKPOINT_NAME).exists()
