"""The arranger: chord choice fits the melody, parts follow arousal, notes stay in the phrase."""
from __future__ import annotations

import pytest

from moodscore.engine.arranger import arrange, choose_chords, diatonic_triads
from moodscore.engine.template import controls
from moodscore.music import Meter, Note, Phrase


def _melody(bars: list[list[int]], meter: Meter = Meter()) -> list[Note]:
    """Each bar's pitches as equal notes filling the bar."""
    notes = []
    for b, pitches in enumerate(bars):
        length = meter.beats / len(pitches)
        notes += [Note(p, b * meter.beats + i * length, length) for i, p in enumerate(pitches)]
    return notes


C_G_PHRASE = Phrase(_melody([[60, 64, 67, 64], [67, 71, 74, 71], [65, 69, 72, 69],
                             [72, 67, 64, 60]]), bars=4)  # fmt: skip


def test_diatonic_triads_of_c_major_and_a_minor():
    assert diatonic_triads(0, "maj") == [(0, "maj"), (2, "min"), (4, "min"), (5, "maj"),
                                         (7, "maj"), (9, "min"), (11, "dim")]  # fmt: skip
    assert diatonic_triads(9, "min")[:5] == [(9, "min"), (11, "dim"), (0, "maj"), (2, "min"),
                                             (4, "min")]  # fmt: skip


def test_chords_fit_the_melody():
    assert choose_chords(C_G_PHRASE) == [(0, "maj"), (7, "maj"), (5, "maj"), (0, "maj")]
    two_bars = Phrase(_melody([[60, 64, 67], [67, 71, 74]]), bars=2)
    assert choose_chords(two_bars) == [(0, "maj"), (7, "maj")]


def test_tonic_preferred_at_the_edges_and_on_ambiguous_bars():
    # E and G alone fit I (C E G) and iii (E G B) equally: the first bar takes the tonic.
    phrase = Phrase(_melody([[64, 67], [62, 65, 69], [64, 67]]), bars=3)
    chords = choose_chords(phrase)
    assert chords[0] == (0, "maj") and chords[-1] == (0, "maj")
    assert chords[1] == (2, "min")  # D F A


def test_strong_beats_weigh_more():
    downbeat_b = Phrase([Note(71, 4.0, 1.0), Note(72, 5.0, 1.0), Note(76, 6.0, 2.0)], bars=3)
    # B, C, E: by duration alone iii (E G B) and vi (A C E) tie and the prior picks vi;
    # B on the downbeat counts double, so iii wins.
    assert choose_chords(downbeat_b)[1] == (4, "min")


def test_empty_bar_holds_previous_chord():
    phrase = Phrase(_melody([[67, 71, 74]]) + [Note(60, 12.0, 4.0)], bars=4)
    assert choose_chords(phrase)[1] == choose_chords(phrase)[0]


def test_minor_mode_on_another_tonic():
    # D natural minor: the dominant is the minor v (A C E).
    phrase = Phrase(_melody([[62, 65, 69], [69, 72, 76], [62, 65, 69]]), bars=3, tonic=2,
                    mode="min")  # fmt: skip
    assert choose_chords(phrase) == [(2, "min"), (9, "min"), (2, "min")]


def _by_channel(notes: list[Note]) -> dict[int, list[Note]]:
    out: dict[int, list[Note]] = {}
    for n in notes:
        out.setdefault(n.channel, []).append(n)
    return out


@pytest.mark.parametrize(
    ("v", "a"), [(0.8, 0.9), (-0.7, 0.5), (0.2, 0.1), (-0.9, -0.8), (0.5, -0.2)]
)
@pytest.mark.parametrize("meter", [Meter(4, 4), Meter(3, 4), Meter(6, 8), Meter(7, 8)])
def test_notes_inside_phrase_span_and_registers(v, a, meter):
    phrase = Phrase(_melody([[60, 64, 67], [67, 71, 74], [65, 69], [60]], meter), bars=4,
                    meter=meter)  # fmt: skip
    notes = arrange(phrase, controls(v, a))
    assert notes
    for n in notes:
        assert n.start >= 0 and n.duration > 0
        assert n.start + n.duration <= phrase.beats + 1e-9
        assert 1 <= n.velocity <= 127
    parts = _by_channel(notes)
    assert all(48 <= n.pitch <= 64 for n in parts[1])
    bass_roots = {n.pitch for n in parts[2]} & set(range(36, 48))
    assert bass_roots  # every bar's root is in 36..47
    assert all(36 <= n.pitch <= 47 + 8 for n in parts[2])
    assert (9 in parts) == (a > 0.3)


def test_drums_only_at_high_arousal():
    assert not [n for n in arrange(C_G_PHRASE, controls(0.5, 0.3)) if n.channel == 9]
    drums = [n for n in arrange(C_G_PHRASE, controls(0.5, 0.31)) if n.channel == 9]
    per_bar = {(key, n.start % 4.0) for n in drums for key in [n.pitch] if n.start < 4.0}
    assert {(36, 0.0), (38, 1.0), (36, 2.0), (38, 3.0)} <= per_bar
    hats = sorted(n.start for n in drums if n.pitch == 42)
    assert hats == [i * 0.5 for i in range(32)]
    assert {n.pitch for n in drums} == {36, 38, 42}


def test_rhythm_follows_arousal():
    calm = _by_channel(arrange(C_G_PHRASE, controls(0.5, -0.5)))
    assert len(calm[1]) == 4 * 3 and all(n.duration == 4.0 for n in calm[1])
    assert [n.start for n in calm[2]] == [0.0, 4.0, 8.0, 12.0]
    assert [n.pitch for n in calm[2]] == [36, 43, 41, 36]
    lively = _by_channel(arrange(C_G_PHRASE, controls(0.5, 0.2)))
    assert len(lively[1]) == 16 * 3
    assert [n.pitch for n in lively[2][:4]] == [36, 43, 36, 43]  # root-fifth on every beat
    assert [n.start for n in lively[2][:4]] == [0.0, 1.0, 2.0, 3.0]


def test_chord_voicings_are_the_chosen_chords():
    notes = [n for n in arrange(C_G_PHRASE, controls(0.5, -0.5)) if n.channel == 1]
    bars = [sorted({n.pitch % 12 for n in notes if b * 4 <= n.start < (b + 1) * 4})
            for b in range(4)]  # fmt: skip
    assert bars == [[0, 4, 7], [2, 7, 11], [0, 5, 9], [0, 4, 7]]


def test_velocity_follows_controls():
    soft, loud = controls(0.9, -0.1), controls(-0.9, 0.9)
    assert soft.velocity < loud.velocity
    mean = lambda ns: sum(n.velocity for n in ns) / len(ns)  # noqa: E731
    soft_notes, loud_notes = arrange(C_G_PHRASE, soft), arrange(C_G_PHRASE, loud)
    assert mean(soft_notes) < mean(loud_notes)
    assert max(n.velocity for n in soft_notes if n.channel == 1) < soft.velocity


def test_deterministic():
    c = controls(0.4, 0.7)
    assert arrange(C_G_PHRASE, c, seed=3) == arrange(C_G_PHRASE, c, seed=3)
    assert arrange(C_G_PHRASE, c) == arrange(C_G_PHRASE, c)
    first = arrange(C_G_PHRASE, c, seed=1)
    second = arrange(C_G_PHRASE, c, seed=2)  # the seed only humanises velocities
    assert [(n.pitch, n.start) for n in first] == [(n.pitch, n.start) for n in second]
    assert sorted(first, key=lambda n: (n.start, n.channel, n.pitch)) == first
