"""Chord recognition and the brightness of the harmony, on notes whose chords are known."""
from __future__ import annotations

import pytest

from moodscore.analysis import _Note
from moodscore.measure.chords import RecognisedChord, quality_balance, recognise_chords


def block(chords: list[tuple[int, ...]], beats: float = 4.0) -> list[_Note]:
    """Each chord held for ``beats`` (seconds = beats, which recognition does not read)."""
    out = []
    for i, pitches in enumerate(chords):
        t0, t1 = i * beats, (i + 1) * beats
        out += [_Note(1, p, 70, t0, t1, t0, t1) for p in pitches]
    return out


def test_triads_and_sevenths_are_named_on_their_roots():
    notes = block([(48, 52, 55), (45, 48, 52), (43, 47, 50, 53), (42, 45, 48)])
    got = [(c.root, c.quality, c.start, c.end) for c in recognise_chords(notes, 1.0, 16.0)]
    assert got == [(0, "maj", 0, 4), (9, "min", 4, 8), (7, "7", 8, 12), (6, "dim", 12, 16)]


def test_the_balance_weighs_major_against_minor_and_diminished_time():
    chords = [RecognisedChord(0, 3, 0, "maj"), RecognisedChord(3, 4, 9, "min"),
              RecognisedChord(4, 6, 7, "7"), RecognisedChord(6, 8, 2, "m7")]
    assert quality_balance(chords) == pytest.approx((5 - 3) / 8)
    assert quality_balance([RecognisedChord(0, 2, 11, "dim")]) == -1.0
    assert quality_balance([]) is None


def test_the_same_bass_line_reads_darker_under_minor_chords():
    major = block([(48, 52, 55), (53, 57, 60), (55, 59, 62), (48, 52, 55)])  # C F G C
    minor = block([(48, 51, 55), (53, 56, 60), (55, 58, 62), (48, 51, 55)])  # Cm Fm Gm Cm
    assert quality_balance(recognise_chords(major, 1.0, 16.0)) == 1.0
    assert quality_balance(recognise_chords(minor, 1.0, 16.0)) == -1.0
