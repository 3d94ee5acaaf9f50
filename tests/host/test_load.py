"""How busy a thread has been lately: spans counted over a window, an open span included."""
from __future__ import annotations

from moodscore.host.load import CpuShare, Share


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_share_counts_the_spans_of_its_last_window_and_an_open_one():
    clock = Clock()
    share = Share(window=4.0, clock=clock)
    assert share.of_last() is None  # nothing seen yet
    for _ in range(8):  # 0.1 s in, 0.4 s out, each half second: a fifth of the time
        share.begin()
        clock.now += 0.1
        share.end()
        clock.now += 0.4
    assert abs(share.of_last() - 0.2) < 0.03
    share.begin()  # then one span that goes on: it counts as it goes
    clock.now += 3.0
    assert share.of_last() > 0.7
    clock.now += 3.0  # six seconds in it: nearly all the window (from the last sample before it)
    assert share.of_last() > 0.9
    share.end()
    for _ in range(20):  # and out of it for a while: the window forgets it
        clock.now += 0.5
        share.mark()
    assert share.of_last() == 0.0


def test_a_share_needs_half_a_window_of_history():
    clock = Clock()
    share = Share(window=4.0, clock=clock)
    share.begin()
    clock.now += 1.0
    share.end()
    assert share.of_last() is None
    clock.now += 1.5
    assert share.of_last() == 1.0 / 2.5


def test_the_cpu_share_is_the_processs_cpu_time_over_the_cores_it_may_use():
    clock, used = Clock(), [0.0]
    share = CpuShare(window=4.0, cores=2, clock=clock, cpu=lambda: used[0])
    for _ in range(16):  # 0.75 s of CPU each half second, on two cores: 75% of one, 37.5% of both
        clock.now += 0.5
        used[0] += 0.375
        share.mark()
    assert share.of_last() == 0.375
    for _ in range(16):  # then all of both
        clock.now += 0.5
        used[0] += 1.0
        share.mark()
    assert share.of_last() == 1.0
