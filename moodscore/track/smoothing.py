"""Smooth a noisy per-frame mood over time; hold it, then let it fade, when no face is seen.

Exponential smoothing towards each observation with a time constant in seconds: a step of
``dt`` moves the mood by ``1 - exp(-dt / smoothing_s)`` of the way, so the result depends on
elapsed time, not on the frame rate (ten frames of 0.01 s land where one of 0.1 s does).
Without a face the last mood is held for ``hold_s``, then decays exponentially towards neutral
(0, 0) with time constant ``decay_s``, computed from the moment the face was lost, so again
independent of how many frames pass meanwhile. Before the first face there is no mood (None):
nothing is known, so nothing should be sent. Output is always finite and within [-1, 1].

Pure: times are given by the caller.

Public API: :class:`MoodSmoother`.
"""
from __future__ import annotations

import math

from .settings import TrackSettings

Mood = tuple[float, float]


def _clamp(x: float) -> float:
    return max(-1.0, min(1.0, x))


class MoodSmoother:
    def __init__(self, settings: TrackSettings | None = None) -> None:
        s = settings or TrackSettings()
        self.smoothing_s, self.hold_s, self.decay_s = s.smoothing_s, s.hold_s, s.decay_s
        self.mood: Mood | None = None
        self._t: float | None = None  # time of the last update
        self._seen: float | None = None  # time of the last observation
        self._held: Mood | None = None  # the mood when the face was last seen

    def update(self, t: float, observed: Mood | None) -> Mood | None:
        """Advance to time ``t`` (seconds) with this frame's mood, or None for no face."""
        dt = 0.0 if self._t is None else max(0.0, t - self._t)  # a clock that steps back: no time
        self._t = max(t, self._t) if self._t is not None else t
        if observed is not None and not all(math.isfinite(x) for x in observed):
            observed = None  # never let a NaN in: treat it as a frame without a face
        if observed is not None:
            target = (_clamp(observed[0]), _clamp(observed[1]))
            if self.mood is None or self.smoothing_s == 0.0:
                self.mood = target
            else:
                k = 1.0 - math.exp(-dt / self.smoothing_s)
                self.mood = tuple(m + k * (o - m) for m, o in zip(self.mood, target))  # type: ignore[assignment]
            self._seen, self._held = self._t, self.mood
        elif self._held is not None and self._seen is not None:
            fading = self._t - self._seen - self.hold_s
            if fading <= 0.0:
                self.mood = self._held
            else:
                f = 0.0 if self.decay_s == 0.0 else math.exp(-fading / self.decay_s)
                self.mood = (self._held[0] * f, self._held[1] * f)
        return self.mood

    def since_face(self) -> float | None:
        """Seconds since a face was last seen (None before the first)."""
        return None if self._seen is None or self._t is None else self._t - self._seen
