"""Expression probabilities -> one point on the valence/arousal plane.

Each of the seven expression classes sits at a fixed (valence, arousal) point of the
pleasure-arousal plane of Russell's circumplex; a frame's mood is the probability-weighted mean
of those points, so an uncertain face lands between its candidate expressions, and a confident
one on its class. The points are the pleasure and arousal scale values (each in [-1, 1]) of the
matching emotion terms in Russell & Mehrabian (1977), "Evidence for a three-factor theory of
emotions", Journal of Research in Personality 11, 273-294, as tabulated in the affective-computing
literature (the same values give the basic emotions' positions in e.g. Gebhard's ALMA, 2005).
Neutral is the origin by definition: a neutral face asks for no mood at all.

Public API: ``COORDINATES``, :func:`to_valence_arousal`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from .expression import LABELS

#: class -> (valence, arousal); term used: angry, disgusted, afraid, happy, sad, surprised
COORDINATES: dict[str, tuple[float, float]] = {
    "angry": (-0.51, 0.59),
    "disgust": (-0.60, 0.35),
    "fear": (-0.64, 0.60),
    "happy": (0.81, 0.51),
    "sad": (-0.63, -0.27),
    "surprise": (0.40, 0.67),
    "neutral": (0.0, 0.0),
}


def to_valence_arousal(probabilities: Sequence[float]) -> tuple[float, float] | None:
    """The probability-weighted (valence, arousal), in [-1, 1] each; None when the row is not
    usable (wrong length, a non-finite or negative entry, or all zero).

    The row is renormalised, so a classifier whose outputs sum to slightly off 1 (float32
    softmax) still gives a point inside the hull of the table."""
    if len(probabilities) != len(LABELS):
        return None
    ps = [float(p) for p in probabilities]
    if not all(math.isfinite(p) and p >= 0.0 for p in ps):
        return None
    total = sum(ps)
    if total <= 0.0:
        return None
    v = sum(p * COORDINATES[label][0] for p, label in zip(ps, LABELS)) / total
    a = sum(p * COORDINATES[label][1] for p, label in zip(ps, LABELS)) / total
    return max(-1.0, min(1.0, v)), max(-1.0, min(1.0, a))
