"""The sessions bench: the host-only figure on a virtual clock, repeatable; each count of sessions
in a process of its own; memory per added session as a slope."""
import os

import pytest

from moodscore.errors import BenchError
from moodscore.host.bench import _isolated, hold, host_work, rss_per_added_session


def test_host_work_is_a_positive_figure_and_the_same_output_every_run():
    first, digest = host_work(4, 12.0)
    again, same = host_work(4, 12.0)
    other, different = host_work(4, 12.0, seed=2)  # other moods: other music
    assert first > 0 and again > 0 and other > 0
    assert digest == same
    assert digest != different


@pytest.mark.skipif(not hasattr(os, "fork"), reason="runs in the process itself where there is no fork")
def test_a_count_runs_in_a_child_and_returns_its_value_or_its_error():
    seen: list[int] = []

    def work() -> tuple[int, int]:
        seen.append(1)  # in the child's memory only
        return os.getpid(), 42

    pid, value = _isolated(work)
    assert value == 42 and pid != os.getpid() and seen == []

    def fails() -> None:
        raise ValueError("no such mood")

    with pytest.raises(BenchError, match="ValueError: no such mood"):
        _isolated(fails)


def test_rss_per_added_session_is_the_slope_over_runs():
    assert rss_per_added_session([(100, 20.0), (200, 30.0), (300, 40.0)]) == pytest.approx(102.4)
    assert rss_per_added_session([(100, 20.0), (200, 21.0), (100, 22.0)]) is None  # two counts: no slope


def test_a_short_hold_in_its_own_process_plays_every_session():
    h = _isolated(lambda: hold(6, 120.0, 3.0, model="lstm", max_batch=8))
    assert h.sessions == 6 and h.phrases >= 6 and h.misses == 0
    assert h.cpu_per_session_ms > 0 and h.rss_growth_mb == pytest.approx(h.rss_per_session_kb * 6 / 1024)


def test_the_memory_a_session_holds_is_traced_per_session():
    few, digest = _isolated(lambda: host_work(4, 12.0, memory=True))
    assert digest == "" and 10 < few < 5000  # KB: a session's conductor, queues and arrangements
