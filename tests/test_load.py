"""The load benchmark in its short mode: concurrent clients, no failed request, no upload left behind."""

import subprocess
import sys

from tests.app_server import ROOT


def test_short_load_run_serves_every_request_and_leaves_no_upload():
    result = subprocess.run([sys.executable, "benchmarks/load_test.py", "--clients", "6", "--seconds", "15", "--warmup-seconds", "5",
                             # memory growth is judged by the full 60 s run (README, Reliability), not here
                             "--rss-growth-mib", "4096"],
                            cwd=ROOT, capture_output=True, text=True, timeout=900)
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert ", 0 failed" in result.stdout
    assert "files left in Gradio's temp folder 100 s after the load: 0" in result.stdout
