"""Nothing a visitor uploads outlives its use: delete Gradio's cached uploads and outputs after a minute,
and the files the app writes itself (a video's CSV and annotated copy) in the folders it names.

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


def sweep(blocks: gr.Blocks, max_age_s: float, folders: tuple[Path, ...] = ()) -> int:
    """Delete the app's cached files older than `max_age_s` (examples excepted), and those in
    `folders` with the emptied folders inside them; return how many files."""
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
    return deleted + sum(sweep_folder(folder, max_age_s) for folder in folders)


def sweep_folder(folder: Path, max_age_s: float) -> int:
    deleted = 0
    for path in sorted(folder.rglob("*"), key=lambda path: len(path.parts), reverse=True):  # files before their folders
        try:
            if time.time() - path.lstat().st_ctime <= max_age_s:
                continue
            if path.is_dir():
                if not any(path.iterdir()):
                    path.rmdir()
            else:
                path.unlink()
                deleted += 1
        except FileNotFoundError:
            pass
    return deleted


def start(blocks: gr.Blocks, every_s: float = 30, max_age_s: float = 60,
          folders: tuple[Path, ...] = ()) -> threading.Thread:
    """Sweep every `every_s` seconds in a daemon thread for the life of the process, and all at exit."""
    def sweep_forever():
        while True:
            time.sleep(every_s)
            try:
                sweep(blocks, max_age_s, folders)
            except OSError as error:  # e.g. a permission change: report it, try again next time
                print(f"cache sweep failed: {error}", flush=True)

    atexit.register(sweep, blocks, -1, folders)
    thread = threading.Thread(target=sweep_forever, name="cache-sweeper", daemon=True)
    thread.start()
    return thread
