"""Export the trained checkpoints to ONNX with their state as explicit inputs and outputs.

``abc.onnx`` takes ``idx, barpos (B,T) int64, va (B,2), past_k, past_v (L,B,H,P,hd)`` and
returns ``logits (B,T,V), present_k, present_v`` with P+T positions; ``lstm.onnx`` takes
``notes (B,T,3), va (B,2), h, c (layers,B,hidden)`` and returns ``logits (B,T,128), timing
(B,T,2), h, c``. Batch, time and cache length are dynamic, so one graph serves both the
prefill and each incremental step. A JSON model card is written beside each graph.
Needs torch and onnx.

``abc.batch.onnx`` is the batched step for many decodings at once, and ``abc.batch.gqa.onnx``
the same with ONNX Runtime's fused attention over in-place cache buffers, for the CPU
(:func:`export_abc_batched`).

Public API: :func:`export_abc`, :func:`export_abc_batched`, :func:`export_lstm`, :func:`export_all`,
``OPSET``.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import ModelError
from ..models.lstm import LstmConfig, MelodyLstm
from ..models.torch_backend import load_checkpoint
from ..models.transformer import AbcConfig, AbcTransformer
from .atomic import atomic_write_bytes

OPSET = 17


def _card(name: str, ckpt: dict, inputs: list[str], outputs: list[str]) -> dict:
    data = ckpt.get("data", {})
    history = ckpt.get("history", [])
    return {
        "model": name,
        "format": "onnx",
        "opset": OPSET,
        "inputs": inputs,
        "outputs": outputs,
        "config": ckpt["model_args"],
        "parameters": ckpt.get("parameters"),
        "training": {
            "seconds": ckpt.get("train_seconds"),
            "steps": ckpt.get("steps"),
            "best_valid_loss": round(float(ckpt.get("valid_loss", float("nan"))), 4),
            "settings": ckpt.get("settings"),
            "train_tunes": ckpt.get("train_tunes"),
            "valid_tunes": ckpt.get("valid_tunes"),
            "history": history,
        },
        "data": {k: v for k, v in data.items() if k not in ("quadrants",)},
        "label_distribution": data.get("quadrants", {}),
        **({"vocab": ckpt["vocab"]} if "vocab" in ckpt else {}),
    }


def _export(model: torch.nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str],
            axes: dict, custom_opsets: dict[str, int] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".onnx.tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, str(tmp), input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False, custom_opsets=custom_opsets)
    tmp.replace(path)


def export_abc(checkpoint: Path, out_dir: Path) -> Path:
    model, ckpt = load_checkpoint(checkpoint)
    if not isinstance(model, AbcTransformer):
        raise ModelError(f"{checkpoint} is not an ABC transformer checkpoint")
    cfg = model.cfg
    hd = cfg.n_embd // cfg.n_head
    args = (torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 2),
            torch.zeros(cfg.n_layer, 1, cfg.n_head, 2, hd), torch.zeros(cfg.n_layer, 1, cfg.n_head, 2, hd))
    inputs, outputs = ["idx", "barpos", "va", "past_k", "past_v"], ["logits", "present_k", "present_v"]
    axes = {"idx": {0: "batch", 1: "time"}, "barpos": {0: "batch", 1: "time"}, "va": {0: "batch"},
            "past_k": {1: "batch", 3: "past"}, "past_v": {1: "batch", 3: "past"},
            "logits": {0: "batch", 1: "time"}, "present_k": {1: "batch", 3: "total"},
            "present_v": {1: "batch", 3: "total"}}
    _export(model, args, out_dir / "abc.onnx", inputs, outputs, axes)
    card = _card("abc", ckpt, inputs, outputs)
    card["variants"] = {"int8": _quantize(out_dir / "abc.onnx", out_dir / "abc.int8.onnx", cfg)}
    card["default_precision"] = "int8"
    _write_card(out_dir / "abc.json", card)
    _write_state(model, out_dir / "abc.pt")
    return out_dir / "abc.onnx"


def _quantize(src: Path, dst: Path, cfg: AbcConfig) -> dict:
    """Dynamic int8 quantization of the ABC's weights (activations stay float, quantized per call).

    Each decoding step reads every weight once; at fp32 that is 13.6 MB per token, more than the
    caches hold, and the step is bound by memory. At int8 it is a quarter of that.
    """
    rng = np.random.default_rng(0)  # how far the logits move, on random inputs with a cache
    feeds = []
    for _ in range(8):
        past = rng.normal(size=(cfg.n_layer, 1, cfg.n_head, 40, cfg.n_embd // cfg.n_head)).astype(np.float32)
        feeds.append({"idx": rng.integers(4, cfg.vocab_size, (1, 1)), "barpos": rng.integers(0, 32, (1, 1)),
                      "va": rng.uniform(-1, 1, (1, 2)).astype(np.float32), "past_k": past, "past_v": past})
    return _quantized(src, dst, feeds)


def _quantize_lstm(src: Path, dst: Path, cfg: LstmConfig) -> dict:
    """Dynamic int8 quantization of the LSTM's weights: ONNX Runtime's ``DynamicQuantizeLSTM``
    and integer matmuls. A step's cost is its matrix products (about 0.9 M multiply-adds a row),
    which int8 makes cheaper; the state and activations stay float, quantized per call over the
    whole input (so a row's numbers depend on the rows beside it, as for the ABC's int8)."""
    rng = np.random.default_rng(0)  # how far the logits move: random notes from random states
    feeds = []
    for _ in range(8):
        notes = np.stack([rng.integers(40, 90, 8), rng.choice([0.0, 0.5, 1.0], 8), rng.choice([0.5, 1.0], 8)], -1)
        state = (rng.normal(size=(2, cfg.layers, 1, cfg.hidden)) * 0.5).astype(np.float32)
        feeds.append({"notes": notes[None].astype(np.float32), "va": rng.uniform(-1, 1, (1, 2)).astype(np.float32),
                      "h": state[0], "c": state[1]})
    return _quantized(src, dst, feeds)


def _quantized(src: Path, dst: Path, feeds: list[dict[str, Any]]) -> dict:
    """``src`` with int8 weights as ``dst``, and its card entry: the largest logit difference
    from ``src`` over ``feeds`` (the first output)."""
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = dst.with_suffix(".onnx.tmp")
    quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8)
    tmp.replace(dst)
    worst = 0.0
    ref, quant = (ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for p in (src, dst))
    for feed in feeds:
        worst = max(worst, float(np.abs(ref.run(None, feed)[0] - quant.run(None, feed)[0]).max()))
    return {"file": dst.name, "method": "onnxruntime.quantization.quantize_dynamic, int8 weights",
            "max_abs_logit_difference_vs_fp32": round(worst, 4)}


def export_abc_batched(checkpoint: Path, out_dir: Path) -> Path:
    """``abc.batch.onnx``: the batched step of :class:`~moodscore.models.transformer_slots.SlotAbc`
    for the many-session worker, and ``abc.batch.int8.onnx``. Their weights are not stored twice:
    each initializer refers to the identical bytes inside ``abc.onnx`` (``abc.int8.onnx``) as ONNX
    external data, found there by content, so the batched graphs are small files and can only run
    the very weights of the single-session graphs (export those first)."""
    from ..models.transformer_slots import SlotAbc

    model, ckpt = load_checkpoint(checkpoint)
    if not isinstance(model, AbcTransformer):
        raise ModelError(f"{checkpoint} is not an ABC transformer checkpoint")
    cfg = model.cfg
    args = _slot_example(cfg, rows=2, slots=4)
    cache = _cache_names(cfg)
    inputs = ["idx", "barpos", "pos", "va", "past_mask", "last", *cache]
    outputs = ["logits", "new_k", "new_v"]
    bt = {0: "batch", 1: "time"}
    axes = {"idx": bt, "barpos": bt, "pos": bt, "va": {0: "batch"}, "past_mask": {0: "batch", 1: "slots"},
            "last": {0: "batch"}, "logits": {0: "batch"}, "new_k": {0: "batch", 4: "time"},
            "new_v": {0: "batch", 3: "time"},
            **{name: {0: "batch", 3 if name.startswith("past_k") else 2: "slots"} for name in cache}}
    fp32 = out_dir / "abc.batch.onnx"
    _export_shared(SlotAbc(model).eval(), args, fp32, inputs, outputs, axes)
    gqa_in, gqa_out, gqa = _export_gqa(model, out_dir)
    res_in, res_out, resident = _export_resident(model, out_dir)
    card_path = out_dir / "abc.json"
    card = json.loads(card_path.read_text())
    card["batched"] = {"fp32": fp32.name, "int8": "abc.batch.int8.onnx", "inputs": inputs, "outputs": outputs,
                       "gqa": {"fp32": gqa.name, "int8": "abc.batch.gqa.int8.onnx", "inputs": gqa_in,
                               "outputs": gqa_out},
                       "resident": {"fp32": resident.name, "inputs": res_in, "outputs": res_out}}
    _write_card(card_path, card)
    return fp32


def _export_gqa(model: AbcTransformer, out_dir: Path) -> tuple[list[str], list[str], Path]:
    """``abc.batch.gqa.onnx`` (and its int8): :class:`~moodscore.models.transformer_gqa.GqaAbc`."""
    from ..models.transformer_gqa import GqaAbc

    cfg = model.cfg
    hd = cfg.n_embd // cfg.n_head
    cache = [torch.zeros(2, cfg.n_head, 4, hd) for _ in range(2 * cfg.n_layer)]
    args = (torch.zeros(2, 1, dtype=torch.long), torch.zeros(2, 1, dtype=torch.long),
            torch.full((2, 1), 2, dtype=torch.long), torch.zeros(2, 2), torch.full((2,), 2, dtype=torch.int32),
            torch.tensor(3, dtype=torch.int32), torch.zeros(2, dtype=torch.long), *cache)
    names = _cache_names(cfg)
    inputs = ["idx", "barpos", "pos", "va", "seqlens", "total", "last", *names]
    outputs = ["logits", *(name.replace("past", "present") for name in names)]
    bt = {0: "batch", 1: "time"}
    axes = {"idx": bt, "barpos": bt, "pos": bt, "va": {0: "batch"}, "seqlens": {0: "batch"},
            "last": {0: "batch"}, "logits": {0: "batch"},
            **{name: {0: "batch", 2: "slots"} for name in names + outputs[1:]}}
    path = out_dir / "abc.batch.gqa.onnx"
    _export_shared(GqaAbc(model).eval(), args, path, inputs, outputs, axes, {"com.microsoft": 1})
    return inputs, outputs, path


def _cache_names(cfg: AbcConfig) -> list[str]:
    return [f"past_k{i}" for i in range(cfg.n_layer)] + [f"past_v{i}" for i in range(cfg.n_layer)]


def _slot_example(cfg: AbcConfig, rows: int, slots: int) -> tuple[torch.Tensor, ...]:
    """Example inputs to trace a slot graph with: a call of 2 rows by 3 tokens (idx, barpos, pos,
    va, past_mask, last), then the layers' key and value buffers of ``rows`` by ``slots``."""
    hd = cfg.n_embd // cfg.n_head
    keys = [torch.zeros(rows, cfg.n_head, hd, slots) for _ in range(cfg.n_layer)]
    values = [torch.zeros(rows, cfg.n_head, slots, hd) for _ in range(cfg.n_layer)]
    return (torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3, dtype=torch.long),
            torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 2), torch.ones(2, slots, dtype=torch.bool),
            torch.zeros(2, dtype=torch.long), *keys, *values)


def _export_resident(model: AbcTransformer, out_dir: Path) -> tuple[list[str], list[str], Path]:
    """``abc.batch.resident.onnx``: :class:`~moodscore.models.transformer_resident.ResidentAbc`,
    the CUDA provider's graph, at fp32 only (that provider has no kernel for the int8 graphs'
    dynamically quantized matmuls)."""
    from ..models.transformer_resident import ResidentAbc

    cfg = model.cfg
    step = _slot_example(cfg, rows=3, slots=5)  # the buffers of the call before hold 3 rows
    write, order = torch.zeros(2, 3, dtype=torch.long), torch.tensor([2, 0, 1], dtype=torch.long)
    args = (*step[:6], write, order, *step[6:])
    names = _cache_names(cfg)
    inputs = ["idx", "barpos", "pos", "va", "past_mask", "last", "write", "order", *names]
    outputs = ["logits", *(name.replace("past", "present") for name in names)]
    bt = {0: "batch", 1: "time"}

    def buffer(name: str, rows: str) -> dict[int, str]:
        return {0: rows, 3 if "_k" in name else 2: "slots"}

    axes = {"idx": bt, "barpos": bt, "pos": bt, "va": {0: "batch"}, "past_mask": {0: "batch", 1: "slots"},
            "last": {0: "batch"}, "write": bt, "order": {0: "rows"}, "logits": {0: "batch"},
            **{name: buffer(name, "before") for name in names},
            **{name: buffer(name, "rows") for name in outputs[1:]}}
    path = out_dir / "abc.batch.resident.onnx"
    full = path.with_suffix(".full.onnx")
    _export(ResidentAbc(model).eval(), args, full, inputs, outputs, axes)
    try:
        _share_weights(full, out_dir / "abc.onnx", path)
    finally:
        full.unlink(missing_ok=True)
    return inputs, outputs, path


def _export_shared(module: torch.nn.Module, args: tuple, fp32: Path, inputs: list[str], outputs: list[str],
                   axes: dict, custom_opsets: dict[str, int] | None = None) -> None:
    """Export ``module`` as ``fp32`` and its int8 (``<stem>.int8.onnx``), each with its weights
    referring to those of ``abc.onnx`` (``abc.int8.onnx``) beside it."""
    out_dir = fp32.parent
    full, full8 = fp32.with_suffix(".full.onnx"), fp32.with_suffix(".int8.full.onnx")
    _export(module, args, full, inputs, outputs, axes, custom_opsets)
    try:
        _share_weights(full, out_dir / "abc.onnx", fp32)
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(full), str(full8), weight_type=QuantType.QInt8)
        _share_weights(full8, out_dir / "abc.int8.onnx", fp32.with_suffix(".int8.onnx"))
    finally:
        for tmp in (full, full8):
            tmp.unlink(missing_ok=True)


def _share_weights(src: Path, donor: Path, dst: Path, *, inline_below: int = 1024) -> None:
    """Write ``src`` as ``dst`` with every initializer of ``inline_below`` bytes or more stored as a
    reference to the same bytes inside ``donor`` (a file beside it); ModelError if one is not there."""
    import onnx
    from onnx.external_data_helper import set_external_data

    graph = onnx.load(str(src))
    blob = donor.read_bytes()
    for tensor in graph.graph.initializer:
        raw = onnx.numpy_helper.to_array(tensor).tobytes()
        if len(raw) < inline_below:
            continue
        at = blob.find(raw)
        if at < 0:
            raise ModelError(f"initializer {tensor.name} of {src.name} is not in {donor.name}: "
                             "export the single-session graphs from the same checkpoint first")
        for kind in ("float_data", "int32_data", "int64_data"):
            tensor.ClearField(kind)  # type: ignore[arg-type]
        tensor.raw_data = b"x"  # set_external_data insists on a raw_data field, then it goes
        set_external_data(tensor, location=donor.name, offset=at, length=len(raw))
        tensor.ClearField("raw_data")
        tensor.data_location = onnx.TensorProto.EXTERNAL
    tmp = dst.with_suffix(".onnx.tmp")
    tmp.write_bytes(graph.SerializeToString())
    tmp.replace(dst)


def export_lstm(checkpoint: Path, out_dir: Path) -> Path:
    model, ckpt = load_checkpoint(checkpoint)
    if not isinstance(model, MelodyLstm):
        raise ModelError(f"{checkpoint} is not an LSTM checkpoint")
    cfg = model.cfg
    args = (torch.zeros(1, 3, 3), torch.zeros(1, 2), torch.zeros(cfg.layers, 1, cfg.hidden),
            torch.zeros(cfg.layers, 1, cfg.hidden))
    inputs, outputs = ["notes", "va", "h", "c"], ["logits", "timing", "h_out", "c_out"]
    axes = {"notes": {0: "batch", 1: "time"}, "va": {0: "batch"}, "h": {1: "batch"}, "c": {1: "batch"},
            "logits": {0: "batch", 1: "time"}, "timing": {0: "batch", 1: "time"},
            "h_out": {1: "batch"}, "c_out": {1: "batch"}}
    _export(model, args, out_dir / "lstm.onnx", inputs, outputs, axes)
    card = _card("lstm", ckpt, inputs, outputs)
    card["variants"] = {"int8": _quantize_lstm(out_dir / "lstm.onnx", out_dir / "lstm.int8.onnx", cfg)}
    _write_card(out_dir / "lstm.json", card)  # fp32 stays the default: batched rows keep their notes
    _write_state(model, out_dir / "lstm.pt")
    return out_dir / "lstm.onnx"


def _write_card(path: Path, card: dict) -> None:
    atomic_write_bytes(path, (json.dumps(card, indent=1) + "\n").encode())


def _write_state(model: AbcTransformer | MelodyLstm, path: Path) -> None:
    """The same weights for torch eager (parity tests, benchmarks): config and state dict only."""
    tmp = path.with_suffix(".pt.tmp")
    torch.save({"model_args": model.cfg.to_dict(), "model": model.state_dict()}, tmp)
    tmp.replace(path)


def reference_stats(corpus_path: Path, limit: int = 3000) -> dict:
    """Melody statistics of real tunes (pitch classes from the tonic, intervals, scale
    consistency), kept in the model card so generated melodies can be compared with them."""
    from ..analysis import melody_stats
    from ..models.abc import tokens_to_notes
    from ..models.corpus import load
    from ..music import Meter

    tunes = [t for t in load(corpus_path) if t.split == "valid"][:limit]
    pcs: list[np.ndarray] = []
    intervals: dict[int, float] = {}
    consistency: list[float] = []
    leaps: list[float] = []
    for tune in tunes:
        notes, _ = tokens_to_notes(tune.tokens, Meter.parse(tune.meter), tune.mode)
        stats = melody_stats([(n.pitch, n.duration) for n in notes])
        pcs.append(stats.pc_hist)
        for k, v in stats.interval_hist.items():
            intervals[k] = intervals.get(k, 0.0) + v / len(tunes)
        consistency.append(stats.scale_consistency)
        leaps.append(stats.large_leap_rate)
    return {"tunes": len(tunes), "pc_hist": np.mean(pcs, axis=0).round(4).tolist(),
            "interval_hist": {str(k): round(v, 4) for k, v in sorted(intervals.items())},
            "scale_consistency": round(float(np.mean(consistency)), 4),
            "large_leap_rate": round(float(np.mean(leaps)), 4)}


def export_all(runs: Path, out_dir: Path, data_dir: Path | None = None) -> list[Path]:
    """Export every checkpoint found in ``runs`` (``abc.pt``, ``lstm.pt``); with the corpus in
    ``data_dir``, add real tunes' melody statistics to each card."""
    done = []
    reference = None
    if data_dir is not None and (data_dir / "corpus.jsonl").exists():
        reference = reference_stats(data_dir / "corpus.jsonl")
    for name, fn in (("abc", export_abc), ("lstm", export_lstm)):
        if (runs / f"{name}.pt").exists():
            done.append(fn(runs / f"{name}.pt", out_dir))
            if name == "abc":
                done.append(export_abc_batched(runs / "abc.pt", out_dir))
            if reference is not None:
                card_path = out_dir / f"{name}.json"
                card = json.loads(card_path.read_text())
                card["reference_melody_stats"] = reference
                _write_card(card_path, card)
    if not done:
        raise ModelError(f"no checkpoint (abc.pt, lstm.pt) in {runs}: run `moodscore train` first")
    return done
