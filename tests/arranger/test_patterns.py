"""Pattern families: complete per meter feel, and varied bar by bar (fills, pickups, breaks)."""
from __future__ import annotations

import random

import pytest

from moodscore.arranger import arrange_parts
from moodscore.arranger.patterns import (
    DRUM_FAMILIES,
    DRUM_FILLS,
    FAMILIES,
    FEELS,
    ORCHESTRAL_FILLS,
    bar_hits,
    drum_hits,
    family_for,
    feel_of,
)
from moodscore.arranger.styles import builtin
from moodscore.engine.template import controls
from moodscore.music import Meter, Note, Phrase

REF = {"simple": 8, "triple": 6, "compound": 6}  # pulses in each feel's reference bar


def test_feels_of_the_corpus_meters():
    got = {str(m): (f.name, f.beats, f.beat_len, f.sub) for m in
           (Meter(2, 4), Meter(4, 4), Meter(3, 4), Meter(6, 8), Meter(9, 8), Meter(12, 8), Meter(3, 8),
            Meter(2, 2), Meter(6, 4), Meter(3, 2)) for f in [feel_of(m)]}
    assert got["6/8"] == ("compound", 2, 1.5, 3) and got["9/8"] == ("compound", 3, 1.5, 3)
    assert got["12/8"] == ("compound", 4, 1.5, 3)
    assert got["3/4"] == ("triple", 3, 1.0, 2) and got["3/8"] == ("triple", 3, 0.5, 2)
    assert got["3/2"] == ("triple", 3, 2.0, 2)
    assert got["4/4"] == ("simple", 4, 1.0, 2) and got["2/2"] == ("simple", 2, 2.0, 2)


def test_every_family_has_every_feel_with_well_formed_grids():
    for role, families in FAMILIES.items():
        for name, feels in families.items():
            assert set(feels) == set(FEELS), (role, name)
            for feel, grids in feels.items():
                assert grids
                for g in grids:
                    assert len(g) == REF[feel] and g[0] != "-" and g.strip(".-"), (role, name, g)
    for families in (DRUM_FAMILIES, {"fills": DRUM_FILLS, "orchestral fills": ORCHESTRAL_FILLS}):
        for name, feels in families.items():
            assert set(feels) == set(FEELS), name
            for feel, patterns in feels.items():
                for pattern in patterns:
                    assert all(len(g) == REF[feel] for g in pattern.values()), (name, pattern)


def test_family_follows_arousal_from_calm_to_driving():
    fams = ("pedal", "root", "walking", "drive")
    assert [family_for(fams, a) for a in (-1, -0.6, -0.2, 0.2, 0.6, 1)] == \
        ["pedal", "pedal", "root", "walking", "drive", "drive"]


def test_waltz_strikes_beats_two_and_three_and_compound_time_the_eighths():
    hits = bar_hits("rhythm", "waltz", feel_of(Meter(3, 4)), bar=0, bars=4, phrase_index=0,
                    rng=random.Random(1))
    assert {1.0, 2.0} <= {h.start for h in hits} and 0.0 not in {h.start for h in hits}
    for bar in range(8):
        for h in bar_hits("rhythm", "arpeggio", feel_of(Meter(6, 8)), bar=bar, bars=8, phrase_index=0,
                          rng=random.Random(bar)):
            assert abs(h.start * 2 - round(h.start * 2)) < 1e-9  # on the eighth-note grid
            assert h.start < 3.0


def test_phrase_end_gets_a_fill_pickup_or_break():
    feel = feel_of(Meter(4, 4))
    fills = sum(drum_hits("pop", feel, bar=3, bars=4, rng=random.Random(s))
                != drum_hits("pop", feel, bar=3, bars=99, rng=random.Random(s)) for s in range(20))
    assert fills >= 14
    for s in range(10):
        last = bar_hits("bass", "root", feel, bar=3, bars=4, phrase_index=0, rng=random.Random(s))
        assert last[-1].token == "a" and last[-1].start >= 3.0  # an approach into the next phrase
    breaks = 0
    for s in range(20):
        hits = bar_hits("rhythm", "arpeggio", feel, bar=3, bars=4, phrase_index=1, rng=random.Random(s))
        breaks += max(h.start for h in hits) < 2.0
    assert breaks >= 8  # a period often ends with a break on the half bar


def _patterns(notes: list[Note], bar: float) -> list[frozenset[int]]:
    bars: dict[int, set[int]] = {}
    for n in notes:
        bars.setdefault(int(n.start // bar), set()).add(round(n.start % bar * 24))
    return [frozenset(bars[b]) for b in sorted(bars)]


@pytest.mark.parametrize("style", sorted(builtin()))
@pytest.mark.parametrize("meter", [Meter(4, 4), Meter(3, 4), Meter(6, 8), Meter(2, 4), Meter(9, 8)])
@pytest.mark.parametrize("arousal", [-0.8, 0.0, 0.8])
def test_no_part_plays_one_rhythm_for_sixteen_bars(style, meter, arousal):
    """Variety from the patterns alone: humanised timing is off, onsets are on the grid."""
    base = builtin()[style]
    plain = base.model_copy(update={"humanise": base.humanise.model_copy(
        update={"timing_sd": 0.0, "swing": 0.0})})
    plain = plain.model_copy(update={role: getattr(plain, role).model_copy(update={"timing": 0.0})
                                     for role in ("pad", "rhythm", "bass", "counter", "drums")})
    tune = [Note(60 + (i * 5) % 12, i * meter.beats / 2, meter.beats / 2) for i in range(8)]
    phrase = Phrase(tune, bars=4, meter=meter)
    by_role: dict[str, list[Note]] = {}
    for i in range(4):  # 16 bars, four phrases as the conductor arranges them
        for role, notes in arrange_parts(phrase, controls(0.3, arousal), seed=10 + 4 * i, style=plain,
                                         phrase_index=i).items():
            by_role.setdefault(role, []).extend(
                Note(n.pitch, n.start + i * phrase.beats, n.duration, n.velocity, n.channel) for n in notes)
    for role in ("rhythm", "bass", "drums"):
        pats = _patterns(by_role[role], meter.beats)
        assert len(pats) == 16, role
        assert len(set(pats)) / 16 >= 0.25, (role, len(set(pats)))
    assert len(set(_patterns(by_role["pad"], meter.beats))) >= 2
