"""Valence-arousal labels for the corpus, after EMusicGen's Rough4Q seed method.

Valence comes from the mode (major-like modes positive, minor-like negative); its size within
each sign is ordered by register. Arousal comes from the spread of pitches, with rhythmic
density and the tune type (reel/jig/hornpipe against air/slow) as further evidence. Both are
calibrated on the corpus by rank: arousal is uniform on [-1, 1] within major-like and within
minor-like tunes (so its median splits each half of the plane in two), valence is uniform on
[0.2, 1] within major-like tunes and [-1, -0.2] within minor-like ones. Pure numpy.

Public API: :func:`tune_features`, :func:`label_tunes`, :func:`quadrant`, :func:`summarise`,
``MODE_VALENCE``, ``FAST_WORDS``, ``SLOW_WORDS``.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

from ..music import Meter
from .abc import tokens_to_notes

if TYPE_CHECKING:
    from .corpus import Tune

MODE_VALENCE = {"lyd": 1.0, "maj": 1.0, "mix": 0.5, "dor": -0.5, "min": -1.0, "phr": -1.0,
                "loc": -1.0}
FAST_WORDS = ("reel", "jig", "hornpipe", "polka", "slide", "fling", "quick", "lively", "brisk",
              "allegro", "presto", "vivace", "gallop", "rant", "strathspey", "cheer", "spirit",
              "merr", "fast", "vigor")
SLOW_WORDS = ("air", "slow", "lament", "lullaby", "plaintive", "andante", "adagio", "largo",
              "larghetto", "dirge", "mournful", "tenderly", "cradle", "sad", "sorrow", "gently",
              "expressi")
# A tempo or tune-type word outweighs what the notation suggests: slow airs are often written
# in sixteenths, which look dense and wide on paper.
TYPE_WEIGHT = 2.5
VALENCE_FLOOR = 0.2


def tune_features(tune: "Tune") -> dict[str, float]:
    """Pitch spread, register, density and tune-type evidence of one tune."""
    notes, bars = tokens_to_notes(tune.tokens, Meter.parse(tune.meter), tune.mode)
    pitches = np.array([n.pitch for n in notes], dtype=float)
    beats = bars * Meter.parse(tune.meter).beats
    words = tune.notes_text
    fast = any(w in words for w in FAST_WORDS)
    slow = any(w in words for w in SLOW_WORDS)
    return {
        "pitch_std": float(pitches.std()) if len(pitches) else 0.0,
        "mean_pitch": float(pitches.mean()) if len(pitches) else 60.0,
        "notes_per_beat": len(notes) / beats if beats else 0.0,
        "type": float(fast) - float(slow),
        "bars": float(bars),
    }


def _zscore(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


def _rank01(x: np.ndarray) -> np.ndarray:
    """Ranks scaled to [0, 1], ties broken by order (stable)."""
    if len(x) == 1:
        return np.full(1, 0.5)
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x))
    return ranks / (len(x) - 1)


def quadrant(valence: float, arousal: float) -> int:
    """Russell quadrant: 1 = V+A+, 2 = V-A+, 3 = V-A-, 4 = V+A-."""
    if valence >= 0:
        return 1 if arousal >= 0 else 4
    return 2 if arousal >= 0 else 3


def arousal_evidence(feats: list[dict[str, float]]) -> np.ndarray:
    spread = _zscore(np.array([f["pitch_std"] for f in feats]))
    density = _zscore(np.log(np.array([max(f["notes_per_beat"], 1e-3) for f in feats])))
    kind = np.array([f["type"] for f in feats])
    return spread + density + TYPE_WEIGHT * kind


def label_tunes(tunes: list["Tune"]) -> None:
    """Fill ``features``, ``valence``, ``arousal`` and ``quadrant`` of every tune, in place."""
    feats = [tune_features(t) for t in tunes]
    base = np.array([MODE_VALENCE[t.mode] for t in tunes])
    evidence = arousal_evidence(feats)
    arousal = np.zeros(len(tunes))
    register = _zscore(np.array([f["mean_pitch"] for f in feats]))
    strength = np.abs(base) + 0.25 * np.sign(base) * register
    valence = np.zeros(len(tunes))
    for sign in (1.0, -1.0):
        idx = np.flatnonzero(np.sign(base) == sign)
        if len(idx):
            valence[idx] = sign * (VALENCE_FLOOR + (1 - VALENCE_FLOOR) * _rank01(strength[idx]))
            arousal[idx] = 2.0 * _rank01(evidence[idx]) - 1.0
    for tune, f, v, a in zip(tunes, feats, valence, arousal):
        tune.features = f
        tune.valence = round(float(v), 4)
        tune.arousal = round(float(a), 4)
        tune.quadrant = quadrant(tune.valence, tune.arousal)


def quadrant_weights(tunes: list["Tune"]) -> np.ndarray:
    """Sampling weight per tune so that each quadrant is drawn equally often."""
    counts = Counter(t.quadrant for t in tunes)
    w = np.array([1.0 / counts[t.quadrant] for t in tunes])
    return w / w.sum()


def summarise(tunes: list["Tune"]) -> dict:
    """Label distribution and the mean features of each quadrant."""
    v = np.array([t.valence for t in tunes])
    a = np.array([t.arousal for t in tunes])
    per_q: dict[str, dict[str, float]] = {}
    for q in (1, 2, 3, 4):
        sel = [t for t in tunes if t.quadrant == q]
        if not sel:
            continue
        per_q[f"Q{q}"] = {
            "tunes": len(sel),
            "share": round(len(sel) / len(tunes), 4),
            **{k: round(float(np.mean([t.features[k] for t in sel])), 3)
               for k in ("pitch_std", "notes_per_beat", "mean_pitch", "type")},
        }
    edges = np.linspace(-1, 1, 11)
    return {
        "tunes": len(tunes),
        "quadrants": per_q,
        "modes": dict(Counter(t.mode for t in tunes).most_common()),
        "meters": dict(Counter(t.meter for t in tunes).most_common()),
        "valence_histogram": np.histogram(v, edges)[0].tolist(),
        "arousal_histogram": np.histogram(a, edges)[0].tolist(),
        "histogram_edges": [round(float(e), 2) for e in edges],
        "tokens": int(sum(len(t.tokens) for t in tunes)),
        "mean_tokens_per_tune": round(sum(len(t.tokens) for t in tunes) / len(tunes), 1),
        "valence_arousal_correlation": round(float(np.corrcoef(v, a)[0, 1]), 3)
        if len(tunes) > 2 else math.nan,
    }
