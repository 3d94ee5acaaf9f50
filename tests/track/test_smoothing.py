from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moodscore.track.settings import TrackSettings
from moodscore.track.smoothing import MoodSmoother


def smoother(**kw: float) -> MoodSmoother:
    return MoodSmoother(TrackSettings(**kw))  # type: ignore[arg-type]


def test_no_mood_before_the_first_face_then_the_first_face_at_once() -> None:
    s = smoother()
    assert s.update(0.0, None) is None and s.update(5.0, None) is None
    assert s.update(5.1, (0.8, 0.5)) == (0.8, 0.5)


def test_exponential_step_follows_the_time_constant() -> None:
    s = smoother(smoothing_s=0.5)
    s.update(0.0, (0.0, 0.0))
    v, a = s.update(0.5, (1.0, -1.0))  # type: ignore[misc]
    k = 1 - math.exp(-1)
    assert (v, a) == pytest.approx((k, -k))


def test_result_depends_on_elapsed_time_not_on_the_frame_rate() -> None:
    slow, fast = smoother(smoothing_s=0.4), smoother(smoothing_s=0.4)
    slow.update(0.0, (-0.5, 0.0))
    fast.update(0.0, (-0.5, 0.0))
    for i in range(1, 4):  # 3 frames at 10 fps against 30 at 100 fps
        slow.update(i * 0.1, (0.9, 0.6))
    for i in range(1, 31):
        fast.update(i * 0.01, (0.9, 0.6))
    assert fast.mood == pytest.approx(slow.mood, abs=1e-12)


def test_holds_then_decays_to_neutral_whatever_the_frame_rate() -> None:
    for step in (0.01, 0.1, 0.7):
        s = smoother(hold_s=2.0, decay_s=3.0)
        s.update(0.0, (0.8, 0.6))
        for i in range(1, int(1.99 / step) + 1):
            assert s.update(i * step, None) == (0.8, 0.6), (step, i)  # held
        s.update(5.0, None)
        f = math.exp(-(5.0 - 2.0) / 3.0)
        assert s.mood == pytest.approx((0.8 * f, 0.6 * f)), step
        assert s.update(200.0, None) == pytest.approx((0.0, 0.0), abs=1e-12)
        assert s.since_face() == pytest.approx(200.0)


def test_a_face_after_the_fade_is_smoothed_from_where_the_fade_got_to() -> None:
    s = smoother(smoothing_s=1.0, hold_s=0.0, decay_s=1.0)
    s.update(0.0, (1.0, 1.0))
    faded = s.update(1.0, None)
    assert faded == pytest.approx((math.exp(-1), math.exp(-1)))
    back = s.update(2.0, (1.0, 1.0))
    k = 1 - math.exp(-1)
    assert back == pytest.approx((faded[0] + k * (1 - faded[0]),) * 2)  # type: ignore[index]


def test_nan_is_never_let_in_and_values_are_clamped() -> None:
    s = smoother()
    assert s.update(0.0, (float("nan"), 0.2)) is None
    s.update(0.1, (0.5, 0.5))
    assert s.update(0.2, (float("inf"), 0.0)) == (0.5, 0.5)  # like a frame without a face
    s2 = smoother(smoothing_s=0.0)
    assert s2.update(0.0, (3.0, -7.0)) == (1.0, -1.0)


def test_a_clock_that_steps_back_adds_no_time() -> None:
    s = smoother(smoothing_s=1.0, hold_s=0.0, decay_s=1.0)
    s.update(10.0, (0.5, 0.5))
    assert s.update(9.0, (1.0, 1.0)) == (0.5, 0.5)


@given(st.lists(st.tuples(st.floats(0, 0.5),
                          st.one_of(st.none(), st.tuples(st.floats(allow_nan=True), st.floats(allow_nan=True)))),
                max_size=50),
       st.floats(0, 5), st.floats(0, 5), st.floats(0, 5))
def test_never_nan_never_out_of_range(steps: list, smoothing: float, hold: float, decay: float) -> None:
    s = smoother(smoothing_s=smoothing, hold_s=hold, decay_s=decay)
    t = 0.0
    for dt, observed in steps:
        t += dt
        mood = s.update(t, observed)
        if mood is not None:
            assert all(math.isfinite(x) and -1 <= x <= 1 for x in mood), (mood, steps)
