"""The emotion state: where the mood is now and where it is heading, like an RTPC with slew.

A new target replaces the old one (a 60 fps tracker coalesces into the latest value, never a
queue); the current value moves linearly from where it was when the target arrived to the
target over the glide time. Values are clamped to [-1, 1]. Pure: times are given by the caller.

Public API: :class:`MoodState`, :class:`Level`.
"""
from __future__ import annotations

from dataclasses import dataclass


def _clamp(x: float) -> float:
    return max(-1.0, min(1.0, x))


@dataclass
class MoodState:
    default_glide: float = 1.0  # seconds
    _from: tuple[float, float] = (0.0, 0.0)
    _to: tuple[float, float] = (0.0, 0.0)
    _t0: float = 0.0
    _glide: float = 0.0
    updates: int = 0  # targets received
    coalesced: int = 0  # targets replaced before they were reached

    def at(self, now: float) -> tuple[float, float]:
        """The (valence, arousal) sounding at time ``now``."""
        if self._glide <= 0 or now >= self._t0 + self._glide:
            return self._to
        r = max(0.0, (now - self._t0) / self._glide)
        return tuple(a + (b - a) * r for a, b in zip(self._from, self._to))  # type: ignore[return-value]

    @property
    def target(self) -> tuple[float, float]:
        return self._to

    def settled(self, now: float) -> bool:
        return self.at(now) == self._to

    def set(self, now: float, valence: float | None = None, arousal: float | None = None,
            glide: float | None = None) -> None:
        """Head for a new target; an axis left as None keeps its current target."""
        current = self.at(now)
        if not self.settled(now):
            self.coalesced += 1
        v = self._to[0] if valence is None else _clamp(valence)
        a = self._to[1] if arousal is None else _clamp(arousal)
        self._from, self._to, self._t0 = current, (v, a), now
        self._glide = self.default_glide if glide is None else max(0.0, glide)
        self.updates += 1


@dataclass
class Level:
    """A control in [0, 1] with the same glide, such as the intensity: until it is first set it
    follows a default the caller gives (the intensity follows the arousal)."""

    default_glide: float = 1.0
    _from: float = 0.0
    _to: float | None = None
    _t0: float = 0.0
    _glide: float = 0.0

    def at(self, now: float, default: float) -> float:
        if self._to is None:
            return default
        if self._glide <= 0 or now >= self._t0 + self._glide:
            return self._to
        r = max(0.0, (now - self._t0) / self._glide)
        return self._from + (self._to - self._from) * r

    @property
    def target(self) -> float | None:
        return self._to

    def set(self, now: float, value: float, glide: float | None, default: float) -> None:
        """Head for ``value`` from wherever the level is at ``now``."""
        self._from = self.at(now, default)
        self._to = max(0.0, min(1.0, value))
        self._t0 = now
        self._glide = self.default_glide if glide is None else max(0.0, glide)
