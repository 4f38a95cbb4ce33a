"""The Webcam tab's in-browser mode: the files the page needs, served by the app itself (no CDN), and its panel.

`/web/` serves fer/app/web/ (the JS, onnxruntime-web's WASM build and the BlazeFace detector, vendored by
scripts/vendor_web_assets.py); `/web-model/` serves the model folder the app loaded: its `model.onnx` and
`settings.json`, which carries that folder's config.json with the face path's constants, so the page
reads sizes, mean/std, labels and prior correction from the model it runs. The runtime's WASM goes out
gzipped to browsers that accept it (14.8 MB → 3.8 MB; the ONNX files hardly shrink).
"""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path

from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from fer.app.wording import wording_for
from fer.face_path.faces import DEFAULT_MAX_FACES, LOOSE_FRAMING, MIN_FACE_SIDE
from fer.face_path.tensors import IMAGE_SIZE
from fer.model.classifier import BUNDLED_MODEL, EmotionClassifier
from fer.model.probabilities import DEFAULT_TTA
from fer.video.tracks import DEFAULT_SMOOTHING_S, MAX_MISSING_S, MAX_SHIFT, MAX_SIZE_RATIO

WEB_FOLDER = Path(__file__).parent / "web"
RUNTIME_WASM = "vendor/ort-wasm-simd-threaded.wasm"
ONNX_NAME = "model.onnx"
# FER-2013's square around a BlazeFace box (python benchmarks/browser_framing.py, 2,987 of 3,000 training faces;
# docs/face_path.md): 1.185·√(w·h) (YuNet's: 1.08), its centre 0.105·√(w·h) above the box's (BlazeFace's boxes sit
# lower). BlazeFace's eyes give a noisier roll than YuNet's (10th–90th percentile −14° to +13° on FER-2013, against
# −8° to +10°), so only a tilt beyond 14° is levelled.
BLAZEFACE_FRAMING = {"scale": 1.185, "shift_x": 0.0, "shift_y": -0.105, "loose_framing": LOOSE_FRAMING,
                     "roll_tolerance_degrees": 14.0}
MODES = {"browser": "In your browser (private, fastest)", "server": "On the server"}

PANEL = """
<div class="live-panel">
  <p class="live-status">Loading…</p>
  <button class="live-start lg primary" disabled>Start camera</button>
  <canvas class="live-view"></canvas>
  <video class="live-video" playsinline muted></video>
  <p class="live-chart-title"></p>
  <div class="live-bars"></div>
</div>
"""
PANEL_CSS = """
.live-video, .live-off .live-start, .live-off .live-view, .live-off .live-bars, .live-off .live-chart-title {
  display: none;
}
.live-view { max-width: 100%; background: #222; }
.live-status { font-weight: 600; }
.live-error { color: #c0392b; }
.live-bar { display: grid; grid-template-columns: 6em 1fr 3em; gap: .5em; align-items: center; }
.live-bar div { background: #eee; height: .9em; }
.live-bar i { display: block; height: 100%; background: #ff7f0e; }
"""
# Relative to the page, so it works under a proxy's path prefix too. If live.js itself cannot load, this says so
# and switches to the server stream, as live.js does for its own failures.
LOAD_PANEL = """
import(new URL('web/live.js', document.baseURI).href).then((live) => live.mount(element)).catch((error) => {
    const status = element.querySelector('.live-status');
    status.textContent = `The in-browser mode could not load (${error.message}): switched to the server stream.`;
    status.classList.add('live-error');
    element.querySelector('.live-panel').classList.add('live-off');
    const server = [...document.querySelectorAll('#webcam-mode input[type=radio]')]
        .find((input) => /server/i.test(input.closest('label').textContent));
    if (server && !server.checked) server.click();
});
"""


def model_folder(source: str | None, model: EmotionClassifier) -> Path | None:
    """The folder holding the model the app loaded (`load_for_app(source)`, which may have fallen back to the
    bundled one) with its model.onnx: a local folder, the Hub's cached files, or fer/pretrained; None when
    no folder with that model's config and an ONNX file is at hand."""
    candidates = [Path(source)] if source and Path(source).is_dir() else [hub_files(source)] if source else []
    for folder in candidates + [BUNDLED_MODEL]:
        if folder is not None and (folder / ONNX_NAME).is_file() and same_model(folder, model):
            return folder
    return None


def hub_files(repo_id: str) -> Path | None:
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(repo_id, ONNX_NAME)).parent if hf_hub_download(repo_id, "config.json") else None
    except Exception:  # offline, no such file, no such repo: the page falls back to the server stream
        return None


def same_model(folder: Path, model: EmotionClassifier) -> bool:
    config = json.loads((folder / "config.json").read_text())
    return (config.get("labels"), config.get("input_size"), config.get("mean"), config.get("std"),
            config.get("prior_correction")) == (model.labels, model.input_size, model.mean, model.std,
                                                model.prior_correction)


def model_settings(model_folder: Path | None) -> dict:
    """What the page needs to run the model in `model_folder` (None: not available in the browser)."""
    if model_folder is None or not (model_folder / ONNX_NAME).is_file():
        return {"model_url": None, "unavailable": "this model has no model.onnx for the browser"}
    config = json.loads((model_folder / "config.json").read_text())
    return {"model_url": ONNX_NAME, "model": config, "wording": wording_for(config.get("trained_on")).as_json(),
            "image_size": IMAGE_SIZE, "framing": BLAZEFACE_FRAMING, "min_face_side": MIN_FACE_SIDE,
            "max_faces": DEFAULT_MAX_FACES, "tta": DEFAULT_TTA,
            "tracks": {"smoothing_s": DEFAULT_SMOOTHING_S, "max_shift": MAX_SHIFT, "max_size_ratio": MAX_SIZE_RATIO,
                       "max_missing_s": MAX_MISSING_S}}


def routes(model_folder: Path | None) -> list:
    """Starlette routes for `gr.Blocks.launch(app_kwargs={"routes": ...})`."""
    settings = model_settings(model_folder)
    gzipped(WEB_FOLDER / RUNTIME_WASM)  # now, not while the first visitor waits

    async def settings_json(request):
        return JSONResponse(settings, headers={"Cache-Control": "no-cache"})

    async def model_onnx(request):
        return FileResponse(model_folder / ONNX_NAME, media_type="application/octet-stream")

    async def runtime_wasm(request):
        if "gzip" not in request.headers.get("accept-encoding", ""):
            return FileResponse(WEB_FOLDER / RUNTIME_WASM, media_type="application/wasm")
        return Response(gzipped(WEB_FOLDER / RUNTIME_WASM), media_type="application/wasm",
                        headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})

    served = [Route("/web-model/settings.json", settings_json), Route(f"/web/{RUNTIME_WASM}", runtime_wasm)]
    if settings["model_url"]:
        served.append(Route(f"/web-model/{ONNX_NAME}", model_onnx))
    return served + [Mount("/web", app=StaticFiles(directory=WEB_FOLDER), name="web")]


@functools.cache
def gzipped(path: Path) -> bytes:
    """Compressed once per process (about half a second for the runtime's WASM), kept in memory."""
    return gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
