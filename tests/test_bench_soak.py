"""``moodscore bench soak`` end to end, briefly: a real engine under fuzzed OSC and WebSocket
traffic keeps playing, refuses the hostile part, hangs no note and reports its figures."""
from __future__ import annotations

from moodscore.bench_soak import Fuzzer, run


def test_the_fuzzer_is_reproducible_and_mixes_valid_and_hostile_input() -> None:
    a, b = Fuzzer(3), Fuzzer(3)
    assert [a.osc() for _ in range(50)] == [b.osc() for _ in range(50)]
    c = Fuzzer(4)
    assert len({str(c.json()) for _ in range(50)}) > 10


def test_a_short_soak_keeps_the_engine_playing_and_reports(capsys) -> None:
    figures = run(0.15, rate=400, model="lstm")
    out = capsys.readouterr().out
    for line in ("applied", "refused", "deadline misses", "lateness p99/max", "stuck notes", "RSS"):
        assert line in out
    assert figures["alive_to_the_end"] and figures["exit_code"] == 0
    assert figures["sent_osc"] + figures["sent_ws"] > 0.8 * 400 * 9
    assert figures["ws_replies"] == figures["sent_ws"]  # every WebSocket message answered
    assert figures["applied"] > 0 and figures["refused_by_kind"]["osc"] > 0
    assert figures["stuck_notes"] == 0
    assert figures["phrases"] > 0
