"""Training loops for the ABC transformer and the LSTM, on the corpus of ``moodscore data``.

Both loops are seeded, show a progress bar, draw tunes so that each quadrant is equally
likely, report validation loss, stop on a step or wall-clock budget, and keep the best
checkpoint (``<name>.pt``: weights, config, vocabulary, data summary, timings). Needs torch.

Public API: :func:`train_abc`, :func:`train_lstm`, :class:`TrainSettings`.
"""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..music import Meter, notes_to_steps
from . import corpus as corpus_mod
from .abc import tokens_to_notes
from .labels import quadrant_weights
from .lstm import LstmConfig, MelodyLstm
from .transformer import AbcConfig, AbcTransformer
from .vocab import Vocab, bar_positions

try:
    from tqdm import tqdm
except ImportError:  # tqdm comes with the train extra; keep a plain loop otherwise
    def tqdm(it, **_):  # type: ignore[no-redef]
        return it


@dataclass
class TrainSettings:
    steps: int = 4000
    minutes: float = 60.0
    batch_size: int = 32
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup: int = 100
    weight_decay: float = 0.1
    eval_every: int = 250
    eval_batches: int = 20
    seed: int = 1234
    threads: int = 2


def _setup(settings: TrainSettings) -> np.random.Generator:
    torch.manual_seed(settings.seed)
    random.seed(settings.seed)
    torch.set_num_threads(settings.threads)
    return np.random.default_rng(settings.seed)


def _lr(step: int, s: TrainSettings, elapsed: float) -> float:
    """Linear warm-up, then a cosine to ``min_lr`` over whichever budget (steps, time) ends first."""
    if step < s.warmup:
        return s.lr * (step + 1) / s.warmup
    ratio = min(1.0, max(step / s.steps, elapsed / (s.minutes * 60)))
    return s.min_lr + 0.5 * (1 + math.cos(math.pi * ratio)) * (s.lr - s.min_lr)


class AbcBatches:
    """Random windows of tunes as (idx, barpos, va, targets) tensors, header always kept."""

    def __init__(self, tunes: list, vocab: Vocab, window: int, rng: np.random.Generator) -> None:
        self.vocab, self.window, self.rng = vocab, window, rng
        self.items = []
        for t in tunes:
            if not all(tok in vocab for tok in t.tokens):
                continue
            header = vocab.header(t.meter, t.mode)
            seq = header + t.tokens + ["<eos>"]
            self.items.append((vocab.encode(seq),
                               bar_positions(seq, Meter.parse(t.meter), header=len(header)),
                               (t.valence, t.arousal), t))
        self.weights = quadrant_weights([it[3] for it in self.items])

    def batch(self, size: int) -> tuple[torch.Tensor, ...]:
        picks = self.rng.choice(len(self.items), size=size, p=self.weights)
        rows = []
        for k in picks:
            ids, bp, mood, _ = self.items[k]
            if len(ids) > self.window + 1:  # crop at a bar line, keep the 4 header tokens
                last = len(ids) - self.window + 3
                bars = [i + 1 for i, tok in enumerate(ids) if tok == self.vocab.bar and i + 1 < last]
                start = int(self.rng.choice(bars)) if bars else 4
                ids = ids[:4] + ids[start:start + self.window - 3]
                bp = bp[:4] + bp[start:start + self.window - 3]
            rows.append((ids, bp, mood))
        T = max(len(ids) for ids, _, _ in rows)  # pad to the longest row, not the block
        idx = np.zeros((size, T), dtype=np.int64)
        pos = np.full((size, T), 64, dtype=np.int64)
        va = np.zeros((size, 2), dtype=np.float32)
        for row, (ids, bp, mood) in enumerate(rows):
            idx[row, :len(ids)] = ids
            pos[row, :len(bp)] = bp
            va[row] = mood
        x = torch.from_numpy(idx)
        return x[:, :-1], torch.from_numpy(pos[:, :-1]), torch.from_numpy(va), x[:, 1:]


def _loop(model, batches, valid, settings: TrainSettings, out: Path, name: str, extra: dict) -> dict:
    opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay,
                            betas=(0.9, 0.95))
    start = time.time()
    best = float("inf")
    history = []
    deadline = start + settings.minutes * 60
    bar = tqdm(range(settings.steps), desc=f"train {name}", unit="step")
    step = 0
    for step in bar:
        lr = _lr(step, settings, time.time() - start)
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        loss = model.loss(*batches.batch(settings.batch_size))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{lr:.1e}")
        last = step == settings.steps - 1 or time.time() > deadline
        if step % settings.eval_every == 0 or last:
            val = _evaluate(model, valid, settings)
            history.append({"step": step, "train_loss": round(loss.item(), 4),
                            "valid_loss": round(val, 4), "minutes": round((time.time() - start) / 60, 2)})
            print(json.dumps(history[-1]), flush=True)
            if val < best:
                best = val
                _save(model, out / f"{name}.pt", {**extra, "history": history, "valid_loss": val,
                                                   "steps": step + 1,
                                                   "train_seconds": round(time.time() - start, 1),
                                                   "settings": asdict(settings)})
        if last:
            break
    ckpt = torch.load(out / f"{name}.pt", weights_only=False)
    ckpt["history"] = history  # the full curve, also past the best step
    ckpt["train_seconds"] = round(time.time() - start, 1)
    torch.save(ckpt, out / f"{name}.pt")
    return {"best_valid_loss": best, "steps": step + 1, "seconds": ckpt["train_seconds"]}


@torch.no_grad()
def _evaluate(model, valid, settings: TrainSettings) -> float:
    model.eval()
    state = torch.random.get_rng_state()
    rng = np.random.default_rng(0)  # the same validation windows every time
    saved, valid.rng = valid.rng, rng
    losses = [model.loss(*valid.batch(settings.batch_size)).item() for _ in range(settings.eval_batches)]
    valid.rng = saved
    torch.random.set_rng_state(state)
    return float(np.mean(losses))


def _save(model, path: Path, meta: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"model_args": model.cfg.to_dict(), "model": model.state_dict(), **meta}, tmp)
    tmp.replace(path)


def _summary(data_dir: Path) -> dict:
    path = data_dir / "summary.json"
    return json.loads(path.read_text()) if path.exists() else {}


def train_abc(data_dir: Path, out: Path, settings: TrainSettings, cfg: AbcConfig | None = None) -> dict:
    rng = _setup(settings)
    tunes = corpus_mod.load(data_dir / "corpus.jsonl")
    train = [t for t in tunes if t.split == "train"]
    valid = [t for t in tunes if t.split == "valid"]
    vocab = Vocab.build((t.tokens for t in train), (t.meter for t in tunes))
    cfg = cfg or AbcConfig()
    cfg.vocab_size = len(vocab)
    model = AbcTransformer(cfg)
    print(f"abc transformer: {model.num_params():,} parameters, vocabulary {len(vocab)}", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    tb, vb = AbcBatches(train, vocab, cfg.window, rng), AbcBatches(valid, vocab, cfg.window, rng)
    extra = {"vocab": vocab.tokens, "data": _summary(data_dir), "parameters": model.num_params(),
             "train_tunes": len(tb.items), "valid_tunes": len(vb.items)}
    return _loop(model, tb, vb, settings, out, "abc", extra)


class LstmBatches:
    """Windows of (pitch, step, duration) triples with the tune's mood."""

    def __init__(self, tunes: list, window: int, rng: np.random.Generator) -> None:
        self.window, self.rng = window, rng
        self.items = []
        for t in tunes:
            notes, _ = tokens_to_notes(t.tokens, Meter.parse(t.meter), t.mode)
            steps = notes_to_steps(notes)
            if len(steps) >= 8:
                self.items.append((steps, (t.valence, t.arousal), t))
        self.weights = quadrant_weights([it[2] for it in self.items])

    def batch(self, size: int) -> tuple[torch.Tensor, ...]:
        picks = self.rng.choice(len(self.items), size=size, p=self.weights)
        W = self.window
        seq = np.zeros((size, W + 1, 3), dtype=np.float32)
        mask = np.zeros((size, W), dtype=np.float32)
        va = np.zeros((size, 2), dtype=np.float32)
        for row, k in enumerate(picks):
            steps, mood, _ = self.items[k]
            start = int(self.rng.integers(0, max(1, len(steps) - W - 1) + 1))
            chunk = steps[start:start + W + 1]
            seq[row, :len(chunk)] = chunk
            mask[row, :len(chunk) - 1] = 1
            va[row] = mood
        x = torch.from_numpy(seq)
        return x[:, :-1], torch.from_numpy(va), x[:, 1:], torch.from_numpy(mask)


def train_lstm(data_dir: Path, out: Path, settings: TrainSettings, cfg: LstmConfig | None = None) -> dict:
    rng = _setup(settings)
    tunes = corpus_mod.load(data_dir / "corpus.jsonl")
    cfg = cfg or LstmConfig()
    model = MelodyLstm(cfg)
    print(f"lstm: {model.num_params():,} parameters", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    tb = LstmBatches([t for t in tunes if t.split == "train"], cfg.window, rng)
    vb = LstmBatches([t for t in tunes if t.split == "valid"], cfg.window, rng)
    extra = {"data": _summary(data_dir), "parameters": model.num_params(),
             "train_tunes": len(tb.items), "valid_tunes": len(vb.items)}
    return _loop(model, tb, vb, settings, out, "lstm", extra)
