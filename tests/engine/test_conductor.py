"""The conductor on a virtual clock: continuity, transitions, misses, stingers, determinism."""
from __future__ import annotations

import numpy as np
import pytest

from moodscore.engine.conductor import Conductor
from moodscore.engine.offline import fulfil, run
from moodscore.errors import ConfigError
from moodscore.models.runtime import load_generator


@pytest.fixture(scope="module")
def gen():
    return load_generator("abc", prefer_gpu=False)


def _mood(v, a, glide=0.2):
    return lambda c, now: c.set_mood(now, v, a, glide=glide)


def _no_stuck_notes(tl):
    depth: dict = {}
    for e in sorted(tl.events, key=lambda e: (e.time, e.kind != "note_off")):
        key = (e.channel, e.data1)
        if e.kind == "note_on":
            depth[key] = depth.get(key, 0) + 1
        elif e.kind == "note_off":
            depth[key] = depth.get(key, 0) - 1
    return all(v <= 0 for v in depth.values())


def test_plays_without_gaps_and_ends_every_note(gen):
    c = Conductor(seed=3)
    tl = run(c, gen, 40.0)
    bars = [cb for cb in tl.callbacks if cb.event["type"] == "bar"]
    beats = [cb for cb in tl.callbacks if cb.event["type"] == "beat"]
    assert len(bars) >= 15 and c.misses == 0
    gaps = np.diff([b.time for b in beats])
    assert gaps.max() < 0.75 and gaps.min() > 0.3  # about 122 BPM, steady
    melody = tl.notes(channel=0)
    starts = [n[0] for n in melody]
    assert max(np.diff(starts)) < 4.0  # music never stops for long
    assert _no_stuck_notes(tl)


@pytest.mark.parametrize("transition, worst_bars", [("bar", 1.2), ("beat", 0.5), ("immediate", 0.5),
                                                      ("phrase", 4.2)])
def test_content_follows_the_mood_per_transition(gen, transition, worst_bars):
    c = Conductor(seed=4, transition=transition)
    change = 9.0
    tl = run(c, gen, 30.0, script=[(change, _mood(-0.9, 0.9))])
    phrases = [cb for cb in tl.callbacks if cb.event["type"] == "phrase" and cb.time > change]
    first = phrases[0]
    bar_seconds = 4 * 60 / 122
    assert first.time - change < worst_bars * bar_seconds + 0.3, (transition, first.time - change)
    after = [n for n in tl.notes(channel=0) if n[0] > first.time + 0.01]
    before = [n for n in tl.notes(channel=0) if n[0] < change]
    assert np.mean([n[4] for n in after]) > np.mean([n[4] for n in before]) + 15  # louder
    assert first.event["tempo"] > 180
    assert _no_stuck_notes(tl)


def test_expression_changes_at_the_next_beat_even_when_content_waits(gen):
    c = Conductor(seed=5, transition="phrase")
    tl = run(c, gen, 12.0, script=[(4.0, _mood(0.9, 0.9, glide=0.0))])
    beats = [cb for cb in tl.callbacks if cb.event["type"] == "beat"]
    later = [b for b in beats if b.time > 4.0 + c.lookahead + 0.6]
    assert later and later[0].event["tempo"] > 170


def test_a_missed_deadline_plays_a_variation_not_silence(gen):
    c = Conductor(seed=6)
    slow = {"n": 0}

    def flaky(conductor, generator, request):
        slow["n"] += 1
        if slow["n"] in (2, 3):  # the 2nd and 3rd phrases never arrive
            return
        fulfil(conductor, generator, request)

    tl = run(c, gen, 30.0, fulfil_request=flaky)
    assert c.misses >= 4
    variations = [cb for cb in tl.callbacks if cb.event["type"] == "phrase" and cb.event["variation"]]
    assert variations
    starts = [n[0] for n in tl.notes(channel=0)]
    assert max(np.diff(starts)) < 4.0
    assert _no_stuck_notes(tl)


def test_stinger_on_the_next_beat_with_cooldown(gen):
    c = Conductor(seed=7, stinger_cooldown=2.0)
    results = []
    script = [(5.0, lambda c, now: results.append(c.stinger(now, "victory"))),
              (5.5, lambda c, now: results.append(c.stinger(now, "victory"))),
              (8.0, lambda c, now: results.append(c.stinger(now, "rise")))]
    tl = run(c, gen, 12.0, script=script)
    assert results == [True, False, True] and c.stingers_refused == 1
    sting = tl.notes(channel=3)
    assert sting and min(n[0] for n in sting) > 5.0
    beats = [cb.time for cb in tl.callbacks if cb.event["type"] == "beat"]
    assert min(abs(b - sting[0][0]) for b in beats) < 1e-6  # lands on a beat
    with pytest.raises(ConfigError, match="stinger must be one of"):
        c.stinger(20.0, "kazoo")


def test_tempo_override_and_back(gen):
    c = Conductor(seed=8)
    tl = run(c, gen, 16.0, script=[(3.0, lambda c, now: c.set_tempo_override(90)),
                                   (9.0, lambda c, now: c.set_tempo_override(0))])
    tempos = [(cb.time, cb.event["tempo"]) for cb in tl.callbacks if cb.event["type"] == "beat"]
    assert any(t == 90 for x, t in tempos if 4 < x < 9)
    assert all(abs(t - 121.75) < 1 for x, t in tempos if x > 10)
    with pytest.raises(ConfigError, match="20..300"):
        c.set_tempo_override(500)


def test_same_seed_and_events_same_music(gen):
    script = [(6.0, _mood(-0.5, -0.7)), (14.0, _mood(0.7, 0.6))]
    a = run(Conductor(seed=9), gen, 24.0, script=script)
    b = run(Conductor(seed=9), gen, 24.0, script=script)
    assert a.events == b.events and len(a.events) > 100
    c = run(Conductor(seed=10), gen, 24.0, script=script)
    assert c.events != a.events


def test_stop_cuts_and_bad_transition(gen):
    c = Conductor(seed=11)
    tl = run(c, gen, 10.0, script=[(5.0, lambda c, now: c.stop(now))])
    assert max(e.time for e in tl.events) <= 5.0 + 1e-9
    assert _no_stuck_notes(tl)
    with pytest.raises(ConfigError, match="immediate, beat, bar, phrase"):
        c.set_transition("soon")


@pytest.mark.parametrize("transition", ["immediate", "beat", "bar", "phrase"])
def test_bar_numbers_never_repeat_across_re_anchored_phrases(gen, transition):
    # a game counts bars from the events: a change that starts a new phrase mid-bar (immediate,
    # beat) must not restart the count, and beats must stay inside the bar they name
    c = Conductor(transition=transition, seed=4)
    script = [(t, _mood(v, a, glide=0)) for t, v, a in
              ((3.3, 0.8, 0.8), (7.1, -0.8, -0.8), (7.4, 0.7, -0.7), (12.05, -0.7, 0.9))]
    tl = run(c, gen, 20.0, script=script)
    events = sorted((cb.time, cb.event["type"], cb.event["bar"], cb.event["beat"])
                    for cb in tl.callbacks if cb.event["type"] in ("bar", "beat"))
    bars = [bar for _, kind, bar, _ in events if kind == "bar"]
    assert bars == sorted(set(bars)) and len(bars) >= 5, bars  # strictly increasing
    beat_bars = [bar for _, kind, bar, _ in events if kind == "beat"]
    assert beat_bars == sorted(beat_bars)  # never back to an earlier bar
    for (_, kind, bar, beat) in events:
        if kind == "bar":
            assert beat == 0


def test_phrase_events_carry_the_key_the_phrase_is_written_in(gen):
    from moodscore.engine.template import controls
    from moodscore.models.abc import key_field

    for v, a in ((-0.8, -0.8), (0.8, 0.6), (0.1, 0.0)):
        c = Conductor(seed=2)
        c.set_mood(0.0, v, a, glide=0)
        tl = run(c, gen, 6.0)
        keys = {cb.event["key"] for cb in tl.callbacks if cb.event["type"] == "phrase"}
        assert keys == {key_field(controls(v, a).mode)}, (v, a, keys)
