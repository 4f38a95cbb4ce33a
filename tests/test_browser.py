"""One real browser: headless Chromium (Debian's) driven by Playwright uploads a photo and sees
the annotated picture and the seven-class chart. Saves a screenshot in test-artifacts/."""

import shutil
from pathlib import Path

import pytest

from tests.app_server import ROOT, running_app
from tests.images import EXAMPLES

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_upload_shows_annotated_photo_and_seven_class_chart():
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with running_app() as server, playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1500})
            page.goto(server.url, wait_until="load")
            upload = page.locator("input[type=file]").first
            upload.wait_for(state="attached", timeout=60_000)
            upload.set_input_files(str(EXAMPLES / "two_people.jpg"))
            page.get_by_text("face 2:").first.wait_for(timeout=120_000)  # the face picker: 2 faces found
            chart = page.locator(".vega-embed").first
            chart.get_by_text("surprise").first.wait_for(timeout=30_000)
            page.screenshot(path=str(artifacts / "browser-upload.png"), full_page=True)
            annotated = page.locator("img[src*='/file=']")
            assert annotated.count() >= 3  # the photo, the annotated photo, the Grad-CAM
            chart_text = chart.inner_text()
            for label in ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"):
                assert label in chart_text
        finally:
            browser.close()
