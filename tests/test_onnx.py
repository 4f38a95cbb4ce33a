"""model.onnx against the PyTorch model it was exported from, run with ONNX Runtime."""

import json
import re

import numpy as np
import onnxruntime
import pytest
import torch
from PIL import Image

from fer.face_path.faces import face_crops, find_faces
from fer.face_path.tensors import normalize
from fer.model import onnx_export
from fer.model.classifier import BUNDLED_MODEL, EmotionClassifier, load_classifier
from fer.model.probabilities import corrected, predict_probabilities, tta_views, view_probabilities
from fer.training import loop, recipes
from tests.conftest import synthetic_faces
from tests.images import EXAMPLES


def example_faces() -> torch.Tensor:
    """Every face found in the example photos, as the app crops them: uint8 N×48×48."""
    crops = []
    for path in sorted(EXAMPLES.glob("*.jpg")):
        picture = Image.open(path).convert("RGB")
        crops += [crop for face in find_faces(picture, 10)[0] for crop in face_crops(picture, face)]
    return torch.from_numpy(np.stack(crops))


def onnx_probabilities(path, model: EmotionClassifier, faces: torch.Tensor) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    batch = normalize(tta_views(faces, model.input_size, "none")[0], model.mean, model.std).contiguous()
    return session.run(None, {"faces": batch.numpy()})[0]


def assert_same_predictions(onnx_result: np.ndarray, torch_result: torch.Tensor):
    assert onnx_result.shape == tuple(torch_result.shape)
    # float32 sums in another order: the width-64 net's probabilities differ by up to ~1.5e-4
    assert np.abs(onnx_result - torch_result.numpy()).max() < 5e-4
    assert (onnx_result.argmax(1) == torch_result.argmax(1).numpy()).all()


def test_an_exported_model_gives_the_pytorch_probabilities_of_one_view(tmp_path):
    torch.manual_seed(0)
    model = EmotionClassifier(width=4, prior_correction=[1.2, 1.8, 1.25, 0.9, 0.8, 0.85, 0.55]).eval()
    path = onnx_export.export_onnx(model, tmp_path)
    faces = torch.from_numpy(np.stack([np.asarray(image) for image in synthetic_faces(12, seed=5)[0]]))
    assert_same_predictions(onnx_probabilities(path, model, faces), predict_probabilities(model, faces, tta="none"))
    assert sorted(item.name for item in tmp_path.iterdir()) == ["model.onnx"]


def test_a_model_stored_in_float16_exports_its_weights_in_float16_and_predicts_as_it_loads(tmp_path):
    sizes = {}
    for weights_dtype in ("float32", "float16"):
        folder = tmp_path / weights_dtype
        torch.manual_seed(0)
        EmotionClassifier(width=16, weights_dtype=weights_dtype).save_pretrained(folder)
        assert onnx_export.main([str(folder)]) == 0
        sizes[weights_dtype] = (folder / onnx_export.ONNX_NAME).stat().st_size
    model = load_classifier(tmp_path / "float16")
    faces = torch.from_numpy(np.stack([np.asarray(image) for image in synthetic_faces(12, seed=5)[0]]))
    assert_same_predictions(onnx_probabilities(tmp_path / "float16" / onnx_export.ONNX_NAME, model, faces),
                            predict_probabilities(model, faces, tta="none"))
    assert 0.45 < sizes["float16"] / sizes["float32"] < 0.55


def test_the_bundled_model_onnx_matches_the_bundled_weights_and_documents_itself():
    """Fails when fer/pretrained is retrained without `python -m fer.onnx_export fer/pretrained`."""
    model = load_classifier(BUNDLED_MODEL)
    faces = example_faces()
    path = BUNDLED_MODEL / onnx_export.ONNX_NAME
    assert_same_predictions(onnx_probabilities(path, model, faces), predict_probabilities(model, faces, tta="none"))
    metadata = onnxruntime.InferenceSession(str(path)).get_modelmeta().custom_metadata_map
    assert json.loads(metadata["labels"]) == model.labels and int(metadata["input_size"]) == model.input_size
    assert onnx_export.card_section(model) in (BUNDLED_MODEL / "README.md").read_text()


def test_the_card_example_averages_the_mirrored_view_as_documented(monkeypatch):
    model = load_classifier(BUNDLED_MODEL)
    faces = example_faces()
    code = re.search(r"```python\n(.*?)```", onnx_export.card_section(model), re.S).group(1)
    monkeypatch.chdir(BUNDLED_MODEL)
    namespace = {"faces": faces.numpy()}
    exec(code, namespace)  # noqa: S102 - the card's own five lines
    views = view_probabilities(model, tta_views(faces, model.input_size, "flip"))
    expected = corrected(views, model.prior_correction).mean(0)
    assert_same_predictions(namespace["probabilities"], expected)


@pytest.mark.parametrize("prior_correction", [None, [1.2, 0.8, 1.0]])
def test_the_card_section_speaks_of_a_prior_correction_only_when_the_model_has_one(prior_correction):
    section = onnx_export.card_section(EmotionClassifier(labels=["a", "b", "c"], width=4,
                                                         prior_correction=prior_correction))
    assert ("prior correction included" in section) == (prior_correction is not None)
    assert ("corrects the mean of the two views" in section) == (prior_correction is not None)


def test_the_export_command_writes_the_onnx_file_and_one_card_section(tmp_path, capsys):
    model = EmotionClassifier(width=4).eval()
    model.save_pretrained(tmp_path)
    (tmp_path / "README.md").write_text("# card\n\n## Results\n\nfigures\n\n## Training\n\n- Command\n")
    for _ in range(2):
        assert onnx_export.main([str(tmp_path)]) == 0
    card = (tmp_path / "README.md").read_text()
    assert card.count("## ONNX") == 1 and card.index("## Results") < card.index("## ONNX") < card.index("## Training")
    assert "opset 17" in capsys.readouterr().out
    assert (tmp_path / "model.onnx").exists() and not (tmp_path / "model.onnx.tmp").exists()


def test_the_export_command_names_a_folder_without_a_model(tmp_path, capsys):
    assert onnx_export.main([str(tmp_path)]) == 2
    assert str(tmp_path) in capsys.readouterr().err


@pytest.mark.parametrize("input_size", [40, 44, 48])
def test_the_card_crop_is_torchvision_s_centre_crop(input_size):
    model = EmotionClassifier(width=4, input_size=input_size)
    top, bottom = map(int, re.search(r"faces\[:, None, (\d+):(\d+),", onnx_export.card_section(model)).groups())
    faces = torch.arange(2 * 48 * 48, dtype=torch.int32).reshape(2, 48, 48)
    assert torch.equal(faces[:, top:bottom, top:bottom], tta_views(faces, input_size, "none")[0])


def test_the_best_recipe_s_student_fits_10_mb_in_safetensors_and_onnx(tmp_path):
    config = recipes.RECIPES["best"]
    model = loop.build_model(config, list(EmotionClassifier().labels)).eval()
    model.save_pretrained(tmp_path)
    onnx_export.export_onnx(model, tmp_path)
    for name in ("model.safetensors", onnx_export.ONNX_NAME):
        assert 0.8 * 10 * 1024 * 1024 < (tmp_path / name).stat().st_size <= 10 * 1024 * 1024, name
