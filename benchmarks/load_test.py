"""Load on the app served on localhost: N concurrent gradio_client clients sending real photos.

    python benchmarks/load_test.py                      # 20 clients for 60 s
    python benchmarks/load_test.py --clients 8 --seconds 15   # the short run CI does

Prints requests served, failures, p50/p95 latency, the app's resident memory after warm-up and
at its peak, and whether any uploaded picture was left in Gradio's temp folder afterwards. The
photos are the examples re-encoded, so they are not byte-identical to the app's own example
files, which Gradio rightly keeps cached.
Exits non-zero on a failed request, an invalid answer, or memory growth beyond --rss-growth-mib.
"""

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from gradio_client import Client, handle_file  # noqa: E402
from PIL import Image  # noqa: E402

from tests.app_server import running_app  # noqa: E402

VISITOR_PREFIX = "visitor-"
LABELS = {"angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"}


def valid(result: dict) -> bool:
    return bool(result["faces"]) and all(
        set(face["probabilities"]) == LABELS and abs(sum(face["probabilities"].values()) - 1) < 1e-3
        for face in result["faces"])


def visitor_photos(folder: Path) -> list[Path]:
    """Real photos as a visitor would send them: the examples, re-encoded."""
    photos = []
    for example in sorted((ROOT / "examples").glob("*.jpg")):
        photos.append(folder / f"{VISITOR_PREFIX}{example.name}")
        Image.open(example).save(photos[-1], quality=90)
    return photos


def client_loop(url: str, photos: list[Path], index: int, stop_at: float, latencies: list, failures: list,
                lock) -> None:
    client = Client(url, verbose=False)
    count = 0
    while time.monotonic() < stop_at:
        photo = photos[(index + count) % len(photos)]
        started = time.perf_counter()
        try:
            result = client.predict(handle_file(str(photo)), "tencrop", 10, api_name="/predict")
            ok = valid(result)
        except Exception as error:  # noqa: BLE001 - every failure is counted and reported
            ok, result = False, repr(error)[:200]
        with lock:
            (latencies.append(time.perf_counter() - started) if ok else failures.append(result))
        count += 1


def run_clients(server, photos: list[Path], clients: int, seconds: float) -> tuple[list, list, float]:
    """`clients` threads calling /predict for `seconds`; latencies, failures and the app's peak RSS."""
    latencies, failures, lock = [], [], threading.Lock()
    stop_at = time.monotonic() + seconds
    threads = [threading.Thread(target=client_loop, args=(server.url, photos, i, stop_at, latencies, failures, lock))
               for i in range(clients)]
    for thread in threads:
        thread.start()
    peak_rss = server.rss_mib()
    while any(thread.is_alive() for thread in threads):
        peak_rss = max(peak_rss, server.rss_mib())
        time.sleep(0.5)
    return latencies, failures, peak_rss


def latency_summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    return (f"p50 {statistics.median(ordered) * 1000:.0f} ms, "
            f"p95 {ordered[int(0.95 * (len(ordered) - 1))] * 1000:.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup-seconds", type=float, default=15, help="same load, before measuring")
    parser.add_argument("--rss-growth-mib", type=float, default=300, help="allowed growth after warm-up")
    args = parser.parse_args()
    temp_dir = Path(tempfile.mkdtemp(prefix="fer-load-"))
    photos = visitor_photos(Path(tempfile.mkdtemp(prefix="fer-photos-")))
    with running_app({"GRADIO_TEMP_DIR": str(temp_dir)}) as server:
        # Warm up under the same load, so the memory figure shows growth, not the concurrent working set.
        run_clients(server, photos, args.clients, args.warmup_seconds)
        rss_after_warmup = server.rss_mib()
        latencies, failures, peak_rss = run_clients(server, photos, args.clients, args.seconds)
        time.sleep(100)  # the app's cache sweeper: files older than 60 s go at the next 30 s sweep
        leftovers = list(temp_dir.rglob(f"{VISITOR_PREFIX}*"))
    served = len(latencies)
    print(f"{args.clients} clients for {args.seconds:.0f} s: {served} requests served "
          f"({served / args.seconds:.1f}/s), {len(failures)} failed")
    if latencies:
        print(f"latency {latency_summary(latencies)}")
    print(f"app RSS after {args.warmup_seconds:.0f} s of warm-up load {rss_after_warmup:.0f} MiB, peak {peak_rss:.0f} MiB "
          f"(growth {peak_rss - rss_after_warmup:.0f} MiB, bound {args.rss_growth_mib:.0f})")
    print(f"uploaded photos left in Gradio's temp folder 100 s after the load: {len(leftovers)}")
    for failure in failures[:5]:
        print(f"  failure: {failure}")
    ok = not failures and served > 0 and peak_rss - rss_after_warmup <= args.rss_growth_mib and not leftovers
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
