"""The Webcam tab's in-browser mode: the files the page needs, served by the app itself (no CDN), and its panel.

`/web/` serves fer/app/web/ (the page's JS); `/web/vendor/<id>/` the files vendored by
scripts/vendor_web_assets.py (onnxruntime-web's WASM build, the BlazeFace detectors), `<id>` being their manifest's
hash: a browser keeps them for a year without asking again, and new files come under a new address. `/web-model/`
serves the model folder the app loaded: its `model.onnx` (with an ETag of its content, checked on every visit,
so a new model is fetched at once) and `settings.json`, which carries that folder's config.json with the face
path's constants, so the page reads sizes, mean/std, labels and prior correction from the model it runs.
Both go out gzipped to browsers that accept it (the runtime's WASM 14.8 MB → 3.8 MB).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
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
VENDOR_FOLDER = WEB_FOLDER / "vendor"
RUNTIME_WASM = "ort-wasm-simd-threaded.wasm"
ONNX_NAME = "model.onnx"
FOR_A_YEAR = "public, max-age=31536000, immutable"
MEDIA_TYPES = {".wasm": "application/wasm", ".mjs": "text/javascript", ".onnx": "application/octet-stream"}
# FER-2013's square around a BlazeFace box (python benchmarks/browser_framing.py --detector short_range|full_range,
# on 3,000 training faces; docs/face_path.md). Short range (2,987 found): 1.185·√(w·h) (YuNet's: 1.08), its centre
# 0.105·√(w·h) above the box's (short range's boxes sit lower). Full range (2,130 found, its face a quarter of its
# input): 1.171·√(w·h), 0.025·√(w·h) above. BlazeFace's eyes give a noisier roll than YuNet's (10th–90th
# percentile −14° to +13° on FER-2013, against −8° to +10°), so only a tilt beyond 14° is levelled.
BLAZEFACE_FRAMING = {
    "short_range": {"scale": 1.185, "shift_x": 0.0, "shift_y": -0.105, "loose_framing": LOOSE_FRAMING,
                    "roll_tolerance_degrees": 14.0},
    "full_range": {"scale": 1.171, "shift_x": 0.0, "shift_y": -0.025, "loose_framing": LOOSE_FRAMING,
                   "roll_tolerance_degrees": 14.0},
}
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
    vendor = f"vendor/{vendor_id()}/"
    return {"model_url": ONNX_NAME, "model": config, "wording": wording_for(config.get("trained_on")).as_json(),
            "vendor": vendor, "image_size": IMAGE_SIZE, "min_face_side": MIN_FACE_SIDE,
            "detectors": {name: {"url": f"{vendor}face_detection_{name}.onnx", "framing": framing}
                          for name, framing in BLAZEFACE_FRAMING.items()},
            "max_faces": DEFAULT_MAX_FACES, "tta": DEFAULT_TTA,
            "tracks": {"smoothing_s": DEFAULT_SMOOTHING_S, "max_shift": MAX_SHIFT, "max_size_ratio": MAX_SIZE_RATIO,
                       "max_missing_s": MAX_MISSING_S}}


def routes(model_folder: Path | None) -> list:
    """Starlette routes for `gr.Blocks.launch(app_kwargs={"routes": ...})`."""
    settings = model_settings(model_folder)
    manifest = vendored_files()
    model_sha256 = sha256(model_folder / ONNX_NAME) if settings["model_url"] else None
    for name, entry in manifest.items():
        gzipped(VENDOR_FOLDER / name, entry["sha256"])  # now, not while the first visitor waits (a second in all)
    if model_sha256:
        gzipped(model_folder / ONNX_NAME, model_sha256)

    async def settings_json(request):
        return JSONResponse(settings, headers={"Cache-Control": "no-cache"})

    async def model_onnx(request):
        return compressible(request, model_folder / ONNX_NAME, model_sha256, "no-cache")

    async def vendored(request):
        name = request.path_params["name"]
        if request.path_params["id"] != vendor_id() or name not in manifest:
            return Response(status_code=404)
        return compressible(request, VENDOR_FOLDER / name, manifest[name]["sha256"], FOR_A_YEAR)

    served = [Route("/web-model/settings.json", settings_json), Route("/web/vendor/{id}/{name}", vendored)]
    if settings["model_url"]:
        served.append(Route(f"/web-model/{ONNX_NAME}", model_onnx))
    return served + [Mount("/web", app=StaticFiles(directory=WEB_FOLDER), name="web")]


def compressible(request, path: Path, content_sha256: str, cache_control: str) -> Response:
    """The file with an ETag of its content (a 304 when the browser has it), gzipped where the browser accepts it."""
    media_type = MEDIA_TYPES.get(path.suffix, "application/octet-stream")
    compressed = "gzip" in request.headers.get("accept-encoding", "")
    tag = f'"{content_sha256[:32]}{"-gzip" if compressed else ""}"'
    headers = {"ETag": tag, "Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    if not compressed:
        return FileResponse(path, media_type=media_type, headers=headers)
    return Response(gzipped(path, content_sha256), media_type=media_type,
                    headers={**headers, "Content-Encoding": "gzip"})


@functools.cache
def vendored_files() -> dict:
    return json.loads((VENDOR_FOLDER / "manifest.json").read_text())


@functools.cache
def vendor_id() -> str:
    """The vendored files' version: a hash of their manifest, which holds each file's sha256."""
    return hashlib.sha256((VENDOR_FOLDER / "manifest.json").read_bytes()).hexdigest()[:12]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@functools.cache
def gzipped(path: Path, content_sha256: str) -> bytes:
    """Compressed once per content and process (about half a second for the runtime's WASM), kept in memory."""
    return gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
