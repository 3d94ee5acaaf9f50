"""The conductor's intensity and style: parts enter and leave at bar lines, styles switch at the
next bar; live, offline and the arranger agree (virtual clock, the real ABC model)."""
from __future__ import annotations

import pytest

from moodscore.engine.conductor import Conductor
from moodscore.engine.offline import run
from moodscore.engine.protocol import parse_json
from moodscore.engine.session import apply
from moodscore.errors import ConfigError
from moodscore.models.runtime import load_generator


@pytest.fixture(scope="module")
def gen():
    return load_generator("abc", prefer_gpu=False)


def _bars(tl):
    return [cb.time for cb in tl.callbacks if cb.event["type"] == "bar"]


def _channels(tl, lo, hi):
    return {e.channel for e in tl.events if e.kind == "note_on" and lo <= e.time < hi}


def test_intensity_adds_parts_at_the_next_bar_line(gen):
    c = Conductor(seed=2)
    change = 9.0
    script = [(0.0, lambda c, now: apply(c, parse_json('{"type":"intensity","value":0,"glide":0}'), now)),
              (change, lambda c, now: apply(c, parse_json('{"type":"intensity","value":1,"glide":0}'), now))]
    tl = run(c, gen, 24.0, script=script)
    bars = _bars(tl)
    first = next(t for t in bars if t > change + c.lookahead)  # the first bar line not yet scheduled
    before = [(a, b) for a, b in zip(bars, bars[1:]) if b <= change]
    assert before and all(len(_channels(tl, a, b)) <= 3 for a, b in before)
    assert _channels(tl, 0, change) <= {0, 1, 2}  # melody, pad and bass: the default's first layers
    assert _channels(tl, first, first + 2 * (bars[1] - bars[0])) == {0, 1, 2, 4, 5, 9}
    new = [e.time for e in tl.events if e.kind == "note_on" and e.channel in (4, 5, 9)]
    assert min(new) >= first - 0.03  # nothing new sounds before that bar line (lay-back aside)


def test_intensity_glide_layers_one_by_one_and_back(gen):
    c = Conductor(seed=3)
    script = [(0.0, lambda c, now: c.set_intensity(now, 0.0, 0.0)),
              (4.0, lambda c, now: c.set_intensity(now, 1.0, 10.0)),
              (20.0, lambda c, now: c.set_intensity(now, 0.0, 0.0))]
    tl = run(c, gen, 30.0, script=script)
    bars = _bars(tl)
    counts = [(a, len(_channels(tl, a, b))) for a, b in zip(bars, bars[1:])]
    rising = [n for t, n in counts if 4.0 <= t < 15.0]
    assert rising == sorted(rising) or sum(x > y for x, y in zip(rising, rising[1:])) <= 1
    assert max(n for t, n in counts if 14.0 <= t < 20.0) == 6
    assert max(n for t, n in counts if t > 21.0) <= 3


def test_default_intensity_follows_arousal(gen):
    calm, driving = Conductor(seed=1), Conductor(seed=1)
    calm.set_mood(0.0, -0.5, -1.0, 0.0)
    driving.set_mood(0.0, 0.5, 1.0, 0.0)
    assert calm.intensity_at(1.0) == 0.0 and driving.intensity_at(1.0) == 1.0
    quiet = run(calm, gen, 12.0)
    loud = run(driving, gen, 8.0)
    assert len(_channels(quiet, 0, 12)) <= 3 and len(_channels(loud, 0, 8)) == 6


def test_style_switches_at_the_next_bar(gen):
    c = Conductor(seed=4)
    change = 7.0
    tl = run(c, gen, 14.0, script=[(change, lambda c, now: apply(c, parse_json(
        '{"type":"style","name":"orchestral"}'), now))])
    first = next(t for t in _bars(tl) if t > change + c.lookahead)
    programs = [(e.time, e.channel, e.data1) for e in tl.events if e.kind == "program_change"]
    later = {(ch, p) for t, ch, p in programs if t > change}
    assert all(abs(t - first) < 1e-6 for t, ch, p in programs if t > change)
    assert (9, 48) in later and (1, 48) in later  # the orchestra kit; strings (both q1: v, a >= 0)
    assert c.style.name == "orchestral"
    with pytest.raises(ConfigError, match="style must be one of default, chiptune, electronic, orchestral"):
        apply(c, parse_json('{"type":"style","name":"jazz"}'), 14.0)


def test_same_seed_same_events_in_every_style(gen):
    for style in ("default", "chiptune"):
        runs = []
        for _ in range(2):
            c = Conductor(seed=9)
            c.set_style(style)
            runs.append(run(c, gen, 10.0, script=[(3.0, lambda c, now: c.set_intensity(now, 0.9))]).events)
        assert runs[0] == runs[1]


def test_phrase_events_carry_the_velocities_the_melody_is_played_at(gen):
    c = Conductor(seed=4)
    c.set_mood(0.0, 0.5, 0.2, glide=0.0)
    tl = run(c, gen, 24.0)
    phrases = [cb.event for cb in tl.callbacks if cb.event["type"] == "phrase"]
    played = sorted((round(e.time, 4), e.data1, e.data2) for e in tl.events
                    if e.kind == "note_on" and e.channel == 0 and e.data2 > 0)
    checked = 0
    for p in phrases[:2]:
        beat = 60.0 / p["tempo"]
        for n in p["notes"]:
            at = round(p["start_time"] + n["start"] * beat, 4)
            match = [x for x in played if abs(x[0] - at) < 2e-3 and x[1] == n["pitch"]]
            assert match and match[0][2] == n["velocity"], (n, match)
            checked += 1
    assert checked > 8
    assert len({n["velocity"] for p in phrases for n in p["notes"]}) > 3  # shaped, not one flat value
