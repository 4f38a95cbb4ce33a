"""Training killed with SIGKILL mid-run, damaged weights, and the app's fallback."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from fer.model.classifier import BUNDLED_MODEL, EmotionClassifier, load_for_app
from tests.app_server import ROOT

TINY_RUN = ["--epochs", "4", "--restarts", "0", "--width", "4", "--batch-size", "8", "--precision", "fp32", "--lr", "0.05"]


def train_command(dataset, out, *extra):
    return [sys.executable, "train.py", "--dataset", str(dataset), "--out", str(out), *TINY_RUN, *extra]


def test_sigkill_mid_run_then_resume_matches_an_uninterrupted_run(local_dataset, tmp_path):
    subprocess.run(train_command(local_dataset, tmp_path / "straight"), cwd=ROOT, check=True,
                   capture_output=True, timeout=600)
    victim = subprocess.Popen(train_command(local_dataset, tmp_path / "killed"), cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = tmp_path / "killed" / "checkpoint.safetensors"
    deadline = time.monotonic() + 300
    while not checkpoint.exists() and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(victim.pid, signal.SIGKILL)  # during epoch 2: epoch 1's checkpoint is on disk
    victim.wait()
    assert victim.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    load_file(str(checkpoint))  # never half-written: it loads
    resumed = subprocess.run(train_command(local_dataset, tmp_path / "killed", "--resume"), cwd=ROOT,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch" in resumed.stdout
    history = [json.loads((tmp_path / run / "metrics.json").read_text())["history"] for run in ("straight", "killed")]
    assert [r["val_accuracy"] for r in history[0]] == [r["val_accuracy"] for r in history[1]]
    assert [round(r["train_loss"], 6) for r in history[0]] == [round(r["train_loss"], 6) for r in history[1]]


def test_damaged_weights_fall_back_to_the_bundled_model_and_name_the_file(tmp_path):
    EmotionClassifier(width=4).save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\x00" * 10)
    model, note = load_for_app(str(tmp_path))
    assert "bundled model" in note and "model.safetensors" in note
    bundled, _ = load_for_app(None)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), bundled.state_dict().values()))


def test_bundled_model_is_safetensors_only_and_small():
    names = {path.name for path in BUNDLED_MODEL.iterdir()}
    assert {"config.json", "model.safetensors", "model.onnx", "README.md", "metrics.json",
            "confusion_matrix.png"} <= names
    assert not {name for name in names if name.endswith((".bin", ".pt", ".pth", ".pkl", ".ckpt"))}
    for name in ("model.safetensors", "model.onnx"):  # four float16 width-44 networks: 17.8 MB each
        assert (BUNDLED_MODEL / name).stat().st_size <= 20 * 1024 * 1024


def test_predict_cli_prints_json_and_writes_csv(tmp_path):
    csv_path = tmp_path / "faces.csv"
    result = subprocess.run([sys.executable, "-m", "fer.predict", "examples", "--json", "--csv", str(csv_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert {os.path.basename(r["file"]) for r in reports} == {"astronaut.jpg", "grace_hopper.jpg", "two_people.jpg"}
    rows = csv_path.read_text().splitlines()
    assert rows[0].startswith("file,face,x,y,width,height,label,confidence,angry")
    assert len(rows) == 1 + 4  # 1 + 1 + 2 faces


@pytest.mark.parametrize("bad", ["missing.jpg"])
def test_predict_cli_reports_unreadable_files_and_continues(tmp_path, bad):
    result = subprocess.run([sys.executable, "-m", "fer.predict", str(tmp_path / bad), "examples/astronaut.jpg"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "No such file" in result.stderr and "astronaut.jpg: 1 face(s)" in result.stdout
