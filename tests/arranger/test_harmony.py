"""The harmony planner: functional chords fitted to a melody, cadences, voice leading."""
from __future__ import annotations

import json
import random

import pytest

from moodscore.arranger.harmony import (
    CADENCES,
    Chord,
    HarmonyData,
    changes_per_bar,
    load_harmony,
    parse_symbol,
    plan_harmony,
    voice_chords,
)
from moodscore.errors import ConfigError
from moodscore.music import Meter, Note, Phrase

# "Twinkle" in C over 4 bars of 4/4: C C G G | A A G - | F F E E | D D C -
TWINKLE = [60, 60, 67, 67, 69, 69, 67, None, 65, 65, 64, 64, 62, 62, 60, None]


def tune(pitches=TWINKLE, meter=Meter(4, 4), tonic=0, mode="maj", transpose=0) -> Phrase:
    notes, t = [], 0.0
    for i, p in enumerate(pitches):
        if p is not None:
            length = 2.0 if i + 1 < len(pitches) and pitches[i + 1] is None else 1.0
            notes.append(Note(p + transpose, t, length))
        t += 1.0
    bars = round(t / meter.beats)
    return Phrase(notes, bars, meter, tonic, mode)


def chord_tone_share(phrase: Phrase, chords: list[Chord]) -> float:
    on = total = 0.0
    for n in phrase.notes:
        for c in chords:
            overlap = min(n.start + n.duration, c.end) - max(n.start, c.start)
            if overlap > 0:
                total += overlap
                on += overlap * (n.pitch % 12 in c.pitch_classes)
    return on / total


def test_chords_cover_the_phrase_contiguously_and_end_on_a_cadence():
    phrase = tune()
    for index in range(4):
        chords = plan_harmony(phrase, valence=0.5, arousal=0.0, phrase_index=index)
        assert chords[0].start == 0.0
        for a, b in zip(chords, chords[1:]):
            assert a.end == pytest.approx(b.start)
        assert chords[-1].end == pytest.approx(phrase.beats)
        assert chords[-1].cadence in CADENCES
        assert all(c.cadence is None for c in chords[:-1])


def test_a_period_closes_with_an_authentic_cadence_on_the_tonic():
    chords = plan_harmony(tune(), valence=0.5, arousal=0.0, phrase_index=1)
    assert chords[-1].cadence == "authentic"
    assert chords[-1].root == 0 and chords[-1].symbol == "I"
    assert parse_symbol(chords[-2].symbol).offset == 7  # V (V7) before it


def test_a_half_cadence_ends_on_the_dominant():
    # a melody ending on D over the last bar asks for V
    pitches = [60, 64, 67, 64, 65, 64, 62, 60, 64, 65, 67, 69, 67, 65, 62, None]
    chords = plan_harmony(tune(pitches), valence=0.5, arousal=0.0, phrase_index=0)
    assert chords[-1].cadence == "half"
    assert chords[-1].root == 7 and chords[-1].intervals[:3] == (0, 4, 7)


def test_only_the_allowed_cadences_are_used():
    for index in range(6):
        chords = plan_harmony(tune(), valence=0.5, arousal=0.0, phrase_index=index,
                              cadences=("plagal",))
        assert chords[-1].cadence == "plagal"
        assert parse_symbol(chords[-2].symbol).offset == 5  # IV (or iv) - I
    with pytest.raises(ConfigError, match="cadences must be some of"):
        plan_harmony(tune(), valence=0, arousal=0, cadences=("perfect",))


@pytest.mark.parametrize("arousal,low,high", [(-1.0, 0.4, 0.8), (0.0, 0.9, 1.1), (1.0, 1.5, 2.0)])
def test_harmonic_rhythm_rises_with_arousal(arousal, low, high):
    phrase = tune()
    # changes per bar, counting the change into the next phrase (which opens on the tonic)
    counts = []
    for index in range(4):
        chords = plan_harmony(phrase, valence=0.5, arousal=arousal, phrase_index=index)
        changes = sum(a.pitch_classes != b.pitch_classes for a, b in zip(chords, chords[1:]))
        changes += chords[-1].root != 0 or chords[-1].cadence == "half"
        counts.append(changes / phrase.bars)
    assert low <= sum(counts) / len(counts) <= high, counts
    assert changes_per_bar(-1.0) == pytest.approx(0.5)
    assert changes_per_bar(1.0) == pytest.approx(2.0)


def test_melody_mostly_on_chord_tones_but_not_all():
    share = chord_tone_share(tune(), plan_harmony(tune(), valence=0.5, arousal=0.0, phrase_index=1))
    assert 0.6 <= share <= 1.0


def test_minor_and_heroic_moods_use_their_chords():
    minor = tune(transpose=-3, tonic=9, mode="min")  # the tune in A minor's notes is A aeolian-ish
    chords = plan_harmony(minor, valence=-0.8, arousal=0.5, phrase_index=1)
    assert chords[-1].root == 9 and chords[-1].intervals[:3] == (0, 3, 7)
    # over many seeds, heroic major moods borrow bVI or bVII where the melody lets them (on C,
    # then D and F); calm ones never do
    fanfare = tune([60, 64, 67, 64, 60, 60, 60, 60, 62, 65, 62, 65, 67, 64, 60, None])
    heroic = {c.symbol for seed in range(30) for c in
              plan_harmony(fanfare, valence=0.8, arousal=0.8, rng=random.Random(seed))}
    calm = {c.symbol for seed in range(30) for c in
            plan_harmony(fanfare, valence=0.8, arousal=-0.8, rng=random.Random(seed))}
    assert heroic & {"bVI", "bVII"}
    assert not calm & {"bVI", "bVII"}


def test_compound_and_triple_meters_split_on_beats():
    for meter in (Meter(6, 8), Meter(3, 4), Meter(9, 8), Meter(12, 8)):
        notes = [Note(60 + (i % 5), i * 0.5, 0.5) for i in range(int(4 * meter.beats * 2))]
        phrase = Phrase(notes, 4, meter, 0, "maj")
        chords = plan_harmony(phrase, valence=0.5, arousal=1.0, phrase_index=1)
        assert chords[-1].end == pytest.approx(phrase.beats)
        beat = 1.5 if meter.denominator == 8 else 1.0
        for c in chords:
            assert (c.start / beat) == pytest.approx(round(c.start / beat))


def test_same_inputs_same_chords():
    a = plan_harmony(tune(), valence=0.3, arousal=0.4, phrase_index=2, rng=random.Random(5))
    b = plan_harmony(tune(), valence=0.3, arousal=0.4, phrase_index=2, rng=random.Random(5))
    assert a == b


def test_symbols_parse_to_the_right_chords():
    assert parse_symbol("V7").intervals == (0, 4, 7, 10)
    assert parse_symbol("V7/V").offset == 2
    assert parse_symbol("bVI").offset == 8
    assert parse_symbol("ii65").bass_interval == 3
    assert parse_symbol("vii°").intervals == (0, 3, 6)
    assert parse_symbol("Vsus4").intervals == (0, 5, 7)
    with pytest.raises(ConfigError, match="not a roman numeral"):
        parse_symbol("G7")


def test_bad_data_is_one_line_naming_what_is_allowed(tmp_path):
    raw = json.loads(load_harmony().model_dump_json())
    raw["progressions"][0]["chords"] = ["I", "X7"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ConfigError) as err:
        load_harmony(path)
    assert "\n" not in str(err.value) and "roman numeral" in str(err.value)
    # the packaged data round-trips
    assert HarmonyData.model_validate_json(load_harmony().model_dump_json()) == load_harmony()


def test_voicings_move_little_and_avoid_parallel_outer_fifths():
    chords = plan_harmony(tune(), valence=0.5, arousal=1.0, phrase_index=1)
    voiced = voice_chords(chords)
    assert len(voiced) == len(chords)
    for c, v in zip(chords, voiced):
        assert len(v) == 4 and list(v) == sorted(v) and 48 <= v[0] and v[-1] <= 67
        assert c.pitch_classes >= {p % 12 for p in v}
        assert {(c.root + i) % 12 for i in c.intervals[:2]} <= {p % 12 for p in v}  # root, third
    for a, b in zip(voiced, voiced[1:]):
        assert sum(abs(x - y) for x, y in zip(a, b)) <= 14
        assert max(abs(x - y) for x, y in zip(a, b)) <= 7
    # I - V - IV - I ... in root position: parallel octaves and fifths (outer voices, and top
    # against the bass note) would be easy to hit; with room to move there are none
    roots = [0, 7, 5, 0, 2, 7, 0, 9]
    steps = [Chord(i * 4.0, 4.0, r, (0, 3, 7) if r in (2, 9) else (0, 4, 7), r, "I")
             for i, r in enumerate(roots)]
    v = voice_chords(steps, low=45, high=70)
    for (a, b), (ra, rb) in zip(zip(v, v[1:]), zip(roots, roots[1:])):
        for lo_a, lo_b in ((a[0], b[0]), (36 + ra, 36 + rb)):
            ic_a, ic_b = (a[-1] - lo_a) % 12, (b[-1] - lo_b) % 12
            similar = (lo_b - lo_a) * (b[-1] - a[-1]) > 0
            assert not (ic_a == ic_b and ic_a in (0, 7) and similar), (a, b)


def test_voicing_continues_from_a_previous_one():
    chords = [Chord(0.0, 4.0, 5, (0, 4, 7), 5, "IV")]
    high = voice_chords(chords, previous=(60, 64, 67, 72), low=48, high=76)[0]
    low = voice_chords(chords, previous=(48, 52, 55, 60), low=48, high=76)[0]
    assert sum(high) > sum(low)


def test_harmony_brightens_with_valence_inside_a_mode():
    def major_share(valence, mode="maj", seeds=20):
        on = total = 0.0
        for seed in range(seeds):
            phrase = tune(mode=mode)
            for c in plan_harmony(phrase, valence=valence, arousal=0.8, rng=random.Random(seed))[:-2]:
                total += c.duration
                on += c.duration * (c.intervals[1] == 4)
        return on / total

    assert major_share(0.9) > major_share(0.35)
    assert major_share(-0.4, "min") > major_share(-0.95, "min")


def test_colour_centres_name_modes(tmp_path):
    raw = json.loads(load_harmony().model_dump_json())
    raw["valence_colour_centre"] = {"major": 0.3}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match="modes must be among"):
        load_harmony(path)
