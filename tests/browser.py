"""Headless Chromium (Debian's package) driven by Playwright, with a fake webcam showing a photo."""

import shutil
import tempfile
from pathlib import Path

from PIL import Image, ImageOps

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
COUNT_SHOWN_FRAMES = """() => {
    window.framesShown = 0;
    let last = null;
    new MutationObserver(() => {
        const frame = document.querySelector('#live img');
        if (frame && frame.src !== last) { last = frame.src; window.framesShown += 1; }
    }).observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
}"""

# Bytes over the wire so far (a file from the browser's cache: 0): the whole page, and the in-browser mode's own
# files (runtime, detectors, model).
DOWNLOADED_BYTES = """() => {
    const entries = [performance.getEntriesByType('navigation'), performance.getEntriesByType('resource')].flat();
    const total = (chosen) => chosen.reduce((sum, entry) => sum + entry.transferSize, 0);
    return [total(entries), total(entries.filter((entry) => /[/]web(-model)?[/]/.test(entry.name)))];
}"""


def fake_camera_video(picture: Path, path: Path, size=(640, 480), frames: int = 30) -> Path:
    """A 1-second Y4M video of `picture`, which Chromium loops as its camera. A corner patch changes
    shade every frame, so consecutive webcam frames (and the app's annotated answers) differ."""
    still = ImageOps.pad(Image.open(picture).convert("RGB"), size, color="black")
    half = (size[0] // 2, size[1] // 2)
    chunks = [f"YUV4MPEG2 W{size[0]} H{size[1]} F{frames}:1 Ip A1:1 C420jpeg\n".encode()]
    for index in range(frames):
        frame = still.copy()
        frame.paste((index * 255 // frames,) * 3, (0, 0, 16, 16))
        luma, blue, red = frame.convert("YCbCr").split()
        chunks += [b"FRAME\n", luma.tobytes(), blue.resize(half).tobytes(), red.resize(half).tobytes()]
    path.write_bytes(b"".join(chunks))
    return path


def flags_for(camera_picture: Path | None) -> list[str]:
    """Chromium's flags; with `camera_picture`, its webcam shows that photo and needs no permission click."""
    if camera_picture is None:
        return list(CHROMIUM_FLAGS)
    video = fake_camera_video(camera_picture, Path(tempfile.mkdtemp(prefix="fer-camera-")) / "camera.y4m")
    return CHROMIUM_FLAGS + ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                             f"--use-file-for-fake-video-capture={video}"]


def launch(driver, camera_picture: Path | None = None):
    """Chromium, each page in a fresh profile of its own."""
    return driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=flags_for(camera_picture))


def launch_profile(driver, profile_folder: Path, camera_picture: Path | None = None):
    """Chromium with a profile on disk, as a visitor's browser: its pages share an HTTP cache kept on disk (a
    fresh in-memory profile does not keep a file of the model's size)."""
    return driver.chromium.launch_persistent_context(profile_folder, executable_path=CHROMIUM, headless=True,
                                                     args=flags_for(camera_picture),
                                                     viewport={"width": 1280, "height": 1000})


def start_webcam_stream(browser, url: str):
    """A page on the Webcam tab, streaming, counting the annotated frames it is shown (window.framesShown)."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(url, wait_until="load")
    page.get_by_role("tab", name="Webcam").click()
    page.get_by_label("On the server").check()
    page.evaluate(COUNT_SHOWN_FRAMES)
    page.get_by_role("button", name="Click to Access Webcam").click(timeout=60_000)
    page.get_by_role("button", name="capture photo").click(timeout=60_000)  # labelled "Record" on screen
    page.wait_for_function("window.framesShown >= 3", timeout=60_000)
    return page


def start_browser_live(browser, url: str, frames: int = 3, prepare=None):
    """A page on the Webcam tab running the in-browser mode (window.ferLive) until it has drawn `frames` frames;
    `prepare(page)` runs before the page loads. `browser` may be a profile (`launch_profile`)."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000}) if hasattr(browser, "new_context") \
        else browser.new_page()
    if prepare is not None:
        prepare(page)
    page.goto(url, wait_until="load")
    page.get_by_role("tab", name="Webcam").click()
    page.get_by_role("button", name="Start camera").click(timeout=60_000)
    page.wait_for_function(f"window.ferLive && window.ferLive.stats && window.ferLive.stats.framesDrawn >= {frames}",
                           timeout=60_000)
    return page
