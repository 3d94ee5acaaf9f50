"""A musical stop: a cadence and a final chord at the next bar or phrase, then silence."""
from __future__ import annotations

import pytest

from moodscore.engine.conductor import Conductor
from moodscore.engine.offline import run
from moodscore.engine.protocol import ProtocolError, parse_json, parse_osc
from moodscore.engine.session import apply
from moodscore.errors import ConfigError
from moodscore.models.runtime import load_generator


@pytest.fixture(scope="module")
def gen():
    return load_generator("abc", prefer_gpu=False)


def _bars(tl):
    return [cb for cb in tl.callbacks if cb.event["type"] == "bar"]


def _sounding(tl, channel, t):
    return {p for on, off, ch, p, _ in tl.notes(channel) if on <= t + 1e-6 < off}


def _play_and_stop(gen, at, when=6.0, seconds=30.0):
    c = Conductor(seed=7)
    c.set_mood(0.0, 0.5, 0.2, glide=0.0)
    tl = run(c, gen, seconds, script=[(when, lambda c, now: apply(c, parse_json(
        '{"type": "stop", "at": "%s"}' % at), now))])
    return c, tl


@pytest.mark.parametrize("at", ["bar", "phrase"])
def test_stop_at_a_boundary_closes_on_a_cadence_and_a_final_chord(gen, at):
    c, tl = _play_and_stop(gen, at)
    assert not c.playing
    bars = _bars(tl)
    final = bars[-1]  # the final chord's bar is the last one begun
    stop_bar = max(b.event["bar"] for b in bars if b.time <= 6.0)
    if at == "bar":
        assert final.event["bar"] <= stop_bar + 3
    else:
        assert final.event["bar"] % 4 == 0  # the final chord lands on a phrase boundary
    cadence = bars[-2]
    assert {p % 12 for p in _sounding(tl, 1, final.time)} >= {0, 4, 7}  # C major: the tonic triad
    assert {p % 12 for p in _sounding(tl, 2, final.time)} == {0}
    before = {p % 12 for p in _sounding(tl, 1, cadence.time + (final.time - cadence.time) * 0.75)}
    assert {7, 11} <= before  # V (or V7) before it
    melody = tl.notes(0)
    assert melody[-1][3] % 12 == 0 and abs(melody[-1][0] - final.time) < 1e-6  # the tonic on it
    last_off = max(n[1] for n in tl.notes())
    assert last_off <= final.time + (final.time - cadence.time) + 1e-6  # silence after the final bar
    assert len([e for e in tl.events if e.kind == "note_on"]) == len([e for e in tl.events if e.kind == "note_off"])


def test_plain_stop_is_still_at_once(gen):
    c = Conductor(seed=7)
    tl = run(c, gen, 20.0, script=[(6.0, lambda c, now: apply(c, parse_json('{"type": "stop"}'), now))])
    assert not c.playing
    assert max(n[1] for n in tl.notes()) <= 6.0 + 1e-6


def test_stop_messages_on_the_wire():
    assert parse_json('{"type": "stop", "at": "phrase"}').at == "phrase"
    assert parse_osc("/mood/stop", ["bar"]).at == "bar"
    assert parse_osc("/mood/stop", []).at is None
    with pytest.raises(ProtocolError, match="at must be now .*bar or phrase") as err:
        parse_json('{"type": "stop", "at": "beat"}')
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="stop at must be"):
        Conductor().stop(0.0, at="soon")


def test_a_theme_message_opens_the_next_phrase_and_bad_ones_are_refused(gen):
    c = Conductor(seed=3)
    c.set_mood(0.0, 0.5, 0.2, glide=0.0)
    msg = parse_json('{"type": "theme", "abc": "M:4/4\\nL:1/4\\nK:G\\nBBcd|dcBA|"}')
    tl = run(c, gen, 25.0, script=[(3.0, lambda c, now: apply(c, msg, now))])
    phrases = [cb.event for cb in tl.callbacks if cb.event["type"] == "phrase" and cb.time > 3.0]
    assert any([n["pitch"] % 12 for n in p["notes"][:4]] == [4, 4, 5, 7] for p in phrases)
    with pytest.raises(ProtocolError, match="K: must name") as err:
        parse_json('{"type": "theme", "abc": "K:H\\nabc|"}')
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="the theme is in 3/4"):
        apply(Conductor(), parse_json('{"type": "theme", "abc": "M:3/4\\nK:C\\nC2D2E2|"}'), 0.0)
