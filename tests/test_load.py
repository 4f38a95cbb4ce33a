"""The load benchmark in its short mode: concurrent clients, every request answered with a valid
result, memory growth within the bound, no uploaded photo left after the cache sweep."""

import re
import subprocess
import sys

from tests.app_server import ROOT


def test_short_load_run_answers_every_request_and_leaves_nothing_behind():
    result = subprocess.run([sys.executable, "benchmarks/load_test.py", "--clients", "6", "--seconds", "15",
                             "--warmup-seconds", "5"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    print(result.stdout)
    served = re.search(r"(\d+) requests served .*, (\d+) failed", result.stdout)
    assert served, result.stdout + result.stderr[-2000:]
    assert int(served.group(1)) >= 6 and int(served.group(2)) == 0
    assert "100 s after the load: 0" in result.stdout
    assert result.returncode == 0, result.stdout  # also: RSS growth after warm-up within 300 MiB
