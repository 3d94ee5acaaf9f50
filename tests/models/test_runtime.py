"""Phrase generation on ONNX Runtime: validity by construction, determinism, torch parity."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from moodscore.errors import ConfigError, ModelError
from moodscore.models.abc import BAR, abc_to_tokens, parse_token, tokens_to_notes
from moodscore.models.runtime import AbcGenerator, load_card, load_generator, providers, weights_dir
from moodscore.music import MODES, Meter

METERS = ["4/4", "3/4", "6/8", "2/4", "2/2", "9/8", "3/8"]


class RandomBackend:
    """Any logits at all: the decoder alone must keep every bar whole."""

    def __init__(self, vocab_size: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.n = vocab_size
        self.cached = 0

    def reset(self) -> None:
        self.cached = 0

    def step(self, ids, barpos, va):
        self.cached += ids.shape[1]
        logits = self.rng.normal(size=self.n) * 5
        logits[self.rng.random(self.n) < 0.3] = 40.0  # strong, arbitrary preferences
        return logits


@pytest.fixture(scope="module")
def abc_card():
    return load_card("abc")


def _check_bars(tokens: list[str], meter: Meter, bars: int) -> None:
    assert tokens.count(BAR) == bars and tokens[-1] == BAR
    pos = 0
    for tok in tokens:
        if tok == BAR:
            assert pos == meter.ticks
            pos = 0
        else:
            pos += parse_token(tok).ticks


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31), st.sampled_from(METERS), st.sampled_from(MODES), st.integers(1, 6))
def test_constrained_decoding_never_makes_an_invalid_bar(abc_card, seed, meter_text, mode, bars):
    meter = Meter.parse(meter_text)
    vocab_meters = [t for t in abc_card["vocab"] if t.startswith("M:")]
    if f"M:{meter}" not in vocab_meters:
        return
    gen = AbcGenerator(RandomBackend(len(abc_card["vocab"]), seed), abc_card)
    phrase = gen.next_phrase(None, 0.0, 0.0, mode=mode, meter=meter, bars=bars,
                             rng=np.random.default_rng(seed))
    _check_bars(phrase.tokens, meter, bars)
    assert abc_to_tokens(phrase.abc) == phrase.tokens
    notes, n = tokens_to_notes(phrase.tokens, meter, mode)
    assert n == bars and all(0 < x.duration for x in notes)


@pytest.mark.parametrize("name", ["abc", "lstm"])
def test_real_model_phrases_are_whole_bars_and_continue(name):
    gen = load_generator(name)
    rng = np.random.default_rng(1)
    prev = None
    for v, a in [(0.8, 0.8), (-0.8, -0.8), (0.0, 0.3)]:
        for meter in (Meter(4, 4), Meter(6, 8), Meter(3, 4)):
            phrase = gen.next_phrase(prev, v, a, mode="min" if v < 0 else "maj", meter=meter, rng=rng)
            _check_bars(phrase.tokens, meter, 4)
            assert phrase.notes and all(0 <= n.start < phrase.beats for n in phrase.notes)
            prev = phrase


@pytest.mark.parametrize("name", ["abc", "lstm"])
def test_same_seed_same_phrase(name):
    gen = load_generator(name)
    a = gen.next_phrase(None, 0.4, -0.2, mode="maj", rng=np.random.default_rng(42))
    b = gen.next_phrase(None, 0.4, -0.2, mode="maj", rng=np.random.default_rng(42))
    c = gen.next_phrase(None, 0.4, -0.2, mode="maj", rng=np.random.default_rng(43))
    assert a.tokens == b.tokens and a.notes == b.notes
    assert a.tokens != c.tokens


def test_cpu_provider_always_present_and_bad_model_name():
    assert providers()[-1] == "CPUExecutionProvider"
    with pytest.raises(ConfigError, match="abc, lstm"):
        load_generator("gpt")
    with pytest.raises(ModelError, match="missing"):
        load_card("abc", weights_dir() / "nowhere")


def test_cards_describe_the_models():
    for name in ("abc", "lstm"):
        card = load_card(name)
        assert card["opset"] >= 17
        assert card["parameters"] > 100_000
        assert card["training"]["best_valid_loss"] > 0
        assert card["training"]["seconds"] > 0
        assert set(card["label_distribution"]) == {"Q1", "Q2", "Q3", "Q4"}
        assert (weights_dir() / f"{name}.onnx").stat().st_size < 25 * 2**20
    assert load_card("abc")["parameters"] <= 10_000_000


def test_precision_variants():
    card = load_card("abc")
    assert card["default_precision"] == "int8"
    int8 = card["variants"]["int8"]
    assert (weights_dir() / int8["file"]).stat().st_size < 0.3 * (weights_dir() / "abc.onnx").stat().st_size
    assert int8["max_abs_logit_difference_vs_fp32"] < 1.0
    for precision in ("fp32", "int8"):
        gen = load_generator("abc", precision=precision)
        phrase = gen.next_phrase(None, 0.3, 0.3, mode="maj", rng=np.random.default_rng(3))
        _check_bars(phrase.tokens, Meter(4, 4), 4)
    with pytest.raises(ConfigError, match="precision must be one of fp32, int8"):
        load_generator("abc", precision="fp16")
    with pytest.raises(ConfigError, match="model lstm has no fp16 variant|precision must be one of"):
        load_generator("lstm", precision="fp16")


def test_the_lstm_has_an_int8_variant_and_stays_fp32_by_default():
    card = load_card("lstm")
    assert "default_precision" not in card  # fp32: batched rows keep the notes they have alone
    int8 = card["variants"]["int8"]
    assert int8["file"] == "lstm.int8.onnx"
    assert (weights_dir() / int8["file"]).stat().st_size < 0.3 * (weights_dir() / "lstm.onnx").stat().st_size
    assert 0 < int8["max_abs_logit_difference_vs_fp32"] < 1.0
    for precision in ("fp32", "int8"):
        gen = load_generator("lstm", precision=precision)
        phrase = gen.next_phrase(None, 0.3, 0.3, mode="maj", rng=np.random.default_rng(3))
        assert phrase.bars == 4 and phrase.notes and all(0 <= n.start < 16 and 0 <= n.pitch < 128 for n in phrase.notes)


class RecordingBackend:
    """The real single-stream model, counting calls."""

    def __init__(self, backend) -> None:
        self.inner, self.calls = backend, 0

    def reset(self) -> None:
        self.inner.reset()

    @property
    def cached(self) -> int:
        return self.inner.cached

    def step(self, ids, barpos, va):
        self.calls += 1
        return self.inner.step(ids, barpos, va)


@pytest.mark.parametrize("meter_text", ["4/4", "6/8", "3/4"])
def test_a_forced_bar_line_rides_with_the_note_before_it_and_changes_nothing(meter_text):
    gen = load_generator("abc", precision="fp32")
    meter = Meter.parse(meter_text)
    rec = RecordingBackend(gen.backend)
    gen.backend = rec
    for seed in range(4):
        rec.calls = 0
        fused = gen.next_phrase(None, 0.3, -0.2, mode="dor", meter=meter, bars=4, rng=np.random.default_rng(seed))
        fused_calls = rec.calls
        rec.calls = 0
        va = np.array([[0.3, -0.2]], np.float32)
        loop = gen.decode(None, mode="dor", meter=meter, bars=4, rng=np.random.default_rng(seed))
        ask = next(loop)
        try:
            while True:
                if ask.prefill:
                    rec.reset()
                assert len(ask.ids) == 1 or ask.prefill  # unfused: one token a step
                ask = loop.send(rec.step(ask.ids[None], ask.barpos[None], va))
        except StopIteration as done:
            unfused = done.value
        assert fused.tokens == unfused.tokens
        assert fused_calls == rec.calls - 3  # three inner bar lines fed with their notes
