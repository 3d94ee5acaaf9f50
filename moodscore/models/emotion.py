"""The LSTM's emotion score: how well each candidate pitch fits the target mood.

The seed mixes an "emotion score" into the pitch logits, ``(alpha*score + beta*logits)/T``, but
its score is one number shared by every pitch and so cancels in the softmax. Here the score
is a vector over the 128 pitches: membership of the target mode's scale, a bonus for the
tonic triad, and a pull toward a register that rises with valence and arousal. It therefore
changes which pitch is drawn. Pure numpy.

Public API: :class:`EmotionMix`, :func:`emotion_score`, :func:`mix_logits`, :func:`register_centre`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from ..music import MODE_STEPS

_PITCHES = np.arange(128)


@dataclass(frozen=True)
class EmotionMix:
    alpha: float = 1.5  # weight of the emotion score
    beta: float = 1.0  # weight of the model's own logits
    temperature: float = 1.0
    scale_weight: float = 1.0
    triad_weight: float = 0.2
    register_weight: float = 0.5  # score lost per octave away from the register centre

    def __post_init__(self) -> None:
        if self.alpha < 0 or self.beta < 0 or not self.temperature > 0:
            raise ConfigError("alpha and beta must be >= 0 and temperature > 0")


def register_centre(valence: float, arousal: float, base: float = 71.0) -> float:
    """Melody centre (MIDI pitch) in the corpus' register: brighter and more excited sit higher."""
    return base + 3.0 * valence + 2.0 * arousal


def emotion_score(mode: str, valence: float, arousal: float, mix: EmotionMix = EmotionMix()) -> np.ndarray:
    """Score of each MIDI pitch 0..127 for a C-tonic melody in ``mode`` at this mood."""
    steps = MODE_STEPS[mode]
    pc = _PITCHES % 12
    in_scale = np.isin(pc, steps).astype(np.float64)
    triad = np.isin(pc, (0, steps[2], steps[4])).astype(np.float64)
    distance = np.abs(_PITCHES - register_centre(valence, arousal)) / 12.0
    return mix.scale_weight * in_scale + mix.triad_weight * triad - mix.register_weight * distance


def mix_logits(logits: np.ndarray, score: np.ndarray, mix: EmotionMix = EmotionMix()) -> np.ndarray:
    """``(alpha*score + beta*logits) / T`` for one step's 128 pitch logits (or rows of them, with
    a score per row: elementwise, so each row is what it is alone)."""
    return (mix.alpha * score + mix.beta * logits) / mix.temperature
