import json

import pytest
import torch
from torch import nn

from fer.model.architectures.vgg_se import SqueezeExcite
from fer.model.classifier import BUNDLED_MODEL, EmotionClassifier, ModelLoadError, load_classifier
from fer.model.probabilities import predict_probabilities


@pytest.mark.parametrize("arch, input_size", [("vgg", 40), ("vgg_se", 40), ("resnet", 40), ("seed", 48)])
def test_save_load_round_trip_gives_identical_outputs(tmp_path, arch, input_size):
    torch.manual_seed(0)
    model = EmotionClassifier(arch=arch, labels=["a", "b", "c"], input_size=input_size, width=8).eval()
    model.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".md") == ["config.json", "model.safetensors"]
    loaded = load_classifier(tmp_path)
    assert loaded.labels == ["a", "b", "c"] and loaded.input_size == input_size
    faces = torch.randint(0, 256, (5, 48, 48), dtype=torch.uint8)
    assert torch.equal(predict_probabilities(model, faces), predict_probabilities(loaded, faces))


def test_vgg_se_is_the_vgg_network_with_gates_on_its_last_two_stages():
    plain, gated = (EmotionClassifier(arch=arch, width=8) for arch in ("vgg", "vgg_se"))
    gates = [layer for layer in gated.net.features if isinstance(layer, SqueezeExcite)]
    assert [gate.gate[-2].out_channels for gate in gates] == [32, 64]

    def conv_shapes(model):
        return [layer.weight.shape for layer in model.net.features if isinstance(layer, nn.Conv2d)]
    assert conv_shapes(plain) == conv_shapes(gated)


def test_resnet_halves_its_maps_three_times_and_grad_cam_watches_its_last_block():
    from fer.model.gradcam import last_feature_layer
    resnet = EmotionClassifier(arch="resnet", width=8)
    assert resnet.net.features(torch.zeros(1, 1, 40, 40)).shape == (1, 64, 5, 5)
    assert last_feature_layer(resnet.net) is resnet.net.features[-1].output
    for arch in ("vgg", "vgg_se"):  # the last conv's ReLU, not one inside a squeeze-and-excitation gate
        vgg = EmotionClassifier(arch=arch, width=8)
        assert last_feature_layer(vgg.net) is [layer for layer in vgg.net.features if isinstance(layer, nn.ReLU)][-1]


@pytest.mark.parametrize("change, message", [
    ({"width": 100000}, "width"),
    ({"input_size": 10 ** 6}, "input_size"),
    ({"labels": "happy"}, "labels"),
    ({"arch": "resnet999"}, "arch"),
    ({"dropout": "lots"}, "dropout"),
    ({"weights_dtype": "int8"}, "weights_dtype"),
    ({"members": 10 ** 6}, "members"),
])
def test_hostile_config_is_refused_before_allocating(tmp_path, change, message):
    EmotionClassifier(width=4).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, **change}))
    with pytest.raises(ModelLoadError, match=message):
        load_classifier(tmp_path)


def test_truncated_weights_name_the_file(tmp_path):
    EmotionClassifier(width=4).save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ModelLoadError, match="model.safetensors"):
        load_classifier(tmp_path)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="cannot load a model"):
        load_classifier(tmp_path / "absent")


def test_probabilities_sum_to_one_for_every_tta_mode():
    model = EmotionClassifier(width=4)
    faces = torch.randint(0, 256, (3, 48, 48), dtype=torch.uint8)
    for tta in ("none", "flip", "tencrop"):
        probabilities = predict_probabilities(model, faces, tta=tta)
        assert probabilities.shape == (3, 7)
        assert torch.allclose(probabilities.sum(1), torch.ones(3), atol=1e-5)


def test_float16_storage_halves_the_file_and_predicts_as_the_float32_model(tmp_path):
    torch.manual_seed(0)
    model = EmotionClassifier(width=8).eval()
    halved = EmotionClassifier(width=8, weights_dtype="float16")
    halved.load_state_dict(model.state_dict())
    model.save_pretrained(tmp_path / "float32")
    halved.save_pretrained(tmp_path / "float16")
    loaded = load_classifier(tmp_path / "float16")
    sizes = [(tmp_path / kind / "model.safetensors").stat().st_size for kind in ("float32", "float16")]
    assert 0.45 < sizes[1] / sizes[0] < 0.55
    assert loaded.weights_dtype == "float16" and all(p.dtype == torch.float32 for p in loaded.parameters())
    faces = torch.randint(0, 256, (8, 48, 48), dtype=torch.uint8)
    expected, got = predict_probabilities(model, faces), predict_probabilities(loaded, faces)
    assert torch.equal(expected.argmax(1), got.argmax(1))
    assert (expected - got).abs().max() < 1e-2


def test_the_bundled_model_saves_back_byte_for_byte_in_its_own_weights_dtype(tmp_path):
    bundled = load_classifier(BUNDLED_MODEL)
    bundled.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").read_bytes() == (BUNDLED_MODEL / "model.safetensors").read_bytes()


def test_weights_beyond_the_float16_range_are_refused_rather_than_stored_as_infinity(tmp_path):
    model = EmotionClassifier(width=4, weights_dtype="float16")
    with torch.no_grad():
        model.net.features[0].weight[0, 0, 0, 0] = 1e6
    with pytest.raises(ValueError, match="float16 range"):
        model.save_pretrained(tmp_path)
