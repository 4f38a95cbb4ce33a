"""Nothing a visitor uploads outlives its use: delete Gradio's cached uploads and outputs after a minute.

Gradio's own `delete_cache` iterates its file sets while request threads add to them; under load
that raises "Set changed size during iteration" (tests/test_cache_sweeper.py), which ends its
sweeping task for good. This sweeper copies each set first and keeps running
whatever one sweep meets.
"""

from __future__ import annotations

import atexit
import threading
import time
from pathlib import Path

import gradio as gr


def sweep(blocks: gr.Blocks, max_age_s: float) -> int:
    """Delete the app's cached files older than `max_age_s` (examples excepted); return how many."""
    kept = set().union(*(getattr(block, "keep_in_cache", set()) for block in list(blocks.blocks.values())))
    deleted = 0
    for files in list(blocks.temp_file_sets):
        for name in list(files):  # a copy: request threads add to these sets meanwhile
            if name in kept:
                continue
            path = Path(name)
            try:
                if time.time() - path.lstat().st_ctime <= max_age_s:
                    continue
                path.unlink()
                deleted += 1
            except FileNotFoundError:
                pass
            files.discard(name)
    return deleted


def start(blocks: gr.Blocks, every_s: float = 30, max_age_s: float = 60) -> threading.Thread:
    """Sweep every `every_s` seconds in a daemon thread for the life of the process, and all at exit."""
    def sweep_forever():
        while True:
            time.sleep(every_s)
            try:
                sweep(blocks, max_age_s)
            except OSError as error:  # e.g. a permission change: report it, try again next time
                print(f"cache sweep failed: {error}", flush=True)

    atexit.register(sweep, blocks, -1)
    thread = threading.Thread(target=sweep_forever, name="cache-sweeper", daemon=True)
    thread.start()
    return thread
