"""Webcam streams while the app is busy: browser webcam streams (Chromium's fake camera showing a
photo of a face) and upload clients at the same time, on localhost.

    python benchmarks/webcam_under_load.py              # 2 streams + 10 upload clients, 60 s

Prints each stream's rate of annotated frames shown on its page, first alone and then under the
upload load, with the uploads' own figures. Exits non-zero when a stream falls under --min-fps
under load or an upload fails.
"""

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.load_test import latency_summary, run_clients, visitor_photos  # noqa: E402
from tests.app_server import running_app  # noqa: E402
from tests.browser import launch, start_webcam_stream  # noqa: E402

STREAM_TIME_LIMIT_S = 120  # app.py: webcam.stream(time_limit=120)


def frame_rates(pages, seconds: float) -> list[float]:
    before = [page.evaluate("window.framesShown") for page in pages]
    time.sleep(seconds)
    return [(page.evaluate("window.framesShown") - count) / seconds for page, count in zip(pages, before)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=2)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60, help="under load")
    parser.add_argument("--alone-seconds", type=float, default=15, help="streams without uploads, first")
    parser.add_argument("--min-fps", type=float, default=1.0, help="slowest acceptable stream under load")
    args = parser.parse_args()
    if args.alone_seconds + args.seconds > STREAM_TIME_LIMIT_S - 20:
        parser.error(f"a stream ends after {STREAM_TIME_LIMIT_S} s: "
                     f"keep both phases within {STREAM_TIME_LIMIT_S - 20} s")
    photos = visitor_photos(Path(tempfile.mkdtemp(prefix="fer-photos-")))
    with running_app() as server, sync_playwright() as driver:
        browser = launch(driver, camera_picture=ROOT / "examples" / "grace_hopper.jpg")
        try:
            pages = [start_webcam_stream(browser, server.url) for _ in range(args.streams)]
            alone = frame_rates(pages, args.alone_seconds)
            uploads = []  # run_clients' (latencies, failures, peak RSS), from the load thread
            load = threading.Thread(target=lambda: uploads.append(run_clients(server, photos, args.clients,
                                                                              args.seconds)))
            load.start()
            under_load = frame_rates(pages, args.seconds)
            load.join()
        finally:
            browser.close()
    latencies, failures, _ = uploads[0]
    print(f"{args.streams} webcam streams (640x480, one face) + {args.clients} upload clients for {args.seconds:.0f} s")
    for number, (fps_alone, fps_loaded) in enumerate(zip(alone, under_load), start=1):
        print(f"stream {number}: {fps_alone:.1f} frames/s alone, {fps_loaded:.1f} frames/s under load")
    print(f"uploads: {len(latencies)} served, {len(failures)} failed"
          + (f", {latency_summary(latencies)}" if latencies else ""))
    for failure in failures[:5]:
        print(f"  failure: {failure}")
    return 0 if latencies and not failures and min(under_load) >= args.min_fps else 1


if __name__ == "__main__":
    sys.exit(main())
