"""Reproduce the browser mode's vendored files in fer/app/web/vendor/ from pinned registry packages, and
record their sizes and sha256 in its manifest.json (tests/test_browser_assets.py checks the files against it).

    python scripts/vendor_web_assets.py      # needs npm and `pip install tflite2onnx==0.4.1` (not at run time)

- onnxruntime-web (npm): the WASM-only ES module and its SIMD build (the default `ort.min.mjs` would pull a
  29 MB WebGPU build that a 40×40 CNN does not need).
- BlazeFace short range and full range, the face detectors of @mediapipe/face_detection (npm, Apache-2.0),
  converted from TFLite to ONNX with tflite2onnx (PyPI) so that the same runtime runs all three models. Short range
  finds faces near the camera; full range, on parts of the frame in turn, the smaller ones (fer/app/web/finder.js).
"""

import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "fer" / "app" / "web" / "vendor"
ORT_PACKAGE = "onnxruntime-web@1.31.1"
ORT_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
DETECTOR_PACKAGE = "@mediapipe/face_detection@0.4.1657300184"
DETECTORS = ("face_detection_short_range", "face_detection_full_range")
# Full range names its outputs after its last layers; the page reads both detectors' by short range's names.
OUTPUT_NAMES = ("regressors", "classificators")
CONVERTER = "tflite2onnx==0.4.1"


def unpacked_npm_package(spec: str, into: Path) -> Path:
    """`npm pack` of a pinned package, unpacked: the folder holding its package.json."""
    tarball = subprocess.run(["npm", "pack", spec, "--silent"], cwd=into, check=True, capture_output=True,
                             text=True).stdout.strip().splitlines()[-1]
    target = into / tarball.removesuffix(".tgz")
    with tarfile.open(into / tarball) as archive:
        archive.extractall(target, filter="data")
    return target / "package"


def converted_detector(tflite: Path, into: Path) -> Path:
    """The TFLite model as ONNX, its weights and shape annotations sorted by name: the converter lists them in
    set order, which changes from run to run, and the file should be the same bytes every time."""
    import onnx
    import tflite2onnx  # only this script needs it

    onnx_path = into / f"{tflite.stem}.onnx"
    tflite2onnx.convert(str(tflite), str(onnx_path))
    model = onnx.load(onnx_path)
    for entries in (model.graph.initializer, model.graph.value_info):
        in_order = sorted(entries, key=lambda entry: entry.name)
        del entries[:]
        entries.extend(in_order)
    renamed_outputs(model.graph, dict(zip([output.name for output in model.graph.output], OUTPUT_NAMES)))
    onnx.save(model, onnx_path)
    return onnx_path


def renamed_outputs(graph, names: dict[str, str]) -> None:
    for node in graph.node:
        node.output[:] = [names.get(name, name) for name in node.output]
    for output in graph.output:
        output.name = names.get(output.name, output.name)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    VENDOR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        runtime = unpacked_npm_package(ORT_PACKAGE, scratch)
        for name in ORT_FILES:
            shutil.copyfile(runtime / "dist" / name, VENDOR / name)
        detectors = unpacked_npm_package(DETECTOR_PACKAGE, scratch)
        for name in DETECTORS:
            shutil.copyfile(converted_detector(detectors / f"{name}.tflite", scratch), VENDOR / f"{name}.onnx")
    sources = {**{name: f"npm {ORT_PACKAGE} dist/{name}" for name in ORT_FILES},
               **{f"{name}.onnx": f"npm {DETECTOR_PACKAGE} {name}.tflite, converted with PyPI {CONVERTER}"
                  for name in DETECTORS}}
    manifest = {name: {"source": source, "bytes": (VENDOR / name).stat().st_size, "sha256": sha256(VENDOR / name)}
                for name, source in sources.items()}
    (VENDOR / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    for name, entry in manifest.items():
        print(f"{name}: {entry['bytes']:,} bytes")


if __name__ == "__main__":
    main()
