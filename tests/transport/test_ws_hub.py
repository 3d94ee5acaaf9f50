"""The WebSocket hub's fan-out: a slow subscriber loses its oldest events, never a note-off
without the all-notes-off that makes up for it."""
from __future__ import annotations

import asyncio
import json

from moodscore.transport.ws import QUEUE, Hub


def drain(queue: asyncio.Queue[str]) -> list[dict]:
    out = []
    while not queue.empty():
        out.append(json.loads(queue.get_nowait()))
    return out


def test_a_slow_subscriber_loses_old_events_and_gets_all_notes_off_before_more_midi() -> None:
    hub = Hub()
    midi_q: asyncio.Queue[str] = asyncio.Queue(QUEUE)
    beats_q: asyncio.Queue[str] = asyncio.Queue(QUEUE)
    hub.queues["page"] = (midi_q, frozenset({"midi", "beat"}))  # type: ignore[index]
    hub.queues["game"] = (beats_q, frozenset({"beat"}))  # type: ignore[index]
    for i in range(QUEUE + 10):  # note-ons and note-offs, more than the queue holds
        hub.publish({"type": "midi", "time": i * 0.01, "data": [[0x90, 60, 90] if i % 2 == 0 else [0x80, 60, 0]]})
    hub.publish({"type": "beat", "bar": 0, "beat": 0, "tempo": 120.0, "time": 9.0})
    got = drain(midi_q)
    assert len(got) == QUEUE and hub.dropped > 0
    panics = [i for i, e in enumerate(got) if e["type"] == "midi" and len(e["data"]) == 16]
    assert panics, "no all-notes-off after losing MIDI"
    assert all(msg[1] == 123 and msg[0] & 0xF0 == 0xB0 for msg in got[panics[-1]]["data"])
    assert [e["data"][0][0] for e in got[panics[-1] + 1:] if e["type"] == "midi"]  # music goes on after it
    assert got[-1]["type"] == "beat"
    assert [e["type"] for e in drain(beats_q)] == ["beat"]  # the other subscriber lost nothing


def test_a_subscriber_that_keeps_up_gets_everything_and_no_all_notes_off() -> None:
    hub = Hub()
    q: asyncio.Queue[str] = asyncio.Queue(QUEUE)
    hub.queues["page"] = (q, frozenset({"midi"}))  # type: ignore[index]
    for i in range(QUEUE):
        hub.publish({"type": "midi", "time": i * 0.01, "data": [[0x90, 60, 90]]})
    got = drain(q)
    assert len(got) == QUEUE and hub.dropped == 0
    assert all(len(e["data"]) == 1 for e in got)
    hub.leave("page")  # type: ignore[arg-type]
    assert not hub.queues
