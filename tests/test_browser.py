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
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.goto(server.url, wait_until="networkidle")
            page.locator("input[type=file]").first.set_input_files(str(EXAMPLES / "two_people.jpg"))
            annotated = page.locator("img[alt]").filter(has=page.locator("xpath=."))
            page.get_by_text("face 2:", exact=False).first.wait_for(timeout=90_000)
            page.wait_for_timeout(1500)  # let the chart finish drawing
            page.screenshot(path=str(artifacts / "browser-upload.png"), full_page=True)
            chart_text = page.locator(".vega-embed").first.inner_text() if page.locator(".vega-embed").count() else ""
            body = page.content()
            assert annotated.count() >= 2  # the uploaded photo and the annotated result
            for label in ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"):
                assert label in chart_text or f">{label}<" in body
        finally:
            browser.close()
