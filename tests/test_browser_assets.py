"""The in-browser mode's vendored files are the ones scripts/vendor_web_assets.py recorded, and the settings
the page reads come from the model folder the app loaded."""

import gzip
import hashlib
import json
import shutil

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from fer.app.browser_live import RUNTIME_WASM, WEB_FOLDER, model_folder, model_settings, routes
from fer.face_path.faces import FRAME_SCALE
from fer.model.classifier import BUNDLED_MODEL, load_classifier

VENDOR = WEB_FOLDER / "vendor"


@pytest.fixture(scope="module")
def bundled():
    return load_classifier(BUNDLED_MODEL)


def test_vendored_files_match_their_manifest():
    manifest = json.loads((VENDOR / "manifest.json").read_text())
    assert set(manifest) == {path.name for path in VENDOR.iterdir()} - {"manifest.json"}
    for name, entry in manifest.items():
        content = (VENDOR / name).read_bytes()
        assert (len(content), hashlib.sha256(content).hexdigest()) == (entry["bytes"], entry["sha256"]), name


def test_the_page_gets_the_loaded_models_config_and_the_browser_detectors_framing(bundled):
    settings = model_settings(model_folder(None, bundled))
    assert settings["model"] == json.loads((BUNDLED_MODEL / "config.json").read_text())
    assert settings["model_url"] == "model.onnx"
    assert settings["framing"]["scale"] != FRAME_SCALE  # BlazeFace's boxes are not YuNet's


def test_a_model_folder_without_onnx_is_not_offered_to_the_browser(bundled, tmp_path):
    folder = tmp_path / "no-onnx"
    shutil.copytree(BUNDLED_MODEL, folder, ignore=shutil.ignore_patterns("model.onnx"))
    assert model_folder(str(folder), bundled) == BUNDLED_MODEL  # the same model, whose folder has model.onnx
    other = load_classifier(str(folder)).with_prior_correction(None)
    assert model_folder(str(folder), other) is None
    assert model_settings(None)["model_url"] is None and model_settings(None)["unavailable"]


def test_the_runtimes_wasm_goes_out_gzipped_to_browsers_that_accept_it(bundled):
    client = TestClient(Starlette(routes=routes(model_folder(None, bundled))))
    original = (WEB_FOLDER / RUNTIME_WASM).read_bytes()
    plain = client.get(f"/web/{RUNTIME_WASM}", headers={"Accept-Encoding": "identity"})
    assert plain.content == original and "content-encoding" not in plain.headers
    with client.stream("GET", f"/web/{RUNTIME_WASM}", headers={"Accept-Encoding": "gzip, deflate"}) as response:
        body = b"".join(response.iter_raw())
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["content-type"] == "application/wasm"
    print(f"runtime WASM: {len(original) / 1e6:.1f} MB, gzipped {len(body) / 1e6:.1f} MB")
    assert gzip.decompress(body) == original and len(body) < len(original) / 3
