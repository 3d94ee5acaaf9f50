"""The roles: each on its channel and register, within the phrase, written against the harmony."""
from __future__ import annotations

import pytest

from moodscore.arranger import CHANNELS, arrange, arrange_parts, harmony_for
from moodscore.arranger.parts import chord_at
from moodscore.arranger.styles import builtin
from moodscore.engine.template import controls
from moodscore.music import Meter, Note, Phrase


def melody(bars: list[list[int]], meter: Meter = Meter()) -> list[Note]:
    """Each bar's pitches as equal notes filling the bar (a 0 is a rest)."""
    notes = []
    for b, pitches in enumerate(bars):
        length = meter.beats / len(pitches)
        notes += [Note(p, b * meter.beats + i * length, length) for i, p in enumerate(pitches) if p]
    return notes


TUNE = [[60, 64, 67, 64], [67, 71, 74, 71], [65, 69, 72, 69], [72, 67, 64, 60]]


def phrase(meter: Meter = Meter(), bars: list[list[int]] = TUNE) -> Phrase:
    return Phrase(melody(bars, meter), bars=len(bars), meter=meter)


@pytest.mark.parametrize("style", sorted(builtin()))
@pytest.mark.parametrize("meter", [Meter(2, 4), Meter(3, 4), Meter(4, 4), Meter(6, 8), Meter(9, 8),
                                   Meter(12, 8), Meter(2, 2), Meter(3, 8), Meter(7, 8)])
@pytest.mark.parametrize(("v", "a"), [(0.8, 0.9), (-0.7, 0.5), (-0.9, -0.8), (0.5, -0.2), (0, 0)])
def test_every_role_in_its_channel_register_and_the_phrase(style, meter, v, a):
    p = phrase(meter)
    written = arrange_parts(p, controls(v, a), seed=5, style=builtin()[style])
    assert set(written) == {"counter", "pad", "rhythm", "bass", "drums"}
    for role, notes in written.items():
        assert notes, role
        assert {n.channel for n in notes} == {CHANNELS[role]}
        for n in notes:
            assert 0 <= n.start < p.beats and n.duration > 0
            assert n.start + n.duration <= p.beats + 1e-9
            assert 1 <= n.velocity <= 127 and 0 <= n.pitch <= 127
    bass = written["bass"]
    assert all(28 <= n.pitch <= 59 for n in bass)
    assert all(48 <= n.pitch <= 67 for n in written["pad"])
    assert all(55 <= n.pitch <= 76 for n in written["rhythm"])


def _chord_tone(n: Note, chords) -> bool:
    return n.pitch % 12 in chords[chord_at(chords, n.start + 0.06)].pitch_classes


def test_pad_and_rhythm_play_the_planned_chords():
    p, ctl = phrase(), controls(0.5, 0.4)
    chords = harmony_for(p, ctl, seed=1)
    written = arrange_parts(p, ctl, seed=1)
    for role in ("pad", "rhythm"):
        assert all(_chord_tone(n, chords) for n in written[role]), role


def test_bass_walks_with_passing_and_approach_tones():
    """Not only root and fifth: at driving arousal the bass walks through other tones."""
    p, ctl = phrase(bars=TUNE * 2), controls(0.5, 0.6)
    chords = harmony_for(p, ctl, seed=2)
    bass = arrange_parts(p, ctl, seed=2)["bass"]
    outside = 0
    for n in bass:
        c = chords[chord_at(chords, n.start + 0.06)]
        if (n.pitch - c.bass) % 12 not in (0, 7):
            outside += 1
    assert outside >= len(bass) * 0.2
    on_change = [n for n in bass if any(abs(n.start - c.start) < 0.06 for c in chords)]
    assert sum(n.pitch % 12 == chords[chord_at(chords, n.start + 0.06)].bass for n in on_change) \
        >= 0.8 * len(on_change)  # each chord change lands on its bass note


def test_counter_line_answers_in_the_rests_with_chord_tones():
    bars = [[72, 71, 69, 67], [65, 0, 0, 0], [64, 65, 67, 69], [72, 0, 0, 0]] * 2
    p, ctl = phrase(bars=bars), controls(0.4, 0.2)
    chords = harmony_for(p, ctl, seed=3)
    line = arrange_parts(p, ctl, seed=3)["counter"]
    in_rests = [n for n in line if (n.start % 16) in (5.0, 6.0, 7.0, 13.0, 14.0, 15.0)
                or 5 <= n.start % 16 < 8 or 13 <= n.start % 16 < 16]
    assert len(in_rests) >= 6  # it answers where the melody is silent
    strong = [n for n in line if abs(n.start % 2) < 1e-6]
    assert strong and sum(_chord_tone(n, chords) for n in strong) >= 0.85 * len(strong)
    mel = {n.start: n.pitch for n in p.notes}
    assert not any(abs(n.pitch - mel.get(n.start, -99)) == 0 for n in line)  # no unisons
    assert all(n.pitch < 72 for n in line)  # below a high melody


def test_counter_moves_against_the_melody():
    up = [[60, 62, 64, 65], [67, 69, 71, 72]] * 2
    p = phrase(bars=up)
    line = arrange_parts(p, controls(0.3, 0.0), seed=4)["counter"]

    def sounding(t: float) -> int:
        return max((n for n in p.notes if n.start <= t + 0.05), key=lambda n: n.start).pitch

    pairs = list(zip(line, line[1:]))
    assert len(pairs) >= 3
    similar = sum((b.pitch - a.pitch) * (sounding(b.start) - sounding(a.start)) > 0 for a, b in pairs)
    assert similar <= len(pairs) / 3  # contrary or oblique motion, mostly


def test_velocity_follows_the_mood():
    soft, loud = controls(0.9, -0.1), controls(-0.9, 0.9)
    mean = lambda ns: sum(n.velocity for n in ns) / len(ns)  # noqa: E731
    assert mean(arrange(phrase(), soft, intensity=1)) < mean(arrange(phrase(), loud, intensity=1))


def test_deterministic_and_sorted():
    c = controls(0.4, 0.7)
    assert arrange(phrase(), c, seed=3) == arrange(phrase(), c, seed=3)
    notes = arrange(phrase(), c, seed=3, intensity=1)
    assert sorted(notes, key=lambda n: (n.start, n.channel, n.pitch)) == notes
    assert arrange(phrase(), c, seed=3) != arrange(phrase(), c, seed=4)
