from __future__ import annotations

import pytest

from moodscore.engine.clock import TempoMap
from moodscore.engine.mood import MoodState


def test_glide_is_linear_and_reaches_the_target():
    m = MoodState(default_glide=2.0)
    m.set(10.0, 1.0, -1.0)
    assert m.at(10.0) == (0.0, 0.0)
    assert m.at(11.0) == pytest.approx((0.5, -0.5))
    assert m.at(12.0) == (1.0, -1.0) and m.settled(12.5)


def test_burst_of_targets_coalesces_and_continues_from_where_it_was():
    m = MoodState(default_glide=1.0)
    for i in range(6000):  # 100 s of a 60 fps tracker
        m.set(i / 60, 0.5, 0.5)
    assert m.updates == 6000 and m.coalesced > 0
    m.set(200.0, -1.0, None, glide=0.5)
    assert m.at(200.25) == pytest.approx((-0.25, 0.5))  # arousal kept its target
    m.set(200.25, 1.0, 1.0, glide=0)
    assert m.at(200.25) == (1.0, 1.0)


def test_values_are_clamped():
    m = MoodState()
    m.set(0, 3.0, -7.0, glide=0)
    assert m.at(1) == (1.0, -1.0)


def test_tempo_map_round_trips_and_changes_on_beats():
    tm = TempoMap(bpm=120, origin=5.0)
    assert tm.time_at(4) == pytest.approx(7.0)
    tm.set_tempo(4, 60)
    assert tm.time_at(5) == pytest.approx(8.0)
    assert tm.beat_at(8.0) == pytest.approx(5.0)
    assert tm.tempo_at(3.9) == 120 and tm.tempo_at(4) == 60
    for b in (0.0, 1.5, 4.0, 7.25):
        assert tm.beat_at(tm.time_at(b)) == pytest.approx(b)
    tm.set_tempo(2, 240)  # replaces everything from beat 2 on
    assert tm.time_at(6) == pytest.approx(5.0 + 1.0 + 4 * 0.25)
    with pytest.raises(ValueError):
        tm.set_tempo(8, 0)


def test_tempo_map_prunes_but_keeps_time():
    tm = TempoMap()
    for beat in range(1000):
        tm.set_tempo(beat, 100 + beat % 7)
    t = tm.time_at(999.5)
    tm.prune(990)
    assert len(tm) < 15
    assert tm.time_at(999.5) == pytest.approx(t)
