"""The upload/output cache sweeper: deletes old files, keeps examples and fresh files, and keeps
working while request threads add files (where Gradio's own sweep raises and stops for good)."""

import threading
import time
from contextlib import contextmanager

import gradio as gr
import pytest
from gradio.route_utils import delete_files_created_by_app

from fer.app import cache_sweeper


def cached_files(tmp_path, names):
    paths = [tmp_path / name for name in names]
    for path in paths:
        path.write_bytes(b"picture")
    return paths


def test_files_older_than_the_age_go_and_examples_stay(tmp_path):
    with gr.Blocks() as demo:
        image = gr.Image()
    upload, output, example = cached_files(tmp_path, ["upload.jpg", "output.jpg", "example.jpg"])
    demo.upload_file_set.update({str(upload), str(example)})
    image.temp_files.add(str(output))
    image.keep_in_cache = {str(example)}
    assert cache_sweeper.sweep(demo, max_age_s=3600) == 0
    assert upload.exists() and output.exists()
    assert cache_sweeper.sweep(demo, max_age_s=-1) == 2
    assert not upload.exists() and not output.exists() and example.exists()
    assert demo.upload_file_set == {str(example)} and not image.temp_files


def test_files_the_app_writes_in_its_folders_go_with_their_emptied_folders(tmp_path):
    outputs = tmp_path / "outputs"
    request = outputs / "request1"
    request.mkdir(parents=True)
    (request / "faces.csv").write_text("time_s,track")
    (request / "annotated.mp4").write_bytes(b"video")
    assert cache_sweeper.sweep(gr.Blocks(), max_age_s=3600, folders=(outputs,)) == 0
    assert cache_sweeper.sweep(gr.Blocks(), max_age_s=-1, folders=(outputs,)) == 2
    assert outputs.is_dir() and not list(outputs.iterdir())


@contextmanager
def uploads_arriving(demo: gr.Blocks, folder):
    """A request thread adding new cache entries as fast as it can."""
    done = threading.Event()

    def uploads():
        count = 0
        while not done.is_set():
            demo.upload_file_set.add(str(folder / f"new{count}.jpg"))
            count += 1
            time.sleep(0.0001)

    thread = threading.Thread(target=uploads)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def test_sweeping_while_uploads_arrive_never_fails_where_gradios_own_sweep_does(tmp_path):
    demo = gr.Blocks()
    demo.upload_file_set.update(str(path) for path in cached_files(tmp_path, [f"{i}.jpg" for i in range(300)]))
    with uploads_arriving(demo, tmp_path), pytest.raises(RuntimeError, match="changed size during iteration"):
        for _ in range(20):
            delete_files_created_by_app(demo, age=3600)  # what Gradio's delete_cache runs in its sweep task
    with uploads_arriving(demo, tmp_path):
        deleted = sum(cache_sweeper.sweep(demo, max_age_s=-1) for _ in range(20))
    assert deleted == 300 and not list(tmp_path.glob("*.jpg"))
