"""Chord recognition from MIDI notes, as a listener follows the harmony beat by beat.

Each beat's duration-weighted pitch classes, the lowest note counted half again, are matched
against major, minor, diminished, dominant-seventh and minor-seventh chords on every root; a
beat keeps the chord before it unless another explains it clearly better (a passing tone in
the bass or a suspension is no change of harmony). Pure: notes in, chords out.

Public API: :class:`RecognisedChord`, :func:`recognise_chords`, :func:`quality_balance`,
:func:`bar_length`, :func:`beat_length`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import mido
import numpy as np

if TYPE_CHECKING:  # the note type of moodscore.analysis, which imports this module
    from ..analysis import _Note

__all__ = ["RecognisedChord", "bar_length", "beat_length", "quality_balance", "recognise_chords"]

_QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "7": (0, 4, 7, 10), "m7": (0, 3, 7, 10),
}
_TRIAD = {"maj": "maj", "min": "min", "dim": "dim", "7": "maj", "m7": "min"}
_SEVENTH_COST = 0.15  # a seventh chord must explain clearly more than its triad to be chosen
_BASS_WEIGHT = 0.5  # the lowest sounding note counts this much again
_HYSTERESIS = 0.2  # how much better (in share of the beat's weight) a new chord must explain it
_EPS = 1e-9


@dataclass(frozen=True)
class RecognisedChord:
    start: float  # beats
    end: float
    root: int  # pitch class
    quality: str  # a key of _QUALITIES

    @property
    def pitch_classes(self) -> frozenset[int]:
        return frozenset((self.root + i) % 12 for i in _QUALITIES[self.quality])

    @property
    def triad(self) -> tuple[int, str]:
        return self.root, _TRIAD[self.quality]


def bar_length(mid: mido.MidiFile) -> float:
    for msg in mido.merge_tracks(mid.tracks):
        if msg.type == "time_signature":
            return msg.numerator * 4.0 / msg.denominator
    return 4.0


def beat_length(bar: float) -> float:
    """Compound meters (6/8, 9/8, 12/8) beat in dotted quarters, others in quarters or halves."""
    eighths = round(bar * 2)
    if eighths % 3 == 0 and eighths > 3:
        return 1.5
    return 1.0


def _score(weights: np.ndarray, total: float, root: int, quality: str) -> float:
    ivs = _QUALITIES[quality]
    pcs = [(root + i) % 12 for i in ivs]
    if len(ivs) == 4 and weights[pcs[3]] <= 0.1 * total:
        return -np.inf  # no audible seventh: the triad
    score = (2 * weights[pcs].sum() - total) / total - (_SEVENTH_COST if len(ivs) == 4 else 0.0)
    return float(score + 0.05 * weights[root] / total)  # the root present breaks ties (C6 vs Am7)


def _best_chord(weights: np.ndarray, previous: tuple[int, str] | None = None) -> tuple[int, str] | None:
    """The best-matching chord; the previous one stays unless another is clearly better
    (a passing tone in the bass or a suspension is no change of harmony)."""
    total = float(weights.sum())
    if total <= _EPS:
        return None
    best, best_score = None, -np.inf
    for quality in _QUALITIES:
        for root in range(12):
            score = _score(weights, total, root, quality)
            if score > best_score + _EPS:
                best, best_score = (root, quality), score
    if previous is not None and best != previous and \
            _score(weights, total, *previous) >= best_score - _HYSTERESIS:
        return previous
    return best


def recognise_chords(notes: list[_Note], beat: float, end: float) -> list[RecognisedChord]:
    """The chord of each beat of ``notes`` up to ``end`` (beats), equal neighbours merged; a
    beat where nothing sounds keeps the chord before it."""
    n = int(np.ceil(end / beat - _EPS))
    chords: list[RecognisedChord] = []
    starts = sorted(notes, key=lambda x: x.start_beat)
    j = 0
    active: list[_Note] = []
    for k in range(n):
        lo, hi = k * beat, (k + 1) * beat
        while j < len(starts) and starts[j].start_beat < hi - _EPS:
            active.append(starts[j])
            j += 1
        active = [x for x in active if x.end_beat > lo + _EPS]
        weights = np.zeros(12)
        lowest: _Note | None = None
        for x in active:
            overlap = min(hi, x.end_beat) - max(lo, x.start_beat)
            if overlap > _EPS:
                weights[x.pitch % 12] += overlap
                if lowest is None or x.pitch < lowest.pitch:
                    lowest = x
        if lowest is not None:
            weights[lowest.pitch % 12] += _BASS_WEIGHT * (min(hi, lowest.end_beat) - max(lo, lowest.start_beat))
        found = _best_chord(weights, (chords[-1].root, chords[-1].quality) if chords else None)
        if found is None:
            if chords:
                last = chords[-1]
                chords[-1] = RecognisedChord(last.start, hi, last.root, last.quality)
            continue
        root, quality = found
        if chords and chords[-1].root == root and chords[-1].quality == quality:
            last = chords[-1]
            chords[-1] = RecognisedChord(last.start, hi, root, quality)
        else:
            chords.append(RecognisedChord(lo, hi, root, quality))
    return chords


def quality_balance(chords: Sequence[RecognisedChord]) -> float | None:
    """(time on major chords - time on minor and diminished ones) / their sum, in [-1, 1]:
    how bright the harmony sounds, whatever the key. None without chords."""
    major = sum(c.end - c.start for c in chords if _TRIAD[c.quality] == "maj")
    minor = sum(c.end - c.start for c in chords if _TRIAD[c.quality] in ("min", "dim"))
    total = major + minor
    return (major - minor) / total if total > _EPS else None
