from __future__ import annotations

import signal
import threading
import time

import mido
import pytest

from moodscore.errors import ConfigError, MoodscoreError
from moodscore.midi.scheduler import (
    MidiScheduler,
    install_signal_handlers,
    panic_messages,
)
from moodscore.midi.sinks import ListSink


def on(pitch: int, channel: int = 0, velocity: int = 80) -> mido.Message:
    return mido.Message("note_on", channel=channel, note=pitch, velocity=velocity)


def off(pitch: int, channel: int = 0) -> mido.Message:
    return mido.Message("note_off", channel=channel, note=pitch)


def sent(sink: ListSink) -> list[tuple[float, str, int | None]]:
    """(time, type, note or control) of what reached the sink."""
    return [(t, m.type, getattr(m, "note", getattr(m, "control", None))) for t, m in sink.messages]


def hanging(sink: ListSink) -> dict[tuple[int, int], int]:
    count: dict[tuple[int, int], int] = {}
    for _, m in sink.messages:
        if m.type in ("note_on", "note_off"):
            key = (m.channel, m.note)
            delta = 1 if m.type == "note_on" and m.velocity > 0 else -1
            count[key] = max(0, count.get(key, 0) + delta)
    return {k: n for k, n in count.items() if n}


@pytest.fixture
def offline(vclock):
    sink = ListSink(clock=vclock).open()
    return MidiScheduler(sink, clock=vclock, reconnect_s=None), sink


def test_events_go_out_by_time_then_note_offs_first_then_insertion_order(offline, vclock) -> None:
    sched, sink = offline
    cc = mido.Message("control_change", control=7, value=100)
    sched.schedule_many([(2.0, on(62)), (1.0, on(60)), (1.0, cc), (2.0, off(60)),
                         (2.0, on(60, velocity=0)), (0.5, mido.Message("program_change"))])
    vclock.t = 5.0
    assert sched.flush_until(5.0) == 6
    assert [(t, kind, n) for t, kind, n in sent(sink)] == [
        (5.0, "program_change", None), (5.0, "note_on", 60), (5.0, "control_change", 7),
        (5.0, "note_off", 60), (5.0, "note_on", 60), (5.0, "note_on", 62)]
    assert [m.velocity for _, m in sink.messages if m.type == "note_on"] == [80, 0, 80]
    assert sched.sounding() == {(0, 62): 1}


def test_schedule_rejects_bad_times_and_messages(offline) -> None:
    sched, _ = offline
    with pytest.raises(ConfigError, match="finite"):
        sched.schedule(float("nan"), on(60))
    with pytest.raises(ConfigError, match="mido.Message"):
        sched.schedule(0.0, b"\x90\x3c\x40")


def test_cancel_after_ends_sounding_notes_at_the_cut(offline, vclock) -> None:
    sched, sink = offline
    sched.schedule_many([(0.0, on(60)), (2.0, off(60)),      # sounds across the cut
                         (0.5, on(64)), (0.8, off(64)),      # ends before it
                         (1.5, on(67)), (3.0, off(67)),      # starts after it: dropped
                         (1.2, on(48, channel=1)), (1.9, off(48, channel=1))])
    sched.flush_until(0.1)  # note 60 is already sounding
    assert sched.cancel_after(1.0, channels=[0]) == 3  # off 60 at 2.0, on/off 67
    vclock.t = 10.0
    sched.flush_until(10.0)
    assert hanging(sink) == {}
    assert [(m.type, m.note) for _, m in sink.messages] == [
        ("note_on", 60), ("note_on", 64), ("note_off", 64), ("note_off", 60),
        ("note_on", 48), ("note_off", 48)]
    # The note-off for 60 was scheduled at the cut, before channel 1's 1.2 s note.
    assert sched.pending == 0


def test_cancel_after_with_hold_keeps_the_scheduled_note_offs(vclock) -> None:
    sink = ListSink(clock=vclock).open()
    sched = MidiScheduler(sink, clock=vclock, reconnect_s=None)
    sched.schedule_many([(0.0, on(60)), (2.0, off(60)), (0.5, on(62)), (1.5, on(67)),
                         (3.0, off(67))])
    assert sched.cancel_after(1.0, hold=True) == 2
    events = []
    for t in (0.0, 0.5, 1.0, 2.0, 3.0):
        vclock.t = t
        sched.flush_until(t)
    events = [(t, m.type, m.note) for t, m in sink.messages]
    # 60 keeps its own off at 2.0; 62 had none pending, so it ends at the cut.
    assert events == [(0.0, "note_on", 60), (0.5, "note_on", 62), (1.0, "note_off", 62),
                      (2.0, "note_off", 60)]
    assert hanging(sink) == {}


def test_panic_ends_sounding_notes_then_resets_all_channels(offline) -> None:
    sched, sink = offline
    sched.schedule_many([(0.0, on(60)), (0.0, on(60)), (0.0, on(40, channel=9)), (5.0, off(60)),
                         (6.0, on(72))])
    sched.flush_until(0.0)
    sink.messages.clear()
    sched.panic()
    got = [m for _, m in sink.messages]
    assert got[:3] == [mido.Message("note_off", channel=0, note=60, velocity=0)] * 2 + [
        mido.Message("note_off", channel=9, note=40, velocity=0)]
    assert got[3:] == panic_messages()
    assert len(got[3:]) == 64
    assert [(m.channel, m.control, m.value) for m in got[3:7]] == [
        (0, 123, 0), (0, 120, 0), (0, 121, 0), (0, 64, 0)]
    assert {m.channel for m in got[3:]} == set(range(16))
    assert sched.pending == 0 and sched.sounding() == {}


def test_thread_sends_on_time_and_records_lateness() -> None:
    sink = ListSink().open()
    sched = MidiScheduler(sink, reconnect_s=None).start()
    t0 = sched.now() + 0.03
    plan = [(t0 + i * 0.01, on(60 + i)) for i in range(5)] + [
        (t0 + i * 0.01 + 0.005, off(60 + i)) for i in range(5)]
    sched.schedule_many(plan[::-1])
    time.sleep(0.12)
    sched.stop(panic=False)
    assert sched.error is None
    expected = sorted(plan, key=lambda e: e[0])
    assert [m for _, m in sink.messages] == [m for _, m in expected]
    late = [t - at for (t, _), (at, _) in zip(sink.messages, expected)]
    assert min(late) >= 0  # never early
    stats = sched.lateness_stats()
    print(f"\nListSink lateness: {stats}")
    assert stats["count"] == 10
    assert 0 <= stats["p50_ms"] <= stats["p99_ms"] <= stats["max_ms"] < 50


def test_an_earlier_event_wakes_the_sleeping_thread() -> None:
    sink = ListSink().open()
    sched = MidiScheduler(sink, reconnect_s=None).start()
    sched.schedule(sched.now() + 60, on(72))
    time.sleep(0.01)
    soon = sched.now() + 0.02
    sched.schedule(soon, on(60))
    time.sleep(0.08)
    assert [(m.note) for _, m in sink.messages] == [60]
    assert sink.messages[0][0] - soon < 0.05
    sched.stop(panic=True)
    assert hanging(sink) == {} and sched.pending == 0


def test_stop_sends_the_panic_and_stop_without_panic_does_not() -> None:
    for panic in (True, False):
        sink = ListSink().open()
        sched = MidiScheduler(sink, reconnect_s=None).start()
        sched.schedule_many([(sched.now(), on(60)), (sched.now() + 10, off(60))])
        time.sleep(0.03)
        sched.stop(panic=panic)
        got = [m for _, m in sink.messages]
        if panic:
            assert got == [on(60), off(60).copy(velocity=0)] + panic_messages()
        else:
            assert got == [on(60)] and sched.pending == 1


class ExplodingSink(ListSink):
    """Fails once on note 99, as a bug in a backend would."""

    def send(self, msg: mido.Message, at: float | None = None) -> None:
        if getattr(msg, "note", None) == 99:
            raise RuntimeError("backend bug")
        super().send(msg, at)


def test_an_exception_in_the_thread_sends_the_panic() -> None:
    sink = ExplodingSink().open()
    sched = MidiScheduler(sink, reconnect_s=None).start()
    now = sched.now()
    sched.schedule_many([(now, on(60)), (now + 0.02, on(99)), (now + 1, off(60))])
    deadline = time.monotonic() + 2
    while sched.running and time.monotonic() < deadline:
        time.sleep(0.005)
    assert isinstance(sched.error, RuntimeError) and not sched.running
    assert [m for _, m in sink.messages] == [on(60), off(60).copy(velocity=0)] + panic_messages()


def test_midi_clock_24_per_beat_with_start_and_stop(offline, vclock) -> None:
    sched, sink = offline
    sched.clock_out(lambda: 120.0, at=0.0)
    sched.schedule(0.0, on(60))
    vclock.t = 0.5
    sched.flush_until(0.5)
    kinds = [m.type for _, m in sink.messages]
    assert kinds[:2] == ["start", "clock"] and kinds[-1] == "clock"
    ticks = [t for t, m in sink.messages if m.type == "clock"]
    assert len(ticks) == 25  # 0 .. 0.5 s at 48 ticks per second
    assert sched.cancel_after(0.0) == 0  # the clock survives cuts
    sched.panic()  # ... and panics
    sched.clock_stop(at=0.6)
    sink.messages.clear()
    sched.flush_until(5.0)
    assert [m.type for _, m in sink.messages] == ["stop"]


def test_clock_follows_the_tempo_function(offline, vclock) -> None:
    sched, sink = offline
    bpm = iter([60.0] * 24 + [float("nan")] + [240.0] * 100)
    sched.clock_out(lambda: next(bpm), at=0.0)
    while (t := sched.next_time()) is not None and t <= 1.5:
        vclock.t = t
        sched.flush_until(t)
    ticks = [t for t, m in sink.messages if m.type == "clock"]
    gaps = [round((b - a) * 96, 6) for a, b in zip(ticks, ticks[1:])]  # in 1/96 s
    # 60 bpm is 4/96 s a tick; the bad value at the 25th tick keeps it; then 240 bpm.
    assert gaps[:25] == [4.0] * 25 and set(gaps[25:]) == {1.0}


def test_lateness_stats_start_empty(offline) -> None:
    sched, _ = offline
    assert sched.lateness_stats() == {"count": 0, "p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}


@pytest.mark.parametrize(("signum", "raised"), [(signal.SIGTERM, SystemExit),
                                                 (signal.SIGINT, KeyboardInterrupt)])
def test_signal_handler_panics_then_exits(signum, raised) -> None:
    sink = ListSink().open()
    sched = MidiScheduler(sink, reconnect_s=None).start()
    before = signal.getsignal(signum)
    restore = install_signal_handlers(sched)
    try:
        sched.schedule_many([(sched.now(), on(60)), (sched.now() + 10, off(60))])
        time.sleep(0.03)
        with pytest.raises(raised) as info:
            signal.raise_signal(signum)
        if raised is SystemExit:
            assert info.value.code == 128 + signal.SIGTERM
        assert not sched.running
        assert [m for _, m in sink.messages] == [on(60), off(60).copy(velocity=0)] + panic_messages()
        assert signal.getsignal(signum) is before  # a second signal acts as before
    finally:
        restore()
        sched.stop(panic=False)


def test_signal_handlers_need_the_main_thread() -> None:
    sched = MidiScheduler(ListSink().open(), reconnect_s=None)
    errors: list[BaseException] = []

    def install() -> None:
        try:
            install_signal_handlers(sched)
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=install)
    thread.start()
    thread.join()
    assert len(errors) == 1 and isinstance(errors[0], MoodscoreError)
