"""The Webcam tab's in-browser mode against the server stream, in one run on this machine: headless Chromium's
fake camera shows a photo (one face, then three), the page analyses and draws its frames with onnxruntime-web,
first with the app otherwise idle and then with upload clients on the same machine; the server stream showing
the one-face photo is measured the same way; then a second visit in the same browser profile.

    python benchmarks/browser_webcam.py                 # 10 upload clients; 15 s alone, 30 s under load

Prints frames/s analysed and drawn per phase, the app's CPU time per second during each (for the in-browser
mode: serving files only), the bytes the page downloads before its first result and the time from "Start
camera" to that result, on a first and a second visit; and whether the targets hold (≥ 20 frames/s for one face
alone, ≥ 10 under load, ≥ 3× the server stream; a second visit under 200 kB and sooner). Exits non-zero when one
does not.
"""

import argparse
import os
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
from tests.browser import DOWNLOADED_BYTES, launch, launch_profile, start_browser_live, start_webcam_stream  # noqa: E402
from tests.images import EXAMPLES, three_faces  # noqa: E402

IN_PAGE_FRAMES = "window.ferLive.stats.framesDrawn"
SERVER_FRAMES = "window.framesShown"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(page, counter: str, server, seconds: float) -> tuple[float, float]:
    """Frames/s the page drew and the app's CPU seconds per second, over `seconds`."""
    frames, cpu, started = page.evaluate(counter), cpu_seconds(server.process.pid), time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    return (page.evaluate(counter) - frames) / elapsed, (cpu_seconds(server.process.pid) - cpu) / elapsed


def under_upload_load(server, photos, clients: int, seconds: float, measure) -> tuple[tuple[float, float], str]:
    """`measure(seconds)` while `clients` upload clients send photos; and the uploads' summary."""
    uploads = []
    load = threading.Thread(target=lambda: uploads.append(run_clients(server, photos, clients, seconds)))
    load.start()
    figures = measure(seconds)
    load.join()
    latencies, failures, _ = uploads[0]
    return figures, f"{len(latencies)} uploads served, {len(failures)} failed" + (
        f", {latency_summary(latencies)}" if latencies else "")


def first_result(page) -> dict:
    """Seconds from "Start camera" to the first faces shown, and the MB downloaded by then: all, the mode's own."""
    return {"first_result_s": page.evaluate("window.ferLive.stats.firstResultMs") / 1000,
            "downloaded_mb": [count / 1e6 for count in page.evaluate(DOWNLOADED_BYTES)]}


def in_browser_phase(driver, server, picture: Path, photos, args) -> dict:
    """The mode on a first visit, alone and under load; then a second visit in the same browser profile."""
    profile = launch_profile(driver, Path(tempfile.mkdtemp(prefix="fer-profile-")), camera_picture=picture)
    try:
        page = start_browser_live(profile, server.url, frames=8)
        result = {**first_result(page), "faces": page.evaluate("window.ferLive.stats.lastFaces.length"),
                  "alone": measured(page, IN_PAGE_FRAMES, server, args.alone_seconds)}
        result["loaded"], result["uploads"] = under_upload_load(
            server, photos, args.clients, args.seconds,
            lambda seconds: measured(page, IN_PAGE_FRAMES, server, seconds))
        page.close()
        result["second_visit"] = first_result(start_browser_live(profile, server.url, frames=1))
        return result
    finally:
        profile.close()


def server_stream_phase(driver, server, picture: Path, photos, args) -> dict:
    browser = launch(driver, camera_picture=picture)
    try:
        page = start_webcam_stream(browser, server.url)
        result = {"alone": measured(page, SERVER_FRAMES, server, args.alone_seconds)}
        result["loaded"], result["uploads"] = under_upload_load(
            server, photos, args.clients, args.seconds, lambda seconds: measured(page, SERVER_FRAMES, server, seconds))
        return result
    finally:
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30, help="under load, per phase")
    parser.add_argument("--alone-seconds", type=float, default=15, help="without uploads, per phase")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="fer-browser-webcam-"))
    photos = visitor_photos(scratch)
    three_faces().save(three := scratch / "three_faces.png")
    with running_app() as server, sync_playwright() as driver:
        one_face = in_browser_phase(driver, server, EXAMPLES / "grace_hopper.jpg", photos, args)
        three_face = in_browser_phase(driver, server, three, photos, args)
        server_stream = server_stream_phase(driver, server, EXAMPLES / "grace_hopper.jpg", photos, args)
    print(f"{os.cpu_count()} CPUs; 640x480 fake camera; {args.clients} upload clients; "
          f"{args.alone_seconds:.0f} s alone, {args.seconds:.0f} s under load per phase")
    print("mode                     | faces | frames/s alone | app CPU s/s | frames/s under load | app CPU s/s")
    for name, phase in (("in the browser", one_face), ("in the browser", three_face),
                        ("server stream", server_stream)):
        faces = phase.get("faces", 1)
        print(f"{name:<24} | {faces:>5} | {phase['alone'][0]:>14.1f} | {phase['alone'][1]:>11.2f} | "
              f"{phase['loaded'][0]:>19.1f} | {phase['loaded'][1]:>11.2f}")
    for name, phase in (("in the browser, 1 face", one_face), ("in the browser, 3 faces", three_face),
                        ("server stream", server_stream)):
        print(f"uploads during '{name}': {phase['uploads']}")
    for visit, figures in (("first visit", one_face), ("second visit", one_face["second_visit"])):
        page_mb, mode_mb = figures["downloaded_mb"]
        print(f"{visit}, before the first result: {page_mb:.3f} MB downloaded, {mode_mb:.3f} MB of it the in-browser "
              f"mode's files; {figures['first_result_s']:.2f} s from 'Start camera'")
    targets = {"one face alone ≥ 20 frames/s": one_face["alone"][0] >= 20,
               "one face under load ≥ 10 frames/s": one_face["loaded"][0] >= 10,
               "≥ 3× the server stream alone": one_face["alone"][0] >= 3 * server_stream["alone"][0],
               "≥ 3× the server stream under load": one_face["loaded"][0] >= 3 * server_stream["loaded"][0],
               "a second visit downloads < 200 kB": one_face["second_visit"]["downloaded_mb"][0] < 0.2,
               "a second visit's first result comes sooner":
                   one_face["second_visit"]["first_result_s"] < one_face["first_result_s"]}
    for target, met in targets.items():
        print(f"{'met' if met else 'MISSED'}: {target}")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
