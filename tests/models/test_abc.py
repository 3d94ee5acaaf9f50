"""The ABC subset: spelling, key signatures, round trips, transposition."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from moodscore.errors import TokenizeError
from moodscore.models.abc import (BAR, DURATIONS, Spelled, abc_to_tokens, body_to_abc, key_field,
                                  key_signature, notes_to_tokens, parse_token, tokens_to_notes,
                                  transpose_tokens)
from moodscore.music import MODES, Meter, Note


def test_key_signatures_of_modes_on_c():
    assert key_signature("maj") == (0,) * 7
    assert key_signature("min") == (0, 0, -1, 0, 0, -1, -1)  # Eb Ab Bb
    assert key_signature("dor") == (0, 0, -1, 0, 0, 0, -1)
    assert key_signature("mix") == (0, 0, 0, 0, 0, 0, -1)
    assert key_signature("maj", Spelled(1, 4)) == (1, 0, 0, 1, 0, 0, 0)  # D major: F# C#
    assert key_field("min", Spelled(5, 4)) == "Am"
    assert key_field("mix", Spelled(3, 4, 1)) == "F#mix"


def test_accidentals_hold_to_the_end_of_the_bar():
    notes, bars = tokens_to_notes(abc_to_tokens("^F F =F F z4 | F4 z4 |"), Meter(4, 4), "maj")
    # ^F makes every F in that bar sharp until =F; the next bar starts from the key signature
    assert [n.pitch for n in notes] == [66, 66, 65, 65, 65]
    assert bars == 2


def test_token_text_round_trip_on_a_known_tune():
    body = "G3A Bcd=e | f4 g2dB | c3B G2E2 | F4 D2=E^F |"
    tokens = abc_to_tokens(body)
    assert body_to_abc(tokens) == "G3ABcd=e | f4g2dB | c3BG2E2 | F4D2=E^F |"
    assert abc_to_tokens(body_to_abc(tokens)) == tokens
    notes, bars = tokens_to_notes(tokens, Meter(4, 4), "min")
    assert bars == 4
    # in C minor, unmarked E and B are flat; =e is natural
    assert [n.pitch for n in notes[:8]] == [67, 68, 70, 72, 74, 76, 77, 79]


def test_bad_tokens_are_rejected():
    for bad in ("H2", "c5", "zz", "^z"):
        with pytest.raises(TokenizeError):
            parse_token(bad)
    with pytest.raises(TokenizeError, match="overflows"):
        tokens_to_notes(["c8", "c", BAR], Meter(4, 4), "maj")
    with pytest.raises(TokenizeError, match="incomplete"):
        tokens_to_notes(["c4"], Meter(4, 4), "maj")


notes_strategy = st.lists(st.tuples(st.integers(48, 90), st.sampled_from([2, 4, 6, 8, 12, 16])),
                          min_size=1, max_size=24)


def _bars_of(items, meter):
    """Lay (pitch, ticks) end to end, cut to whole bars, as notes in beats."""
    notes, t = [], 0
    for pitch, ticks in items:
        bar_end = (t // meter.ticks + 1) * meter.ticks
        ticks = min(ticks, bar_end - t)
        while ticks not in DURATIONS:
            ticks -= 1
        notes.append(Note(pitch, t / 8, ticks / 8))
        t += ticks
    bars = -(-t // meter.ticks)
    return notes, bars


@settings(max_examples=150, deadline=None)
@given(notes_strategy, st.sampled_from(MODES), st.sampled_from(["4/4", "3/4", "6/8", "2/4"]))
def test_notes_to_tokens_round_trip(items, mode, meter_text):
    meter = Meter.parse(meter_text)
    notes, bars = _bars_of(items, meter)
    tokens = notes_to_tokens(notes, meter, mode, bars)
    back, nbars = tokens_to_notes(tokens, meter, mode)
    assert nbars == bars
    assert [(n.pitch, n.start, n.duration) for n in back] == [(n.pitch, n.start, n.duration) for n in notes]
    assert abc_to_tokens(body_to_abc(tokens)) == tokens


@settings(max_examples=100, deadline=None)
@given(notes_strategy, st.sampled_from(MODES), st.integers(0, 11))
def test_transposition_keeps_intervals_and_is_valid(items, mode, pc):
    from moodscore.engine.compose import tonic_spelling

    meter = Meter(4, 4)
    notes, bars = _bars_of(items, meter)
    tokens = notes_to_tokens(notes, meter, mode, bars)
    tonic = tonic_spelling(pc, mode)
    moved = transpose_tokens(tokens, meter, mode, tonic)
    # decode under the new key signature: the same tune, shifted by the tonic
    from moodscore.models import abc as abc_mod

    state = abc_mod.BarState(meter, key_signature(mode, tonic))
    pitches = []
    for tok in moved:
        if tok == BAR:
            state.bar_line()
        else:
            sp = state.advance(parse_token(tok))
            if sp is not None:
                pitches.append(sp.midi)
    shift = tonic.midi - 60
    assert pitches == [n.pitch + shift for n in notes]
