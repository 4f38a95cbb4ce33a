"""Where a frame's time goes in the Webcam tab's in-browser mode, with the classifier in its worker and, in the
same run, without workers (the page then finds faces and classifies them one after the other).

    python benchmarks/browser_frame_time.py [--seconds 8]

Headless Chromium's fake camera (30 frames/s) shows one portrait; the page's own methods are wrapped with
timers. Prints frames/s drawn and the median milliseconds of: starting a frame (grab, find faces, crop, send
the views), finding faces, the classifier's answer (from sending the views to getting the probabilities back,
so with the worker it includes waiting behind the previous frame) and finishing a frame (smooth, draw).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.app_server import running_app  # noqa: E402
from tests.browser import launch, start_browser_live  # noqa: E402
from tests.images import EXAMPLES  # noqa: E402

TIMED = {"start a frame": ("view", "startFrame"), "find faces": ("view.detector", "detect"),
         "classifier's answer": ("view", "probabilitiesOf"), "finish a frame": ("view", "finishFrame")}
WRAP = """(timed) => {
    window.timings = {};
    for (const [name, [owner, method]] of Object.entries(timed)) {
        const object = owner.split('.').reduce((value, key) => value[key], window.ferLive);
        const original = object[method].bind(object);
        window.timings[name] = [];
        object[method] = async (...args) => {
            const started = performance.now();
            const result = await original(...args);
            window.timings[name].push(performance.now() - started);
            return result;
        };
    }
}"""


def measure(browser, url: str, seconds: float, workers: bool) -> str:
    page = start_browser_live(browser, url, prepare=None if workers else
                              lambda page: page.add_init_script("delete window.Worker"))
    page.evaluate(WRAP, TIMED)
    drawn, started = page.evaluate("ferLive.stats.framesDrawn"), time.perf_counter()
    time.sleep(seconds)
    rate = (page.evaluate("ferLive.stats.framesDrawn") - drawn) / (time.perf_counter() - started)
    timings = page.evaluate("window.timings")
    page.close()
    phases = ", ".join(f"{name} {statistics.median(values):.1f} ms" for name, values in timings.items() if values)
    return f"{'classifier in a worker' if workers else 'no workers':<24}: {rate:4.1f} frames/s; median {phases}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8)
    args = parser.parse_args()
    with running_app() as server, sync_playwright() as driver:
        browser = launch(driver, camera_picture=EXAMPLES / "grace_hopper.jpg")
        try:
            for workers in (True, False):
                print(measure(browser, server.url, args.seconds, workers))
        finally:
            browser.close()


if __name__ == "__main__":
    main()
