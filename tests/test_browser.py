"""One real browser: headless Chromium (Debian's) driven by Playwright uploads a photo and sees
the annotated picture and the seven-class chart, streams a (fake) webcam, and uploads a video clip
to see its timeline and annotated copy play. Saves screenshots in test-artifacts/."""

from pathlib import Path

import pytest

from fer.app.chart import FACE_COLUMNS
from fer.model.classifier import FER2013_LABELS
from fer.video.clip import write_mp4
from tests.app_server import ROOT, running_app
from tests.browser import CHROMIUM, launch, start_webcam_stream
from tests.images import EXAMPLES
from tests.videos import crossing_faces_frames

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def app_url():
    with running_app() as server:
        yield server.url


@pytest.fixture(scope="module")
def browser():
    """Chromium whose webcam shows Grace Hopper's portrait."""
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright.sync_playwright() as driver:
        chromium = launch(driver, camera_picture=EXAMPLES / "grace_hopper.jpg")
        try:
            yield chromium
        finally:
            chromium.close()


def test_upload_shows_annotated_photo_and_seven_class_chart(browser, app_url):
    page = browser.new_page(viewport={"width": 1280, "height": 1500})
    page.goto(app_url, wait_until="load")
    upload = page.locator("input[type=file]").first
    upload.wait_for(state="attached", timeout=60_000)
    page.get_by_text("All faces").first.wait_for(timeout=30_000)
    assert [header.strip() for header in page.locator("table th").all_inner_texts()] == FACE_COLUMNS  # not "1 2 3"
    upload.set_input_files(str(EXAMPLES / "two_people.jpg"))
    page.get_by_text("face 2:").first.wait_for(timeout=120_000)  # the face picker: 2 faces found
    chart = page.locator(".vega-embed").first
    chart.get_by_text("surprise").first.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "browser-upload.png"), full_page=True)
    annotated = page.locator("img[src*='/file=']")
    assert annotated.count() >= 3  # the photo, the annotated photo, the Grad-CAM
    chart_text = chart.inner_text()
    for label in FER2013_LABELS:
        assert label in chart_text


def test_webcam_stream_keeps_showing_annotated_frames_and_the_chart(browser, app_url):
    page = start_webcam_stream(browser, app_url)
    page.wait_for_function("window.framesShown >= 10", timeout=60_000)
    chart = page.locator("#live-chart .vega-embed")
    chart.get_by_text("surprise").first.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "browser-webcam.png"), full_page=True)
    chart_text = chart.inner_text()
    for label in FER2013_LABELS:
        assert label in chart_text


def test_video_upload_shows_a_timeline_per_face_and_an_annotated_video_that_plays(browser, app_url, tmp_path):
    clip = write_mp4(tmp_path / "crossing.mp4", crossing_faces_frames(seconds=2, fps=10), fps=10)
    page = browser.new_page(viewport={"width": 1280, "height": 1900})
    page.goto(app_url, wait_until="load")
    page.get_by_role("tab", name="Video").click()
    page.locator("#clip input[type=file]").set_input_files(str(clip))
    page.locator("#clip video").wait_for(timeout=60_000)
    page.get_by_label("Also make an annotated video").check()
    page.get_by_role("button", name="Analyse video").click()
    timeline = page.locator("#timeline .vega-embed")
    timeline.get_by_text("surprise").first.wait_for(timeout=120_000)
    page.get_by_text("face 2").first.wait_for(timeout=30_000)  # the face picker: two tracks
    page.wait_for_function("[...document.querySelectorAll('video')].filter(v => v.readyState >= 1).length >= 2",
                           timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "browser-video.png"), full_page=True)
    durations = page.evaluate("[...document.querySelectorAll('video')].map(v => v.duration)")
    assert len(durations) == 2 and all(abs(duration - 2) < 0.3 for duration in durations)
    for label in FER2013_LABELS:
        assert label in timeline.inner_text()
