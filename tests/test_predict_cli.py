"""`python -m fer.predict` from the shell."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_json_output_is_only_json_lines(tmp_path):
    (tmp_path / "not_a_picture.png").write_text("hello")
    result = subprocess.run([sys.executable, "-m", "fer.predict", "examples/grace_hopper.jpg",
                             str(tmp_path / "not_a_picture.png"), "--json"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(report["file"]).name for report in reports] == ["grace_hopper.jpg", "not_a_picture.png"]
    assert reports[0]["faces"][0]["label"] and "error" in reports[1]
    assert result.returncode == 1  # one file failed
