"""Sampling from logits: temperature, top-k and top-p over a seeded numpy Generator.

Masked-out tokens carry ``-inf`` and can never be drawn, whatever the settings. Pure numpy.

Public API: :class:`SamplingSettings`, :func:`sample`, :func:`sample_among`, :func:`sample_rows`
(the draw of :func:`sample_among` for many rows at once, each with its own uniform number).
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


def sample_rows(logits: np.ndarray, allowed: np.ndarray, u: np.ndarray,
                s: SamplingSettings = SamplingSettings()) -> np.ndarray:
    """Row ``j``'s index is the one :func:`sample_among` draws from ``logits[j]`` (n, V) among the
    indices ``allowed[j]`` (n, V) lets through, had its stream's ``random()`` given ``u[j]``: the
    same ranking (stable, ties by index), the same sums in the same order (the masked-out tokens
    add exact zeros after them), so the same index, for every row in a few numpy calls."""
    cols = np.flatnonzero(allowed.any(axis=0))  # the tokens some row may draw, ascending
    picked = logits[:, cols]
    keep_cols = allowed[:, cols] & np.isfinite(picked)
    picked = np.where(keep_cols, picked, picked.dtype.type(-np.inf))
    if picked.dtype == np.float32 and s.temperature == 1.0:
        order = _descending(picked)  # float64 of a float32 keeps its order: the same ranking
        z = picked.astype(np.float64)
    else:
        z = picked.astype(np.float64) / s.temperature
        order = np.argsort(-z, axis=1, kind="stable")
    z = np.take_along_axis(z, order, axis=1)
    width = z.shape[1]
    if s.top_k and s.top_k < width:
        z[:, s.top_k:] = -np.inf
    cum = np.cumsum(np.exp(z - z[:, :1]), axis=1)
    if s.top_p < 1.0:
        keep = (cum < s.top_p * cum[:, -1:]).sum(axis=1) + 1  # searchsorted, left
    else:
        keep = np.isfinite(z).sum(axis=1)
    rows = np.arange(len(z))
    threshold = u * cum[rows, keep - 1]
    inside = np.arange(width)[None, :] < keep[:, None]
    pos = np.minimum(((cum <= threshold[:, None]) & inside).sum(axis=1), keep - 1)  # searchsorted, right
    return cols[order[rows, pos]]  # type: ignore[no-any-return]


def _descending(z: np.ndarray) -> np.ndarray:
    """``np.argsort(-z, axis=1, kind="stable")`` of float32 ``z`` (no NaN): each value's bits as an
    integer of the same order, above its index, so one plain sort of distinct int64 keys ranks
    by value, then by index (a few times faster than the stable sort of floats)."""
    bits = (z + np.float32(0.0)).view(np.int32).astype(np.int64)  # + 0: -0.0 ties with 0.0
    ordered = np.where(bits >= 0, bits, bits ^ 0x7FFFFFFF)  # ascending as the floats are
    keys = (-ordered << 32) | np.arange(z.shape[1], dtype=np.int64)
    keys.sort(axis=1)
    return keys & 0xFFFFFFFF  # type: ignore[no-any-return]
