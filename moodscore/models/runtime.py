"""Phrase generation at run time: ONNX Runtime sessions and the two decoding loops.

The engine calls one method, ``next_phrase(context, valence, arousal, mode=..., meter=...,
bars=4, rng=...)``, on either generator. Decoding is written once per model against a small
*backend* (one forward step); :class:`OrtAbcBackend`/:class:`OrtLstmBackend` run the exported
graphs, and :mod:`moodscore.models.torch_backend` runs the same weights in torch eager for
parity tests and benchmarks.

The ABC decoder is constrained: at every step only tokens that fit the time left in the bar
can be drawn, and a bar line only when the bar is full, so every phrase is whole bars of
valid ABC by construction.

Public API: :func:`providers`, :func:`weights_dir`, :func:`load_card`, :func:`load_generator`,
:class:`AbcGenerator`, :class:`LstmGenerator`, :class:`AbcAsk`, :class:`OrtAbcBackend`,
:class:`OrtLstmBackend`. Each generator's ``decode`` is its loop as a coroutine without a model,
so that one loop serves both a single backend and the batched worker.
"""
from __future__ import annotations

import bisect
import json
import os
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import ConfigError, ModelError
from ..music import Meter, Note, Phrase, notes_to_steps
from .abc import (
    BAR,
    DURATIONS,
    TICKS_PER_BEAT,
    BarState,
    body_to_abc,
    key_signature,
    notes_to_tokens,
    parse_token,
    tokens_to_notes,
)
from .emotion import EmotionMix, emotion_score, mix_logits
from .sampling import SamplingSettings, sample, sample_among
from .vocab import HEADER_POSITION, Vocab, bar_positions

MODELS = ("abc", "lstm")


def weights_dir() -> Path:
    """Folder of the shipped weights; ``MOODSCORE_WEIGHTS`` points elsewhere."""
    return Path(os.environ.get("MOODSCORE_WEIGHTS", Path(__file__).parent / "weights"))


def providers(prefer_gpu: bool = True) -> list[str]:
    """CUDA when onnxruntime-gpu and a GPU are there, always with the CPU as fallback."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    chosen = ["CUDAExecutionProvider"] if prefer_gpu and "CUDAExecutionProvider" in available else []
    return chosen + ["CPUExecutionProvider"]


def require_cuda() -> None:
    """Raise :class:`ConfigError` unless this ONNX Runtime can run on CUDA (``--device cuda``):
    asked for by name, a GPU never quietly becomes the CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if "CUDAExecutionProvider" not in available:
        raise ConfigError(f"--device cuda: this ONNX Runtime has no CUDA provider (it has "
                          f"{', '.join(available)}); pip install onnxruntime-gpu on a machine with an "
                          f"NVIDIA GPU and driver, or use --device cpu")


def load_card(name: str, folder: Path | None = None) -> dict[str, Any]:
    path = (folder or weights_dir()) / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ModelError(f"model card {path} is missing: run `moodscore export`") from err
    except json.JSONDecodeError as err:
        raise ModelError(f"model card {path} is not valid JSON: {err}") from err


def _session(path: Path, threads: int, prefer_gpu: bool):
    import onnxruntime as ort

    if not path.exists():
        raise ModelError(f"model file {path} is missing: run `moodscore export`")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=providers(prefer_gpu))


class AbcBackend(Protocol):
    def reset(self) -> None: ...
    def step(self, ids: np.ndarray, barpos: np.ndarray, va: np.ndarray) -> np.ndarray:
        """Feed (1, T) tokens; return the last position's logits (V,)."""
    @property
    def cached(self) -> int: ...


class OrtAbcBackend:
    """The exported transformer with its key/value cache held between calls."""

    def __init__(self, path: Path, card: dict, threads: int = 1, prefer_gpu: bool = True) -> None:
        self.session = _session(path, threads, prefer_gpu)
        c = card["config"]
        self._shape = (c["n_layer"], 1, c["n_head"], 0, c["n_embd"] // c["n_head"])
        self.reset()

    def reset(self) -> None:
        self.k = np.zeros(self._shape, np.float32)
        self.v = np.zeros(self._shape, np.float32)

    @property
    def cached(self) -> int:
        return self.k.shape[3]

    def step(self, ids: np.ndarray, barpos: np.ndarray, va: np.ndarray) -> np.ndarray:
        logits, self.k, self.v = self.session.run(None, {
            "idx": ids, "barpos": barpos, "va": va, "past_k": self.k, "past_v": self.v})
        return logits[0, -1]


@dataclass(frozen=True)
class AbcAsk:
    """What the decoding loop wants fed next: ``ids`` and ``barpos`` (T,) at absolute positions
    ``start``..``start+T-1``; ``prefill``: on an empty cache (the loop restarts from scratch);
    ``remaining``: the ticks left in the bar at the draw that follows (its candidates are
    :meth:`AbcGenerator.candidates` of it)."""

    ids: np.ndarray
    barpos: np.ndarray
    start: int
    prefill: bool
    remaining: int = 0


class AbcGenerator:
    """Bar-by-bar constrained decoding of ABC phrases that continue the previous phrase."""

    name = "abc"

    def __init__(self, backend: AbcBackend, card: dict,
                 sampling: SamplingSettings = SamplingSettings(temperature=1.0, top_p=0.95)) -> None:
        self.backend, self.card, self.sampling = backend, card, sampling
        self.vocab = Vocab(card["vocab"])
        self.block = card["config"]["block_size"]
        n = len(self.vocab)
        self.ticks = np.zeros(n, dtype=np.int64)
        self.playable = np.zeros(n, dtype=bool)
        self._masks: dict[int, np.ndarray] = {}
        self._candidates: dict[int, np.ndarray] = {}
        for i, tok in enumerate(self.vocab.tokens):
            if tok[0] in "^_=ABCDEFGabcdefgz":
                self.ticks[i] = parse_token(tok).ticks
                self.playable[i] = True

    def allowed(self, remaining: int) -> np.ndarray:
        """Mask of the tokens that may come next with ``remaining`` ticks left in the bar
        (built once per value: the decoding loop asks at every step)."""
        mask = self._masks.get(remaining)
        if mask is None:
            if remaining == 0:
                mask = np.zeros(len(self.vocab), dtype=bool)
                mask[self.vocab.bar] = True
            else:
                mask = self.playable & (self.ticks <= remaining)
            self._masks[remaining] = mask
        return mask

    def candidates(self, remaining: int) -> np.ndarray:
        """The indices :meth:`allowed` lets through, ascending (built once per value)."""
        idx = self._candidates.get(remaining)
        if idx is None:
            idx = self._candidates[remaining] = np.flatnonzero(self.allowed(remaining))
        return idx

    def _prompt(self, context: Phrase | None, meter: Meter, mode: str, budget: int) -> list[str]:
        header = self.vocab.header(meter, mode)
        body: list[str] = []
        if context is not None and context.meter == meter and context.tokens:
            bars = _split_bars(context.tokens)
            while bars and len(header) + sum(map(len, bars)) > budget:
                bars.pop(0)  # keep the most recent whole bars that fit
            body = [t for bar in bars for t in bar if t in self.vocab]
        return header + body

    def next_phrase(self, context: Phrase | None, valence: float, arousal: float, *,
                    mode: str, meter: Meter = Meter(), bars: int = 4,
                    rng: np.random.Generator) -> Phrase:
        va = np.array([[valence, arousal]], dtype=np.float32)
        decoding = self.decode(context, mode=mode, meter=meter, bars=bars, rng=rng, fuse_bar_lines=True)
        ask = next(decoding)
        try:
            while True:
                if ask.prefill:
                    self.backend.reset()
                ask = decoding.send(self.backend.step(ask.ids[None], ask.barpos[None], va))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def decode(self, context: Phrase | None, *, mode: str, meter: Meter = Meter(), bars: int = 4,
               rng: np.random.Generator, fuse_bar_lines: bool = False
               ) -> Generator[AbcAsk, np.ndarray | int, Phrase]:
        """The decoding loop, without a model: it yields what to feed (:class:`AbcAsk`), is sent
        the last position's logits, and returns the phrase. ``next_phrase`` drives it with one
        backend; :mod:`moodscore.models.batched` drives many at once in one batched graph. A
        driver that samples itself sends the token's index instead of the logits: the one
        :func:`~moodscore.models.sampling.sample_among` would draw from them among the ask's
        ``remaining`` candidates, with the next number of ``rng``, which it then takes.

        A full bar can only be followed by a bar line. With ``fuse_bar_lines`` that bar line is
        fed together with the note before it, in one call of two tokens instead of two calls
        (a step costs about the same for one token or two). The random stream and the tokens
        are those of the unfused loop: the forced draw is still taken.
        """
        if bars < 1:
            raise ConfigError(f"bars must be >= 1, got {bars}")
        prompt = self._prompt(context, meter, mode, self.block // 2)
        state = BarState(meter, key_signature(mode))
        out: list[str] = []
        given = yield self._prefill(prompt, meter, state.remaining)
        cached = len(prompt)
        done = 0
        while done < bars:
            drawn = given if isinstance(given, int) else \
                sample_among(given, self.candidates(state.remaining), rng, self.sampling)
            tok = self.vocab.tokens[drawn]
            feed = [(tok, min(state.position, HEADER_POSITION - 1))]
            if tok == BAR:
                state.bar_line()
                done += 1
            else:
                state.advance(parse_token(tok))
            out.append(tok)
            if done == bars:
                break
            if fuse_bar_lines and tok != BAR and state.remaining == 0 and done + 1 < bars:
                rng.random()  # the draw sample() takes for the forced bar line, as unfused
                feed.append((BAR, min(state.position, HEADER_POSITION - 1)))
                state.bar_line()
                done += 1
                out.append(BAR)
            if cached + len(feed) > self.block:  # out of positions: restart on this phrase
                restart = self.vocab.header(meter, mode) + out
                given = yield self._prefill(restart, meter, state.remaining)
                cached = len(restart)
                continue
            given = yield AbcAsk(np.array([self.vocab.index[t] for t, _ in feed], dtype=np.int64),
                                 np.array([p for _, p in feed], dtype=np.int64), cached, False, state.remaining)
            cached += len(feed)
        notes, _ = tokens_to_notes(out, meter, mode)
        return Phrase(notes, bars, meter, 0, mode, body_to_abc(out), out)

    def _prefill(self, prompt: list[str], meter: Meter, remaining: int) -> AbcAsk:
        ids = np.array(self.vocab.encode(prompt), dtype=np.int64)
        pos = np.array(bar_positions(prompt, meter, header=4), dtype=np.int64)
        return AbcAsk(ids, pos, 0, True, remaining)


def _split_bars(tokens: list[str]) -> list[list[str]]:
    bars, cur = [], []
    for t in tokens:
        cur.append(t)
        if t == BAR:
            bars.append(cur)
            cur = []
    return bars


class LstmBackend(Protocol):
    def reset(self) -> None: ...
    def step(self, rows: np.ndarray, va: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Feed (1, T, 3) notes; return the last position's pitch logits (128,) and (step, dur)."""


class OrtLstmBackend:
    def __init__(self, path: Path, card: dict, threads: int = 1, prefer_gpu: bool = True) -> None:
        self.session = _session(path, threads, prefer_gpu)
        c = card["config"]
        self._shape = (c["layers"], 1, c["hidden"])
        self.reset()

    def reset(self) -> None:
        self.h = np.zeros(self._shape, np.float32)
        self.c = np.zeros(self._shape, np.float32)

    def step(self, rows: np.ndarray, va: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits, timing, self.h, self.c = self.session.run(None, {
            "notes": rows, "va": va, "h": self.h, "c": self.c})
        return logits[0, -1], timing[0, -1]


_GRID = sorted(d for d in DURATIONS if d % 2 == 0)  # sixteenths and longer: even ticks


def _longest(limit: float) -> int:
    """The longest grid length of at most ``limit`` ticks (``limit`` >= 2)."""
    return _GRID[bisect.bisect_right(_GRID, limit) - 1]


def _quantize(beats: float, limit: int, rng: np.random.Generator) -> int:
    """A grid length in ticks, at most ``limit`` (>= 2), by stochastic rounding: between the two
    grid lengths around the prediction, the nearer is likelier. A regression head predicts a
    mean; rounding it always the same way would turn every rhythm into running eighths.
    (Python's bisect on a list of ints: this runs twice per note of every row.)"""
    n = bisect.bisect_right(_GRID, limit)  # the lengths allowed: _GRID[:n]
    x = beats * TICKS_PER_BEAT
    below = bisect.bisect_right(_GRID, x, 0, n)  # _GRID[:below] <= x
    above = bisect.bisect_left(_GRID, x, 0, n)  # _GRID[above:n] >= x
    if not below or above == n:
        return _GRID[0] if not below else _GRID[n - 1]
    lo, hi = _GRID[below - 1], _GRID[above]
    if lo == hi:
        return lo
    return hi if rng.random() < (x - lo) / (hi - lo) else lo


class LstmGenerator:
    """Note-by-note LSTM sampling with the emotion score mixed into the pitch logits."""

    name = "lstm"

    def __init__(self, backend: LstmBackend, card: dict,
                 sampling: SamplingSettings = SamplingSettings(temperature=1.0, top_p=0.95),
                 mix: EmotionMix = EmotionMix()) -> None:
        self.backend, self.card, self.sampling, self.mix = backend, card, sampling, mix

    def next_phrase(self, context: Phrase | None, valence: float, arousal: float, *,
                    mode: str, meter: Meter = Meter(), bars: int = 4,
                    rng: np.random.Generator) -> Phrase:
        va = np.array([[valence, arousal]], dtype=np.float32)
        decoding = self.decode(context, valence, arousal, mode=mode, meter=meter, bars=bars, rng=rng)
        rows = next(decoding)
        self.backend.reset()
        try:
            while True:
                rows = decoding.send(self.backend.step(rows[None], va))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def score(self, mode: str, valence: float, arousal: float) -> np.ndarray:
        """The emotion score mixed into every step's pitch logits (128,)."""
        return emotion_score(mode, valence, arousal, self.mix)

    def decode(self, context: Phrase | None, valence: float, arousal: float, *, mode: str,
               meter: Meter = Meter(), bars: int = 4, rng: np.random.Generator
               ) -> Generator[np.ndarray, tuple[np.ndarray | int, np.ndarray], Phrase]:
        """The sampling loop, without a model: it yields the (T, 3) note rows to feed next (the
        first from a fresh state), is sent the last position's (pitch logits, timing), and
        returns the phrase; as :meth:`AbcGenerator.decode`. A driver that samples itself sends
        (pitch, timing) instead: the pitch :func:`~moodscore.models.sampling.sample` would draw
        from the logits mixed with :meth:`score`, with the next number of ``rng``, which it
        then takes."""
        if bars < 1:
            raise ConfigError(f"bars must be >= 1, got {bars}")
        score = self.score(mode, valence, arousal)
        if context is not None and context.notes:
            rows = notes_to_steps(context.notes[-32:])
        else:
            rows = np.array([[72.0, 0.0, 1.0]], dtype=np.float32)  # a tonic to start from
        given, timing = yield rows.astype(np.float32)
        bar_ticks, end = meter.ticks, bars * meter.ticks
        onset = 0
        starts: list[int] = []
        pitches: list[int] = []
        lengths: list[int] = []
        while True:
            pitch = given if isinstance(given, int) else sample(mix_logits(given, score, self.mix), rng,
                                                                self.sampling)
            if starts:  # the step counts from the previous onset; the first note opens the phrase
                onset = starts[-1] + _quantize(float(timing[0]), end, rng)
                gap = onset - starts[-1]  # monophonic: the previous note ends by this onset
                lengths[-1] = min(lengths[-1], _longest(gap))
            if onset >= end:
                break
            bar_left = bar_ticks - onset % bar_ticks  # even: every grid length is even
            starts.append(onset)
            pitches.append(pitch)
            lengths.append(_quantize(float(timing[1]), bar_left, rng))
            step_beats = (onset - starts[-2]) / TICKS_PER_BEAT if len(starts) > 1 else 0.0
            given, timing = yield np.array([[pitch, step_beats, lengths[-1] / TICKS_PER_BEAT]], dtype=np.float32)
        notes = [Note(p, s / TICKS_PER_BEAT, d / TICKS_PER_BEAT) for p, s, d in zip(pitches, starts, lengths)]
        tokens = notes_to_tokens(notes, meter, mode, bars)
        return Phrase(notes, bars, meter, 0, mode, body_to_abc(tokens), tokens)


PRECISIONS = ("fp32", "int8")


def model_file(name: str, card: dict, folder: Path, precision: str | None = None) -> Path:
    """The graph to run: ``precision`` if given, else the card's default (fp32 without one)."""
    precision = precision or card.get("default_precision", "fp32")
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "fp32":
        return folder / f"{name}.onnx"
    variant = card.get("variants", {}).get(precision)
    if variant is None:
        raise ConfigError(f"model {name} has no {precision} variant; it has: fp32, "
                          + ", ".join(card.get("variants", {})))
    return folder / variant["file"]


def load_generator(name: str, *, folder: Path | None = None, threads: int = 1,
                   prefer_gpu: bool = True, precision: str | None = None) -> AbcGenerator | LstmGenerator:
    """The shipped (or ``folder``'s) model ``abc`` or ``lstm`` on ONNX Runtime."""
    if name not in MODELS:
        raise ConfigError(f"model must be one of {', '.join(MODELS)}, got {name!r}")
    folder = folder or weights_dir()
    card = load_card(name, folder)
    path = model_file(name, card, folder, precision)
    if name == "abc":
        return AbcGenerator(OrtAbcBackend(path, card, threads, prefer_gpu), card)
    return LstmGenerator(OrtLstmBackend(path, card, threads, prefer_gpu), card)
