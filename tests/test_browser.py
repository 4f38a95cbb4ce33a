"""One real browser: headless Chromium (Debian's) driven by Playwright uploads a photo and sees
the annotated picture and the seven-class chart, streams a (fake) webcam, and uploads a video clip
to see its timeline and annotated copy play. Saves screenshots in test-artifacts/."""

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer.app.chart import FACE_COLUMNS
from fer.model.classifier import FER2013_LABELS
from fer.video.clip import Clip, write_mp4
from tests.app_server import ROOT
from tests.browser import CHROMIUM, launch, start_webcam_stream
from tests.images import EXAMPLES, odd_but_valid_files
from tests.videos import crossing_faces_frames, selfie_frames, stored_on_its_side

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
ARTIFACTS = ROOT / "test-artifacts"


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


@pytest.mark.parametrize("name", ["scan.tiff", "iphone.heic"])
def test_a_photo_browsers_cannot_show_appears_in_the_photo_box_not_a_broken_icon(browser, app_url, tmp_path, name):
    page = browser.new_page(viewport={"width": 1280, "height": 1500})
    page.goto(app_url, wait_until="load")
    page.locator("#photo input[type=file]").set_input_files(str(odd_but_valid_files(tmp_path)[name]))
    page.locator("#annotated img").wait_for(timeout=120_000)
    page.wait_for_function("document.querySelector('#photo img')?.src.includes('preview-')", timeout=60_000)
    page.wait_for_function("[...document.querySelectorAll('#photo img, #annotated img')].every(img => img.complete)")
    page.screenshot(path=str(ARTIFACTS / f"browser-upload-{name.replace('.', '-')}.png"), full_page=True)
    widths = page.evaluate("[...document.querySelectorAll('#photo img, #annotated img')].map(img => img.naturalWidth)")
    assert widths == [512, 512]  # a picture that failed to load has a natural width of 0


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


@pytest.mark.parametrize("angle", [90, 270])
def test_chromium_shows_a_clip_stored_on_its_side_as_the_app_turns_it(browser, tmp_path, angle):
    """The direction of the turn is FFmpeg's convention, read through PyAV; a real player settles it."""
    turned = stored_on_its_side(tmp_path / "selfie.mp4", selfie_frames(), angle)
    with Clip(turned) as clip:
        _, upright = next(clip.sampled_frames())
    page = browser.new_page()
    page.set_content(f'<video muted src="data:video/mp4;base64,{base64.b64encode(turned.read_bytes()).decode()}">')
    page.wait_for_function("document.querySelector('video').readyState >= 2", timeout=30_000)
    shown = Image.open(io.BytesIO(page.locator("video").screenshot())).convert("RGB")
    assert shown.size == upright.size == (240, 320)
    difference = np.abs(np.asarray(shown, np.int16) - np.asarray(upright, np.int16)).mean()
    upside_down = np.abs(np.asarray(shown, np.int16) - np.asarray(upright.rotate(180), np.int16)).mean()
    print(f"{angle}°: mean difference to the app's upright frame {difference:.1f}, to it upside down {upside_down:.1f}")
    assert difference < 10 < upside_down
