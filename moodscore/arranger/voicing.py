"""Voicing: chords as notes for a pad or comping part, moving as little as they can.

Public API: :func:`voice_chords`.
"""
from __future__ import annotations

import itertools
from functools import lru_cache
from typing import Sequence

from ..errors import ConfigError
from .chords import Chord


def _chord_tones(chord: Chord, voices: int) -> tuple[list[int], set[int]]:
    """(all pitch classes, those a voicing must hold): the fifth goes first when voices are few."""
    pcs = [(chord.root + i) % 12 for i in chord.intervals]
    required = list(dict.fromkeys(pcs))
    while len(required) > voices:
        fifth = (chord.root + 7) % 12
        required.remove(fifth if fifth in required and len(required) > 2 else required[-1])
    return pcs, set(required)


def _voicings(chord: Chord, low: int, high: int, voices: int) -> tuple[tuple[int, ...], ...]:
    return _voicings_of(chord.root, chord.intervals, low, high, voices)


@lru_cache(maxsize=4096)
def _voicings_of(root: int, intervals: tuple[int, ...], low: int, high: int,
                 voices: int) -> tuple[tuple[int, ...], ...]:
    chord = Chord(0.0, 0.0, root, intervals, root, "")
    pcs, required = _chord_tones(chord, voices)
    pitches = [p for p in range(low, high + 1) if p % 12 in pcs]
    found = []
    for combo in itertools.combinations(pitches, voices):
        if not required <= {p % 12 for p in combo}:
            continue
        if any(b - a > 12 for a, b in zip(combo[1:], combo[2:])):  # upper voices within an octave
            continue
        found.append(combo)
    if not found:  # a range too narrow for the chord: the nearest notes that fit, in order
        found = [tuple(sorted(itertools.islice(itertools.cycle(pitches or [low]), voices)))]
    return tuple(found)


@lru_cache(maxsize=4096)
def _doubling_costs(root: int, intervals: tuple[int, ...], low: int, high: int, voices: int) -> tuple[float, ...]:
    """:func:`_doubling_cost` of each of the chord's voicings (as :func:`_voicings` lists them)."""
    chord = Chord(0.0, 0.0, root, intervals, root, "")
    return tuple(_doubling_cost(chord, v) for v in _voicings_of(root, intervals, low, high, voices))


def _bass_pitch(chord: Chord) -> int:
    return 36 + chord.bass


def _parallel(prev: tuple[int, ...], cur: tuple[int, ...], prev_bass: int, cur_bass: int) -> bool:
    """Perfect fifths or octaves moving in parallel between the top and a lower outer voice."""
    pairs = [((prev[0], prev[-1]), (cur[0], cur[-1])), ((prev_bass, prev[-1]), (cur_bass, cur[-1]))]
    for (a0, a1), (b0, b1) in pairs:
        moved = a0 != b0 and a1 != b1 and (b0 - a0) * (b1 - a1) > 0
        if moved and (a1 - a0) % 12 in (0, 7) and (b1 - b0) % 12 == (a1 - a0) % 12:
            return True
    return False


def _doubling_cost(chord: Chord, combo: tuple[int, ...]) -> float:
    counts: dict[int, int] = {}
    for p in combo:
        counts[p % 12] = counts.get(p % 12, 0) + 1
    third = (chord.root + chord.intervals[1]) % 12 if len(chord.intervals) > 1 else -1
    cost = 0.0
    for pc, k in counts.items():
        if k > 1 and pc != chord.root:
            cost += 1.5 if pc == third else 0.5
    return cost


def voice_chords(chords: Sequence[Chord], low: int = 48, high: int = 67, voices: int = 4,
                 previous: tuple[int, ...] | None = None) -> list[tuple[int, ...]]:
    """A voicing (ascending MIDI pitches in [low, high]) per chord, moving as little as it can.

    ``previous`` is the voicing that sounded before the first chord (to continue a part across
    phrases). Parallel fifths and octaves between the outer voices, and between the top voice
    and the bass note (the chord's bass pitch class in 36-47), are avoided where another
    voicing allows it; doubled thirds cost more than doubled roots.
    """
    if voices < 1 or high < low:
        raise ConfigError(f"voice_chords needs voices >= 1 and low <= high, got {voices}, {low}..{high}")
    out: list[tuple[int, ...]] = []
    prev = previous
    prev_bass: int | None = None
    centre = (low + high) / 2
    for chord in chords:
        options = _voicings(chord, low, high, voices)
        doubling = _doubling_costs(chord.root, chord.intervals, low, high, voices)
        bass = _bass_pitch(chord)
        ref = tuple(sorted(prev)) if prev is not None else ()

        def cost(k: int) -> tuple[float, tuple[int, ...]]:
            v = options[k]
            c = doubling[k]
            if prev is None:
                c += sum(abs(p - centre) for p in v) / len(v)
            else:
                if len(ref) == len(v):
                    c += sum(abs(a - b) for a, b in zip(v, ref))
                else:
                    c += sum(min(abs(p - q) for q in ref) for p in v)
                if prev_bass is not None and len(ref) > 1 and _parallel(ref, v, prev_bass, bass):
                    c += 12.0
                c += 0.5 * max(0, abs(v[-1] - ref[-1]) - 2)  # a singable top line
            return c, v

        prev = options[min(range(len(options)), key=cost)]
        prev_bass = bass
        out.append(prev)
    return out
