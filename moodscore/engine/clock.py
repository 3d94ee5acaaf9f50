"""The musical clock: a tempo map from beats to seconds and back.

Tempo is piecewise constant, changing only on beat boundaries; the conductor sets each beat's
tempo from the mood as it schedules it, so a gliding mood gives a smooth accelerando or
ritardando. Old segments are pruned so a session of hours keeps a short map. Pure.

Public API: :class:`TempoMap`.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field


@dataclass
class TempoMap:
    """Segments (start beat, start time, bpm), sorted by beat."""

    bpm: float = 120.0
    origin: float = 0.0  # the time of beat 0
    _beats: list[float] = field(default_factory=list)
    _times: list[float] = field(default_factory=list)
    _bpms: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._beats, self._times, self._bpms = [0.0], [self.origin], [self.bpm]

    def _segment_for_beat(self, beat: float) -> int:
        if beat >= self._beats[-1]:  # the segment in force: most lookups
            return len(self._beats) - 1
        return max(0, bisect.bisect_right(self._beats, beat) - 1)

    def time_at(self, beat: float) -> float:
        beats = self._beats
        i = len(beats) - 1  # the segment in force, as in _segment_for_beat (inlined: most called)
        if beat < beats[i]:
            i = max(0, bisect.bisect_right(beats, beat) - 1)
        return self._times[i] + (beat - beats[i]) * 60.0 / self._bpms[i]

    def beat_at(self, time: float) -> float:
        i = max(0, bisect.bisect_right(self._times, time) - 1)
        return self._beats[i] + (time - self._times[i]) * self._bpms[i] / 60.0

    def tempo_at(self, beat: float) -> float:
        return self._bpms[self._segment_for_beat(beat)]

    def set_tempo(self, beat: float, bpm: float) -> None:
        """From ``beat`` on, play at ``bpm`` (later changes are dropped)."""
        if not bpm > 0:
            raise ValueError(f"bpm must be > 0, got {bpm}")
        t = self.time_at(beat)
        i = bisect.bisect_left(self._beats, beat)
        del self._beats[i:], self._times[i:], self._bpms[i:]
        if self._bpms and self._bpms[-1] == bpm:
            return
        self._beats.append(beat)
        self._times.append(t)
        self._bpms.append(bpm)

    def prune(self, before_beat: float) -> None:
        """Forget segments that ended before ``before_beat`` (keep the one in force)."""
        i = self._segment_for_beat(before_beat)
        if i > 0:
            del self._beats[:i], self._times[:i], self._bpms[:i]

    def __len__(self) -> int:
        return len(self._beats)
