"""The in-browser mode's vendored files are the ones scripts/vendor_web_assets.py recorded, and the settings
the page reads come from the model folder the app loaded."""

import gzip
import hashlib
import json
import shutil

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import FileResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from fer.app.browser_live import (FOR_A_YEAR, ONNX_NAME, RUNTIME_WASM, VENDOR_FOLDER, model_folder, model_settings,
                                  routes, vendor_id)
from fer.app.not_modified import NotModifiedMiddleware
from fer.face_path.faces import FRAME_SCALE
from fer.model.classifier import BUNDLED_MODEL, load_classifier

VENDOR = VENDOR_FOLDER


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
    assert set(settings["detectors"]) == {"short_range", "full_range"}
    for name, detector in settings["detectors"].items():
        assert detector["url"] == f"vendor/{vendor_id()}/face_detection_{name}.onnx"
        assert detector["framing"]["scale"] != FRAME_SCALE  # BlazeFace's boxes are not YuNet's


@pytest.fixture(scope="module")
def client(bundled):
    return TestClient(Starlette(routes=routes(model_folder(None, bundled))))


def test_a_model_folder_without_onnx_is_not_offered_to_the_browser(bundled, tmp_path):
    folder = tmp_path / "no-onnx"
    shutil.copytree(BUNDLED_MODEL, folder, ignore=shutil.ignore_patterns("model.onnx"))
    assert model_folder(str(folder), bundled) == BUNDLED_MODEL  # the same model, whose folder has model.onnx
    other = load_classifier(str(folder)).with_prior_correction([2.0] + [1.0] * (len(bundled.labels) - 1))
    assert model_folder(str(folder), other) is None
    assert model_settings(None)["model_url"] is None and model_settings(None)["unavailable"]


def test_the_runtimes_wasm_goes_out_gzipped_to_browsers_that_accept_it(client):
    original = (VENDOR / RUNTIME_WASM).read_bytes()
    address = f"/web/vendor/{vendor_id()}/{RUNTIME_WASM}"
    plain = client.get(address, headers={"Accept-Encoding": "identity"})
    assert plain.content == original and "content-encoding" not in plain.headers
    with client.stream("GET", address, headers={"Accept-Encoding": "gzip, deflate"}) as response:
        body = b"".join(response.iter_raw())
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["content-type"] == "application/wasm"
    print(f"runtime WASM: {len(original) / 1e6:.1f} MB, gzipped {len(body) / 1e6:.1f} MB")
    assert gzip.decompress(body) == original and len(body) < len(original) / 3


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_vendored_files_are_kept_for_a_year_under_their_manifests_hash(client, encoding):
    for name, entry in json.loads((VENDOR / "manifest.json").read_text()).items():
        address = f"/web/vendor/{vendor_id()}/{name}"
        response = client.get(address, headers={"Accept-Encoding": encoding})
        assert response.status_code == 200 and response.content == (VENDOR / name).read_bytes(), name
        assert response.headers["cache-control"] == FOR_A_YEAR
        assert entry["sha256"][:32] in response.headers["etag"]
        again = client.get(address, headers={"Accept-Encoding": encoding, "If-None-Match": response.headers["etag"]})
        assert again.status_code == 304 and not again.content
    assert client.get(f"/web/vendor/000000000000/{RUNTIME_WASM}").status_code == 404  # another version's address
    assert client.get(f"/web/vendor/{vendor_id()}/manifest.json").status_code == 404


def test_the_model_is_checked_on_every_visit_and_a_changed_one_fetched_anew(bundled, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(BUNDLED_MODEL, folder)
    client = TestClient(Starlette(routes=routes(folder)))
    first = client.get(f"/web-model/{ONNX_NAME}")
    assert first.headers["cache-control"] == "no-cache" and first.content == (folder / ONNX_NAME).read_bytes()
    tag = first.headers["etag"]
    assert client.get(f"/web-model/{ONNX_NAME}", headers={"If-None-Match": tag}).status_code == 304
    (folder / ONNX_NAME).write_bytes((folder / ONNX_NAME).read_bytes() + b"\0")  # a new model, as after a push
    changed = TestClient(Starlette(routes=routes(folder))).get(f"/web-model/{ONNX_NAME}", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.content == (folder / ONNX_NAME).read_bytes()
    assert changed.headers["etag"] != tag


def test_a_file_route_that_ignores_if_none_match_answers_304_behind_the_middleware(tmp_path):
    """As Gradio's file route serves the example photos: an ETag, but a full answer to every request."""
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"a photo" * 1000)
    app = Starlette(routes=[Route("/file", lambda request: FileResponse(photo))],
                    middleware=[Middleware(NotModifiedMiddleware)])
    client = TestClient(app)
    first = client.get("/file")
    assert first.status_code == 200 and first.content == photo.read_bytes()
    again = client.get("/file", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and not again.content and again.headers["etag"] == first.headers["etag"]
    stale = client.get("/file", headers={"If-None-Match": '"another version"'})
    assert stale.status_code == 200 and stale.content == photo.read_bytes()
