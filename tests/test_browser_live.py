"""The Webcam tab's in-browser mode in headless Chromium: the page classifies the fake camera's picture with
onnxruntime-web and gets the same faces, labels and probabilities as the server's `fer.model.analysis`
on the very frame it analysed; without WebAssembly, or when a file fails to load, it says so and the
server stream takes over."""

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer.app.browser_live import vendor_id
from fer.face_path.faces import FRAME_SCALE, LOOSE_FRAMING, ROLL_TOLERANCE_DEGREES, detect_faces
from fer.model.analysis import analyze
from fer.model.classifier import BUNDLED_MODEL, load_classifier
from fer.model.probabilities import TTA_MODES
from tests.browser import CHROMIUM, DOWNLOADED_BYTES, launch, launch_profile, start_browser_live
from tests.images import EXAMPLES, three_faces, two_people_at_a_laptop

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
PROBABILITY_TOLERANCE = 0.02
YUNET_FRAMING = {"scale": FRAME_SCALE, "shift_x": 0, "shift_y": 0, "loose_framing": LOOSE_FRAMING,
                 "roll_tolerance_degrees": ROLL_TOLERANCE_DEGREES}


@pytest.fixture(scope="module")
def driver():
    with playwright.sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def model():
    return load_classifier(BUNDLED_MODEL)


def analysed_in_the_page(driver, app_url, picture: Path):
    """The frame the page analysed last (as the server would receive it) and the page's faces for it."""
    browser = launch(driver, camera_picture=picture)
    try:
        page = start_browser_live(browser, app_url, frames=8)  # every view of every face had its turn
        assert "nothing is sent" in page.locator(".live-status").inner_text()
        faces, snapshot = page.evaluate("async () => { await ferLive.view.pause(); "
                                        "return [ferLive.stats.lastFaces, ferLive.view.frameSnapshot()]; }")
        frame = Image.open(io.BytesIO(base64.b64decode(snapshot.split(",", 1)[1]))).convert("RGB")
        return page, browser, frame, faces
    except Exception:
        browser.close()
        raise


def centre_distance(page_box, server_box) -> float:
    """How far apart two boxes' centres are, in face sizes (the server box's longer side)."""
    (x, y, width, height), (sx, sy, sw, sh) = page_box, server_box
    return np.hypot(x + width / 2 - sx - sw / 2, y + height / 2 - sy - sh / 2) / max(sw, sh)


@pytest.mark.parametrize("picture", ["grace_hopper.jpg", "astronaut.jpg", "three faces"])
def test_the_page_finds_the_servers_faces_and_classifies_them_as_the_server_does(driver, app_url, model, tmp_path,
                                                                                   picture):
    path = EXAMPLES / picture
    if picture == "three faces":
        three_faces().save(path := tmp_path / "three.png")
    page, browser, frame, page_faces = analysed_in_the_page(driver, app_url, path)
    try:
        server = analyze(frame, model, tta="flip", second_look=False)
        assert len(page_faces) == len(server.faces)
        # Largest first on both sides, but equal faces may come in either order: pair each with the nearest.
        page_faces = [min(page_faces, key=lambda page_face: centre_distance(page_face["box"], face.face.box))
                      for face in server.faces]
        for page_face, server_face in zip(page_faces, server.faces):
            assert centre_distance(page_face["box"], server_face.face.box) < 0.25
        # The page's face path (framing, grey, Lanczos, crops, model, prior correction) on the server's boxes:
        server_faces = [{"box": list(face.face.box), "eyes": [list(eye) for eye in face.face.landmarks[:2]]}
                        for face in server.faces]
        for tta in TTA_MODES:
            same_boxes = page.evaluate("([faces, framing, tta]) => ferLive.view.classifyFaces(faces, framing, tta)",
                                       [server_faces, YUNET_FRAMING, tta])
            server_tta = analyze(frame, model, tta=tta, second_look=False) if tta != "flip" else server
            for page_probabilities, server_face in zip(same_boxes, server_tta.faces):
                server_probabilities = list(server_face.probabilities.values())
                assert np.abs(np.subtract(page_probabilities, server_probabilities)).max() < PROBABILITY_TOLERANCE, tta
        # And end to end, with the page's own detector and its framing (probabilities within 0.003 of the server's
        # on the astronaut and the three faces, 0.09 on Grace Hopper, whose box BlazeFace frames differently):
        for page_face, server_face in zip(page_faces, server.faces):
            assert model.labels[int(np.argmax(page_face["probabilities"]))] == server_face.label
    finally:
        browser.close()


@pytest.mark.parametrize("scale", [0.625, 0.3125])
def test_people_at_a_laptop_and_a_few_metres_back_are_all_found_as_the_server_finds_them(driver, app_url, tmp_path,
                                                                                       scale):
    """YuNet's boxes 110 and 54 px wide, then 56 and 27: BlazeFace short range alone found one, then none."""
    scene = two_people_at_a_laptop(scale)
    scene.save(path := tmp_path / "scene.png")
    browser = launch(driver, camera_picture=path)
    try:
        page = start_browser_live(browser, app_url, frames=12)  # full range had every view twice
        faces = page.evaluate("async () => { await ferLive.view.pause(); return ferLive.stats.lastFaces; }")
    finally:
        browser.close()
    server_boxes = [face.box for face in detect_faces(scene)]
    assert len(faces) == len(server_boxes) == 2
    for server_box in server_boxes:
        assert min(centre_distance(face["box"], server_box) for face in faces) < 0.5
    assert all(len(face["probabilities"]) == 7 for face in faces)


def test_a_second_visit_downloads_almost_nothing(driver, app_url, tmp_path):
    """The runtime and detectors come from the browser's cache without asking; the model and the example photos
    after a 304."""
    profile = launch_profile(driver, tmp_path / "profile", camera_picture=EXAMPLES / "grace_hopper.jpg")
    try:
        downloaded = []
        for _ in range(2):
            page = start_browser_live(profile, app_url, frames=1)
            downloaded.append(page.evaluate(DOWNLOADED_BYTES))
            page.close()
    finally:
        profile.close()
    (first_page, first_mode), (second_page, second_mode) = downloaded
    print(f"downloaded before the first result: {first_page / 1e6:.2f} MB, then {second_page / 1e3:.0f} kB")
    assert first_mode > 4e6  # the runtime's WASM alone is 3.8 MB gzipped
    assert second_page < 200e3 and second_mode < 5e3


@pytest.mark.parametrize("tta", ["none", "tencrop"])
def test_the_page_takes_the_views_of_the_chosen_test_time_augmentation_in_turn(browser, app_url, tta):
    page = start_browser_live(browser, app_url)
    page.locator("#tta").get_by_label(tta).check()
    drawn = page.evaluate("ferLive.stats.framesDrawn")
    page.wait_for_function(f"ferLive.stats.framesDrawn >= {drawn + 25}", timeout=60_000)  # 20 views for tencrop
    view_counts, (face,), (all_at_once,) = page.evaluate("""async (tta) => {
        const view = ferLive.view;
        await view.pause();
        const faces = ferLive.stats.lastFaces;
        return [view.tracker.tracks.map((track) => track.views.length), faces,
                await view.classifyFaces(faces, null, tta)];
    }""", tta)
    page.close()
    assert view_counts == [{"none": 2, "tencrop": 20}[tta]]  # per face: two squares, 1 or 10 views of each
    assert np.abs(np.subtract(face["probabilities"], all_at_once)).max() < PROBABILITY_TOLERANCE


def server_stream_offered(page) -> None:
    """The mode switched to the server stream, whose webcam can be started."""
    page.wait_for_function("[...document.querySelectorAll('#webcam-mode input[type=radio]')]"
                           ".some((input) => input.checked && /server/i.test(input.closest('label').textContent))",
                           timeout=30_000)
    page.get_by_role("button", name="Click to Access Webcam").wait_for(timeout=30_000)


@pytest.fixture(scope="module")
def browser(driver):
    """Chromium whose webcam shows Grace Hopper's portrait."""
    chromium = launch(driver, camera_picture=EXAMPLES / "grace_hopper.jpg")
    yield chromium
    chromium.close()


def webcam_tab(browser, app_url, prepare=lambda page: None):
    """A new page on the Webcam tab, `prepare`d before it loads."""
    page = browser.new_page()
    prepare(page)
    page.goto(app_url, wait_until="load")
    page.get_by_role("tab", name="Webcam").click()
    return page


def test_a_browser_without_webassembly_is_told_and_gets_the_server_stream(browser, app_url):
    page = webcam_tab(browser, app_url, lambda page: page.add_init_script("delete window.WebAssembly"))
    server_stream_offered(page)
    assert "cannot run the model itself" in page.locator(".live-status").inner_text()
    assert not page.get_by_role("button", name="Start camera").is_visible()


def test_a_runtime_that_fails_to_load_is_reported_and_the_server_stream_takes_over(browser, app_url):
    page = webcam_tab(browser, app_url, lambda page: page.route("**/web/vendor/*/*.wasm", lambda route: route.abort()))
    page.get_by_role("button", name="Start camera").click(timeout=60_000)
    server_stream_offered(page)
    assert "could not" in page.locator(".live-status").inner_text()


def test_a_page_whose_script_fails_to_load_says_so_and_gets_the_server_stream(browser, app_url):
    page = webcam_tab(browser, app_url, lambda page: page.route("**/web/live.js", lambda route: route.abort()))
    server_stream_offered(page)
    assert "could not load" in page.locator(".live-status").inner_text()
    assert not page.get_by_role("button", name="Start camera").is_visible()


def test_start_camera_waits_for_the_panels_script_instead_of_ignoring_an_early_click(browser, app_url):
    held = []  # live.js, held back as a slow network would
    page = webcam_tab(browser, app_url, lambda page: page.route("**/web/live.js", lambda route: held.append(route)))
    start = page.get_by_role("button", name="Start camera")
    start.wait_for(timeout=30_000)
    assert held and start.is_disabled()
    held[0].continue_()
    start.click(timeout=60_000)
    page.wait_for_function("window.ferLive && window.ferLive.stats && window.ferLive.stats.framesDrawn >= 1",
                           timeout=60_000)
    page.close()


def test_every_file_the_page_needs_comes_from_the_app_itself(browser, app_url):
    """No request leaves the app's origin, and the runtime, detector and model are among them."""
    requested = []
    page = webcam_tab(browser, app_url, lambda page: page.on("request", lambda request: requested.append(request.url)))
    page.get_by_role("button", name="Start camera").click(timeout=60_000)
    page.wait_for_function("window.ferLive.stats && window.ferLive.stats.framesDrawn >= 1", timeout=60_000)
    page.close()
    assert all(url.startswith(app_url) or url.startswith(("data:", "blob:")) for url in requested), \
        [url for url in requested if not url.startswith(app_url)]
    vendor = f"web/vendor/{vendor_id()}/"
    for needed in (vendor + "ort-wasm-simd-threaded.wasm", vendor + "face_detection_short_range.onnx",
                   vendor + "face_detection_full_range.onnx", "web-model/model.onnx", "web-model/settings.json"):
        assert any(url.startswith(app_url + needed) for url in requested), needed


def test_without_web_workers_the_page_classifies_on_its_own_thread_as_the_worker_does(browser, app_url):
    """The classifier runs in a worker beside the face detector; a browser without workers runs both in turn."""
    answers = {}
    for mode, prepare in {"worker": lambda page: None,
                          "no worker": lambda page: page.add_init_script("delete window.Worker")}.items():
        page = start_browser_live(browser, app_url, frames=8, prepare=prepare)
        status = page.locator(".live-status").inner_text()
        answers[mode] = page.evaluate("async () => { await ferLive.view.pause(); return ferLive.stats.lastFaces; }")
        page.close()
        assert "nothing is sent" in status and ("and a worker" in status) == (mode == "worker")
    (with_worker,), (without,) = answers["worker"], answers["no worker"]
    assert np.abs(np.array(with_worker["probabilities"]) - without["probabilities"]).max() <= PROBABILITY_TOLERANCE
