"""The classifier's time per face view in headless Chromium with onnxruntime-web (WASM), one thread against
several: multi-threaded WASM needs a cross-origin isolated page (COOP/COEP headers), which this serves.

    python benchmarks/browser_model_speed.py [--model fer/pretrained/model.onnx] [--threads 1 2] [--runs 30]

The page loads the vendored runtime (fer/app/web/vendor/) and runs the model on batches of 1 and 4 views.
"""

import argparse
import functools
import http.server
import shutil
import sys
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from fer.app.browser_live import WEB_FOLDER  # noqa: E402
from tests.app_server import free_port  # noqa: E402
from tests.browser import launch  # noqa: E402

PAGE = """<script type="module">
import * as ort from './vendor/ort.wasm.min.mjs';
ort.env.wasm.wasmPaths = new URL('./vendor/', location.href).href;
window.msPerRun = async (threads, views, size, runs) => {
  ort.env.wasm.numThreads = threads;
  const session = await ort.InferenceSession.create('model.onnx', {executionProviders: ['wasm']});
  const input = new ort.Tensor('float32', new Float32Array(views * size * size).fill(0.1), [views, 1, size, size]);
  await session.run({faces: input});
  const started = performance.now();
  for (let run = 0; run < runs; run += 1) await session.run({faces: input});
  return (performance.now() - started) / runs;
};
window.ready = true;
</script>"""


class IsolatedHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript",
                      ".wasm": "application/wasm"}

    def end_headers(self):
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def log_message(self, *args):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "fer" / "pretrained" / "model.onnx")
    parser.add_argument("--input-size", type=int, default=40)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    site = Path(tempfile.mkdtemp(prefix="fer-browser-speed-"))
    shutil.copytree(WEB_FOLDER / "vendor", site / "vendor")
    shutil.copyfile(args.model, site / "model.onnx")
    (site / "index.html").write_text(PAGE)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()),
                                             functools.partial(IsolatedHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as driver:
            browser = launch(driver)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_port}/index.html")
            page.wait_for_function("window.ready")
            print(f"{args.model}: cross-origin isolated: {page.evaluate('crossOriginIsolated')}, "
                  f"{page.evaluate('navigator.hardwareConcurrency')} cores")
            for threads in args.threads:
                for views in (1, 4):
                    ms = page.evaluate(f"msPerRun({threads}, {views}, {args.input_size}, {args.runs})")
                    print(f"{threads} thread(s), {views} view(s) per run: {ms:.1f} ms per run, {ms / views:.1f} ms per view")
            browser.close()
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
