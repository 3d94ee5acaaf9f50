"""RtMidiSink and MidiScheduler against a real JACK server (dummy driver, see conftest.py).

Receivers are JACK MIDI inputs in processes of their own (``jack_receiver.py``), as a synth
would be; they stamp arrivals with ``time.perf_counter`` (CLOCK_MONOTONIC, shared with this
process), so the lateness measured here includes up to one JACK period (256 frames at 48 kHz,
5.3 ms) of transport. JACK drops the MIDI of a cycle it misses (an xrun, on a loaded machine
without realtime scheduling): a scenario that loses messages is run again, at most twice, only
when jackd reported an xrun during it.
"""
from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import mido
import pytest

from moodscore.errors import OutputError
from moodscore.midi.scheduler import MidiScheduler, panic_messages
from moodscore.midi.sinks import RtMidiSink, available_ports
from support import JackReceiver as Receiver

if TYPE_CHECKING:
    from tests.conftest import JackServer

BOUND_S = 0.020  # generous: CI machines are busy
ATTEMPTS = 3


def wait_until(predicate: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def notes(start: float, pitches: list[int], step: float = 0.012, length: float = 0.008,
          channel: int = 0) -> list[tuple[float, mido.Message]]:
    out = []
    for i, pitch in enumerate(pitches):
        at = start + i * step
        out.append((at, mido.Message("note_on", channel=channel, note=pitch, velocity=90)))
        out.append((at + length, mido.Message("note_off", channel=channel, note=pitch)))
    return sorted(out, key=lambda e: e[0])


def hanging(messages: list[mido.Message]) -> dict[tuple[int, int], int]:
    count: dict[tuple[int, int], int] = {}
    for m in messages:
        if m.type in ("note_on", "note_off"):
            up = m.type == "note_on" and m.velocity > 0
            count[(m.channel, m.note)] = count.get((m.channel, m.note), 0) + (1 if up else -1)
    return {k: n for k, n in count.items() if n}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def with_xrun_retry(server: JackServer, scenario: Callable[[], None]) -> None:
    """Run ``scenario``; again if it failed while jackd reported an xrun (lost MIDI)."""
    for attempt in range(1, ATTEMPTS + 1):
        before = server.xruns()
        try:
            scenario()
            return
        except AssertionError as err:
            if server.xruns() == before or attempt == ATTEMPTS:
                raise
            first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
            print(f"\njackd reported {server.xruns() - before} xrun(s) (realtime: "
                  f"{server.realtime}) and the scenario failed ({first_line}); running it again")


def test_virtual_port_delivers_in_order_on_time_and_panics_on_stop(jack_server: JackServer) -> None:
    def scenario() -> None:
        client = f"moodscore-{secrets.token_hex(3)}"
        with RtMidiSink(virtual="out", api="jack", client_name=client) as sink:
            assert f"{client}:out" in mido.Backend("mido.backends.rtmidi/UNIX_JACK").get_input_names()
            receiver = Receiver(connect=f"{client}:out")  # an input on our port is connected to it
            sched = MidiScheduler(sink, reconnect_s=None).start()
            try:
                start = sched.now() + 0.05
                plan = notes(start, list(range(60, 72)))  # 24 events, 50..190 ms ahead
                held = mido.Message("note_on", channel=1, note=48, velocity=70)
                plan.append((start + 0.01, held))  # still sounding at stop(): panic ends it
                plan.append((start + 30.0, mido.Message("note_off", channel=1, note=48)))
                sched.schedule_many(plan)
                expected = sorted(plan[:-1], key=lambda e: e[0])
                assert receiver.wait_for(len(expected)) == [m for _, m in expected]
                late = [got - at for (got, _), (at, _) in zip(receiver.got, expected)]
                stats = sched.lateness_stats()
                print(f"\nJACK ({'realtime' if jack_server.realtime else 'no-realtime'}) arrival "
                      f"lateness over {len(late)} messages: p50 {percentile(late, 50) * 1e3:.2f}"
                      f" ms, p99 {percentile(late, 99) * 1e3:.2f} ms, max {max(late) * 1e3:.2f} ms;"
                      f" scheduler send lateness p50 {stats['p50_ms']:.3f} ms, p99 "
                      f"{stats['p99_ms']:.3f} ms, max {stats['max_ms']:.3f} ms")
                assert min(late) > -0.001, "a message arrived before it was due"
                assert max(late) < BOUND_S
                sched.stop(panic=True)
                got = receiver.wait_for(len(expected) + 1 + 64)
                assert got[len(expected):] == [
                    mido.Message("note_off", channel=1, note=48, velocity=0)] + panic_messages()
                assert hanging(got) == {}
            finally:
                sched.stop(panic=False)
                receiver.close()

    with_xrun_retry(jack_server, scenario)


def test_a_vanishing_port_is_survived_and_reconnected(jack_server: JackServer) -> None:
    def scenario() -> None:
        synth = f"fake-synth-{secrets.token_hex(3)}"
        receiver = Receiver(virtual=(synth, "in"))  # a virtual input, as a soft synth has
        sink = RtMidiSink(synth.upper(), api="jack").open()  # case-insensitive substring
        assert sink.port_name == f"{synth}:in"
        sched = MidiScheduler(sink, reconnect_s=0.05).start()
        try:
            first = notes(sched.now() + 0.05, [60, 62, 64])
            sched.schedule_many(first)
            assert receiver.wait_for(6) == [m for _, m in first]

            receiver.close()  # the synth quits
            assert wait_until(lambda: not sink.connected), "the sink missed the port vanishing"
            sched.schedule_many(notes(sched.now() + 0.02, [65, 67]))
            time.sleep(0.15)
            assert sink.dropped == 4 and sched.running and sched.error is None
            assert f"{synth}:in" not in available_ports("jack")

            receiver = Receiver(virtual=(synth, "in"))  # the synth is back
            assert wait_until(lambda: sink.connected), "the sink did not reconnect"
            assert sink.reconnects == 1
            again = notes(sched.now() + 0.05, [72, 74])
            sched.schedule_many(again)
            assert receiver.wait_for(4) == [m for _, m in again]
            sched.stop(panic=True)
            got = receiver.wait_for(4 + 64)
            assert got[4:] == panic_messages() and hanging(got) == {}
        finally:
            sched.stop(panic=False)
            sink.close()
            receiver.close()

    with_xrun_retry(jack_server, scenario)


def test_a_virtual_port_comes_back_after_a_server_restart(jack_server: JackServer) -> None:
    def scenario() -> None:
        client = f"moodscore-{secrets.token_hex(3)}"
        sink = RtMidiSink(virtual="out", api="jack", client_name=client).open()
        receiver = Receiver(connect=f"{client}:out")
        sched = MidiScheduler(sink, reconnect_s=0.05).start()
        try:
            sched.schedule_many(notes(sched.now() + 0.03, [60]))
            assert len(receiver.wait_for(2)) == 2
            jack_server.stop()  # the server dies under a live session
            sched.schedule_many(notes(sched.now() + 0.01, [62]))
            time.sleep(0.1)
            assert sched.running and sched.error is None
            receiver.close()
            jack_server.start()
            # rtmidi cannot tell that our own virtual port died with the server, so whoever
            # restarted JACK asks for the reconnect.
            assert sink.reconnect() and sink.connected
            receiver = Receiver(connect=f"{client}:out")
            again = notes(sched.now() + 0.05, [64, 65])
            sched.schedule_many(again)
            assert receiver.wait_for(4) == [m for _, m in again]
        finally:
            sched.stop(panic=False)
            sink.close()
            receiver.close()
            if jack_server.proc is None:
                jack_server.start()

    with_xrun_retry(jack_server, scenario)


def test_opening_a_missing_port_lists_what_there_is(jack_server: JackServer) -> None:
    client = f"moodscore-{secrets.token_hex(3)}"
    receiver = Receiver(virtual=(client, "present"))
    try:
        with pytest.raises(OutputError, match=rf"no MIDI output matching 'no-such-synth' on jack; "
                                              rf"available: .*{client}:present"):
            RtMidiSink("no-such-synth", api="jack").open()
    finally:
        receiver.close()


def test_no_jack_server_is_a_clear_output_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JACK_DEFAULT_SERVER", f"moodscore-absent-{secrets.token_hex(3)}")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    with pytest.raises(OutputError, match=r"virtual MIDI output 'out' on jack: .*not running"):
        RtMidiSink(virtual="out", api="jack").open()
    with pytest.raises(OutputError, match=r"cannot list MIDI outputs \(jack\): .*not running"):
        available_ports("jack")
