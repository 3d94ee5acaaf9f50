"""Sampling from logits: temperature, top-k and top-p over a seeded numpy Generator.

Masked-out tokens carry ``-inf`` and can never be drawn, whatever the settings. Pure numpy.

Public API: :class:`SamplingSettings`, :func:`sample`, :func:`sample_among`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError


@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 1.0
    top_k: int = 0  # 0 keeps every token
    top_p: float = 0.95  # 1.0 keeps every token

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ConfigError(f"temperature must be > 0, got {self.temperature}")
        if self.top_k < 0:
            raise ConfigError(f"top_k must be >= 0 (0 = off), got {self.top_k}")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p}")


def sample(logits: np.ndarray, rng: np.random.Generator, s: SamplingSettings = SamplingSettings()) -> int:
    """Draw one index from 1-D ``logits``; at least one entry must be finite.

    Only the finite entries are ranked (a constrained step masks most of the vocabulary), and
    the draw is one uniform number against the cumulative distribution.
    """
    idx = np.flatnonzero(np.isfinite(logits))
    return _draw(idx, logits[idx], rng, s)


def sample_among(logits: np.ndarray, candidates: np.ndarray, rng: np.random.Generator,
                 s: SamplingSettings = SamplingSettings()) -> int:
    """The draw of :func:`sample` from ``logits`` with every index not in ``candidates`` (ascending)
    masked to ``-inf``, without building the masked copy: the same index for the same stream."""
    z = logits[candidates]
    finite = np.isfinite(z)
    if not finite.all():
        candidates, z = candidates[finite], z[finite]
    return _draw(candidates, z, rng, s)


def _draw(idx: np.ndarray, z: np.ndarray, rng: np.random.Generator, s: SamplingSettings) -> int:
    z = z.astype(np.float64) / s.temperature
    order = np.argsort(-z, kind="stable")
    idx, z = idx[order], z[order]
    if s.top_k and s.top_k < z.size:
        idx, z = idx[: s.top_k], z[: s.top_k]
    p = np.exp(z - z[0])
    cum = np.cumsum(p)
    if s.top_p < 1.0:
        keep = int(np.searchsorted(cum, s.top_p * cum[-1])) + 1  # smallest set reaching top_p
        cum = cum[:keep]
    return int(idx[min(int(np.searchsorted(cum, rng.random() * cum[-1], side="right")), cum.size - 1)])
