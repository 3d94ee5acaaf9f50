"""BrowserSink: what the scheduler sends reaches the hub as ``midi`` events, batched, on time."""
from __future__ import annotations

import asyncio
import json
import time

import mido
import pytest

from moodscore.demo.sink import BrowserSink
from moodscore.engine.protocol import event_json, parse_json
from moodscore.midi.scheduler import MidiScheduler, panic_messages


def run_loop(body):
    return asyncio.run(body())


def test_messages_become_midi_events_with_their_bytes_and_programs_are_remembered():
    async def body():
        got: list[dict] = []
        sink = BrowserSink(got.append, asyncio.get_running_loop()).open()
        sink.send(mido.Message("program_change", channel=2, program=33))
        sink.send(mido.Message("note_on", channel=0, note=60, velocity=93))
        sink.send(mido.Message("clock"))  # realtime: no use to a page
        await asyncio.sleep(0.01)
        sink.send(mido.Message("note_off", channel=0, note=60, velocity=0))
        await asyncio.sleep(0.01)
        return got, sink

    got, sink = run_loop(body)
    assert [e["data"] for e in got] == [[[0xC2, 33], [0x90, 60, 93]], [[0x80, 60, 0]]]
    assert all(e["type"] == "midi" and isinstance(e["time"], float) for e in got)
    assert sink.programs() == {2: 33}
    assert (sink.published, sink.events) == (3, 2)
    for event in got:  # the protocol's own model accepts them, as the hub will send them
        assert event_json(event).startswith('{"type":"midi"')


def test_a_panic_travels_as_one_event():
    async def body():
        got: list[dict] = []
        sink = BrowserSink(got.append, asyncio.get_running_loop()).open()
        for msg in panic_messages():  # 64 controller messages from another thread's burst
            sink.send(msg)
        await asyncio.sleep(0.01)
        return got

    got = run_loop(body)
    assert len(got) == 1 and len(got[0]["data"]) == 64
    assert {tuple(d) for d in got[0]["data"]} == {(0xB0 | ch, cc, 0) for ch in range(16) for cc in (123, 120, 121, 64)}


def test_scheduled_notes_are_published_when_they_are_due():
    """The scheduler thread sends; the loop publishes within a few milliseconds of the due time."""
    async def body():
        arrivals: list[tuple[float, dict]] = []
        sink = BrowserSink(lambda e: arrivals.append((time.perf_counter(), e)), asyncio.get_running_loop()).open()
        scheduler = MidiScheduler(sink).start()
        start = time.perf_counter() + 0.05
        due = [start + 0.05 * i for i in range(10)]
        scheduler.schedule_many((t, mido.Message("note_on", note=60 + i, velocity=80)) for i, t in enumerate(due))
        await asyncio.sleep(0.7)
        scheduler.stop(panic=False)
        return arrivals, due

    arrivals, due = run_loop(body)
    notes = [(at, e) for at, e in arrivals if e["data"][0][0] == 0x90]
    assert [e["data"][0][1] for _, e in notes] == list(range(60, 70))
    late = [at - t for (at, _), t in zip(notes, due)]
    assert min(late) >= 0, "published before it was due"
    assert sorted(late)[len(late) // 2] < 0.01, f"median delay {sorted(late)[len(late) // 2] * 1e3:.1f} ms"


def test_after_the_loop_is_closed_messages_are_dropped_and_counted_not_raised():
    loop = asyncio.new_event_loop()
    sink = BrowserSink(lambda e: None, loop).open()
    loop.close()
    sink.send(mido.Message("note_on", note=60))
    assert not sink.connected and sink.dropped == 1


@pytest.mark.parametrize("events, ok", [(["midi"], True), (["beat", "midi"], True), (["notes"], False)])
def test_subscribing_to_midi_is_part_of_the_protocol(events, ok):
    message = json.dumps({"type": "subscribe", "events": events})
    if ok:
        assert parse_json(message).events == tuple(events)
    else:
        with pytest.raises(ValueError, match="beat, bar, phrase, midi"):
            parse_json(message)
    assert "midi" not in parse_json('{"type": "subscribe"}').events  # only when asked for
