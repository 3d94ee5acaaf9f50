"""Themes: parsed from ABC and MIDI, restated in another mode and a step away, brought back by
the plan in composed pieces and in the conductor."""
from __future__ import annotations

import mido
import pytest

from moodscore.engine.compose import compose
from moodscore.engine.conductor import Conductor
from moodscore.engine.offline import run
from moodscore.engine.theme import (
    Theme,
    ThemePlan,
    load_theme,
    restate,
    splice,
    theme_from_abc,
    theme_from_midi,
    theme_from_phrase,
)
from moodscore.errors import ConfigError
from moodscore.models.runtime import load_generator
from moodscore.music import Meter, Note, Phrase

ODE = "X:1\nT:ode\nM:4/4\nL:1/4\nK:G\nBBcd|dcBA|GGAB|B3/2A/2 A2|\n"


@pytest.fixture(scope="module", params=["abc", "lstm"])
def gen(request):
    return load_generator(request.param, prefer_gpu=False)


def test_abc_theme_is_moved_to_c_with_its_lengths():
    t = theme_from_abc(ODE)
    assert (t.bars, t.meter, t.mode, t.user) == (4, Meter(4, 4), "maj", True)
    # B B c d in G major is E E F G in C
    assert [n.pitch % 12 for n in t.notes[:4]] == [4, 4, 5, 7]
    assert [n.duration for n in t.notes[12:14]] == [1.5, 0.5]
    assert 64 <= sum(n.pitch for n in t.notes) / len(t.notes) <= 76


def test_abc_pickup_minor_key_and_compound_meter():
    t = theme_from_abc("M:6/8\nL:1/8\nK:Dm\nA|d2e f2g|a3 A3|")
    assert t.mode == "min" and t.meter == Meter(6, 8) and t.bars == 3
    assert t.notes[0].start == pytest.approx(2.5)  # the pickup ends at the first bar line
    assert t.notes[0].pitch % 12 == 7  # A in D minor is G in C minor


@pytest.mark.parametrize("text, message", [
    ("K:H\nabc|", "K: must name"),
    ("L:1/3\nK:C\nC|", "L: must be"),
    ("K:C\nC D & E|", "unexpected"),
    ("M:3/4\nK:C\nC8|", "holds"),
    ("K:C\nC5|", "not a length"),
    ("K:C\n|", "no notes"),
])
def test_bad_abc_is_one_line_naming_what_is_allowed(text, message):
    with pytest.raises(ConfigError, match=message) as err:
        theme_from_abc(text)
    assert "\n" not in str(err.value)


def test_midi_theme_takes_the_top_line_and_its_key(tmp_path):
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    track = mido.MidiTrack([mido.MetaMessage("time_signature", numerator=3, denominator=4)])
    # D major: D F# A | D' (with a lower A under it) in 3/4
    for pitch, below in ((62, None), (66, None), (69, None), (74, 57)):
        notes = [pitch] + ([below] if below else [])
        for p in notes:
            track.append(mido.Message("note_on", note=p, velocity=80, time=0))
        for i, p in enumerate(notes):
            track.append(mido.Message("note_off", note=p, time=480 if i == 0 else 0))
    mid.tracks.append(track)
    path = tmp_path / "theme.mid"
    mid.save(path)
    t = load_theme(path)
    assert t.meter == Meter(3, 4) and t.mode == "maj" and t.bars == 2
    assert [n.pitch % 12 for n in t.notes] == [0, 4, 7, 0]
    with pytest.raises(ConfigError, match="MIDI file .* or ABC"):
        load_theme(tmp_path / "theme.txt")
    with pytest.raises(ConfigError, match="no such file"):
        load_theme(tmp_path / "missing.mid")
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi")
    with pytest.raises(ConfigError, match="theme"):
        theme_from_midi(str(bad))


def test_restated_in_the_mode_of_the_moment_and_sequenced():
    t = theme_from_abc("K:C\nL:1/8\nCEGc e2d2|")
    minor = restate(t, "min")
    assert [n.pitch % 12 for n in minor.notes] == [0, 3, 7, 0, 3, 2]  # E -> Eb, degree for degree
    up = restate(t, "maj", step=1)
    assert [n.pitch % 12 for n in up.notes] == [2, 5, 9, 2, 5, 4]
    assert minor.tokens[-1] == "|" and minor.bars == 1


def test_splice_keeps_the_head_and_the_start_of_the_continuation():
    meter = Meter(4, 4)
    head = restate(theme_from_abc("K:C\nL:1/4\nCDEF|GABc|"), "maj")
    body = restate(theme_from_abc("K:C\nL:1/4\nc4|B4|A4|G4|"), "maj")
    p = splice(head, body, 4)
    assert p.bars == 4 and p.tokens.count("|") == 4
    assert [n.pitch % 12 for n in p.notes] == [0, 2, 4, 5, 7, 9, 11, 0, 0, 11]
    assert p.notes[-1].start == pytest.approx(3 * meter.beats)


def test_plan_brings_the_motif_back_after_4_and_8_bars():
    plan = ThemePlan()
    assert [plan.step(i) for i in range(9)] == [None, 0, 1, 0, None, 0, -1, 0, None]
    first = Phrase([Note(60 + i, i * 1.0, 1.0) for i in range(16)], 4, Meter(), 0, "maj")
    assert plan.head(0, "maj", Meter(), 4) is None
    plan.capture(0, first)
    assert plan.theme is not None and plan.theme.bars == 2
    again = plan.head(1, "maj", Meter(), 4)
    assert again is not None and [n.pitch for n in again.notes] == list(range(60, 68))
    assert plan.head(1, "maj", Meter(3, 4), 4) is None  # another meter: free


def test_composed_piece_brings_its_first_motif_back(gen):
    piece = compose(gen, 0.5, 0.2, bars=16, seed=5)
    p0, p1, p2 = piece.phrases[:3]
    head = [(n.pitch, n.start) for n in p0.notes if n.start < 8]
    assert head and [(n.pitch, n.start) for n in p1.notes if n.start < 8] == head
    steps = [b - a for (a, _), (b, _) in zip(head, [(n.pitch, n.start) for n in p2.notes if n.start < 8])]
    assert all(1 <= s <= 2 for s in steps), steps  # a scale step up: a sequence
    again = compose(gen, 0.5, 0.2, bars=16, seed=5)
    assert [n for p in again.phrases for n in p.notes] == [n for p in piece.phrases for n in p.notes]


def test_a_user_theme_opens_the_piece_and_returns_in_a_minor_mood(gen):
    theme = theme_from_abc(ODE)
    piece = compose(gen, -0.8, -0.5, bars=8, seed=1, theme=theme)
    first = piece.phrases[0]
    assert piece.controls.mode == "min"
    pcs = [(n.pitch - first.tonic) % 12 for n in first.notes[:4]]
    assert pcs == [3, 3, 5, 7]  # E E F G in C minor: Eb Eb F G


def test_conductor_brings_the_theme_back_and_takes_a_new_one(gen):
    c = Conductor(seed=2)
    c.set_mood(0.0, 0.6, 0.3, glide=0.0)
    tl = run(c, gen, 30.0)
    phrases = [cb.event for cb in tl.callbacks if cb.event["type"] == "phrase"]
    assert len(phrases) >= 3
    head0 = [(n["pitch"], n["start"]) for n in phrases[0]["notes"] if n["start"] < 8]
    head1 = [(n["pitch"], n["start"]) for n in phrases[1]["notes"] if n["start"] < 8]
    assert head0 and head0 == head1
    c2 = Conductor(seed=2, theme=theme_from_abc(ODE))
    c2.set_mood(0.0, 0.6, 0.3, glide=0.0)
    tl2 = run(c2, gen, 12.0)
    first = [cb.event for cb in tl2.callbacks if cb.event["type"] == "phrase"][0]
    assert [n["pitch"] % 12 for n in first["notes"][:4]] == [4, 4, 5, 7]


def test_a_new_theme_waits_for_a_phrase_that_is_played():
    plan = ThemePlan(theme_from_abc(ODE))
    first = plan.head(4, "maj", Meter(), 4)
    again = plan.head(4, "maj", Meter(), 4)  # the first request was superseded: still whole
    assert first is not None and again is not None and again.bars == first.bars == 4
    plan.opened(again)
    later = plan.head(5, "maj", Meter(), 4)
    assert later is not None and later.bars == 2  # from now on the motif returns
