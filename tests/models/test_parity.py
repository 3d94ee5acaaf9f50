"""ONNX Runtime and torch agree on the same weights, step by step with the cache/state."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")  # the train extra; CI installs it

from moodscore.models.runtime import (AbcGenerator, LstmGenerator, OrtAbcBackend, OrtLstmBackend,  # noqa: E402
                                      load_card, weights_dir)
from moodscore.models.torch_backend import TorchAbcBackend, TorchLstmBackend, load_checkpoint  # noqa: E402
from moodscore.music import Meter  # noqa: E402

STEPS = 80


def test_abc_logits_agree_over_incremental_steps():
    card = load_card("abc")
    ort_b = OrtAbcBackend(weights_dir() / "abc.onnx", card)
    model, _ = load_checkpoint(weights_dir() / "abc.pt")
    pt_b = TorchAbcBackend(model)
    rng = np.random.default_rng(0)
    va = np.array([[0.3, -0.6]], np.float32)
    prompt = np.array([[1, 4, 5, 6, 40, 41]], np.int64)
    pos = np.array([[64, 64, 64, 64, 0, 4]], np.int64)
    worst = np.abs(ort_b.step(prompt, pos, va) - pt_b.step(prompt, pos, va)).max()
    for _ in range(STEPS):
        tok = rng.integers(4, len(card["vocab"]), (1, 1))
        bp = rng.integers(0, 64, (1, 1))
        worst = max(worst, np.abs(ort_b.step(tok, bp, va) - pt_b.step(tok, bp, va)).max())
    assert ort_b.cached == 6 + STEPS
    assert worst < 1e-4


def test_lstm_outputs_agree_over_incremental_steps():
    card = load_card("lstm")
    ort_b = OrtLstmBackend(weights_dir() / "lstm.onnx", card)
    model, _ = load_checkpoint(weights_dir() / "lstm.pt")
    pt_b = TorchLstmBackend(model)
    rng = np.random.default_rng(1)
    va = np.array([[-0.5, 0.9]], np.float32)
    worst = 0.0
    for i in range(STEPS):
        rows = np.array([[[rng.integers(50, 90), rng.choice([0.25, 0.5, 1.0]), 0.5]]], np.float32)
        (l1, t1), (l2, t2) = ort_b.step(rows, va), pt_b.step(rows, va)
        worst = max(worst, np.abs(l1 - l2).max(), np.abs(t1 - t2).max())
    assert worst < 1e-4


@pytest.mark.parametrize("name", ["abc", "lstm"])
def test_same_phrase_from_both_runtimes(name):
    card = load_card(name)
    model, _ = load_checkpoint(weights_dir() / f"{name}.pt")
    if name == "abc":
        gens = [AbcGenerator(OrtAbcBackend(weights_dir() / "abc.onnx", card), card),
                AbcGenerator(TorchAbcBackend(model), card)]
    else:
        gens = [LstmGenerator(OrtLstmBackend(weights_dir() / "lstm.onnx", card), card),
                LstmGenerator(TorchLstmBackend(model), card)]
    a, b = (g.next_phrase(None, 0.5, 0.5, mode="maj", meter=Meter(4, 4), rng=np.random.default_rng(7))
            for g in gens)
    assert a.tokens == b.tokens
