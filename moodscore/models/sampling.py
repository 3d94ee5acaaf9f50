"""Sampling from logits: temperature, top-k and top-p over a seeded numpy Generator.

Masked-out tokens carry ``-inf`` and can never be drawn, whatever the settings. Pure numpy.

Public API: :class:`SamplingSettings`, :func:`sample`.
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
    """Draw one index from 1-D ``logits``; at least one entry must be finite."""
    z = logits.astype(np.float64) / s.temperature
    if s.top_k and s.top_k < z.size:
        kth = np.partition(z, -s.top_k)[-s.top_k]
        z = np.where(z < kth, -np.inf, z)
    z = z - z.max()
    p = np.exp(z)
    p /= p.sum()
    if s.top_p < 1.0:
        order = np.argsort(-p, kind="stable")
        cum = np.cumsum(p[order])
        keep = order[: int(np.searchsorted(cum, s.top_p)) + 1]  # smallest set reaching top_p
        q = np.zeros_like(p)
        q[keep] = p[keep]
        p = q / q.sum()
    return int(rng.choice(p.size, p=p))
