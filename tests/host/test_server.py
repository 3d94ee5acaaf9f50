"""moodscore host over real WebSockets, in-process: sessions apart, limits, clean disconnects."""
from __future__ import annotations

import asyncio
import gc
import json
import threading
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from moodscore.engine.conductor import Conductor
from moodscore.host.core import HostLimits, HostSession
from moodscore.host.server import Host, HostOptions

import support


class Client:
    def __init__(self, ws) -> None:
        self.ws = ws
        self.events: list[dict] = []
        self.replies: asyncio.Queue[dict] = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                data = json.loads(frame)
                if data["type"] in ("ack", "error", "session", "stats"):
                    self.replies.put_nowait(data)
                else:
                    self.events.append(data)
        except ConnectionClosed:
            pass

    async def request(self, message: dict | str) -> dict:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))
        return await asyncio.wait_for(self.replies.get(), 10)

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["type"] == kind]


async def _open(port: int, **session) -> Client:
    client = Client(await connect(f"ws://127.0.0.1:{port}", open_timeout=10))
    reply = await client.request({"type": "session", **session})
    assert reply["type"] == "session", reply
    return client


def _host(**limits) -> Host:
    return Host(HostOptions(port=support.free_port(1), limits=HostLimits(**limits)))


async def _until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        await asyncio.sleep(0.02)


def _quadrant_programs(client: Client) -> set[int]:
    return {m[1] for e in client.of("midi") for m in e["data"] if m[0] & 0xF0 == 0xC0 and m[0] & 0x0F == 0}


def test_each_session_plays_its_own_mood_and_gets_only_its_own_events():
    async def scenario() -> None:
        host = _host(start_delay=0.3)
        await host.start()
        port = host.opts.port
        try:
            happy = await _open(port, seed=1, model="abc", transition="immediate")
            sad = await _open(port, seed=2, model="lstm", transition="immediate")
            for c in (happy, sad):
                assert (await c.request({"type": "subscribe", "events": ["bar", "phrase"]})) == {"type": "ack"}
            assert (await happy.request({"type": "va", "valence": 0.9, "arousal": 0.9, "glide": 0})) == {"type": "ack"}
            assert (await sad.request({"type": "va", "valence": -0.9, "arousal": -0.9, "glide": 0})) == {"type": "ack"}
            await _until(lambda: any(p["mood"] == [0.9, 0.9] for p in happy.of("phrase"))
                         and any(p["mood"] == [-0.9, -0.9] for p in sad.of("phrase")), 20, "phrases in each mood")
            await asyncio.sleep(1.0)
            assert all(p["mood"] != [-0.9, -0.9] for p in happy.of("phrase"))
            assert all(p["mood"] != [0.9, 0.9] for p in sad.of("phrase"))
            # each got its own MIDI: the quadrant's melody program (piano for happy, clarinet for sad)
            assert 0 in _quadrant_programs(happy) and 71 not in _quadrant_programs(happy)
            assert 71 in _quadrant_programs(sad) and 0 not in _quadrant_programs(sad)
            assert not happy.of("beat")  # only what it subscribed to (and its MIDI)
            stats = await happy.request({"type": "stats"})
            assert stats["phrases"] >= 1 and stats["misses"] == 0 and stats["late"] == 0
            assert stats["bars"] >= 1 and stats["lead_ms"]["min"] > 0
            for c in (happy, sad):
                await c.ws.close()
        finally:
            await host.close()

    asyncio.run(scenario())


def test_limits_refuse_with_a_reason_and_bad_input_touches_only_its_session():
    async def scenario() -> None:
        host = _host(max_sessions=2, rate=5, burst=5, start_delay=0.2)
        await host.start()
        port = host.opts.port
        try:
            a = await _open(port, seed=3)
            b = await _open(port, seed=4)
            third = Client(await connect(f"ws://127.0.0.1:{port}"))
            refused = await third.request({"type": "session"})
            assert refused["type"] == "error" and "--max-sessions 2" in refused["error"]
            await asyncio.wait_for(third.reader, 5)
            assert third.ws.close_code == 1013
            # a flood and garbage from a: refused, counted, a plays on; b never notices
            replies = [await a.request({"type": "va", "valence": 0.1, "arousal": 0.1}) for _ in range(12)]
            assert any("at most 5 a second" in r.get("error", "") for r in replies)
            await asyncio.sleep(1.2)
            for bad in ("{not json", {"type": "va", "valence": 3, "arousal": 0}, {"type": "session"}):
                assert (await a.request(bad))["type"] == "error"
            seen = len(a.of("midi"))
            await _until(lambda: len(a.of("midi")) > seen + 3, 10, "more MIDI for the session that misbehaved")
            sa, sb = await a.request({"type": "stats"}), await b.request({"type": "stats"})
            assert sa["rejected"] >= 3 and sb["rejected"] == 0 and sb["misses"] == 0
            assert b.of("midi")
        finally:
            await host.close()

    asyncio.run(scenario())


def test_a_session_that_goes_idle_is_closed_with_the_reason():
    async def scenario() -> None:
        host = _host(idle_timeout=1, start_delay=0.2)
        await host.start()
        try:
            c = await _open(host.opts.port)
            await asyncio.wait_for(c.reader, 5)
            assert c.ws.close_code == 1000 and "idle" in c.ws.close_reason
            assert not host.core.sessions
        finally:
            await host.close()

    asyncio.run(scenario())


def _live_sessions() -> tuple[int, int]:
    """Host sessions and conductors the collector knows, alive or unreachable."""
    found = [type(o) for o in gc.get_objects()]
    return found.count(HostSession), found.count(Conductor)


def test_a_disconnect_mid_phrase_leaves_nothing_behind_and_sessions_cost_no_threads():
    async def scenario() -> None:
        host = _host(start_delay=0.2)
        await host.start()
        port = host.opts.port
        try:
            threads = threading.active_count()
            live = _live_sessions()  # (counted, not weakly referenced: compiled classes take no weakrefs)
            clients = [await _open(port, seed=i, model=("abc", "lstm")[i % 2]) for i in range(40)]
            assert threading.active_count() == threads  # a session is a conductor and queues
            await _until(lambda: all(c.of("midi") for c in clients), 20, "MIDI for every session")
            assert _live_sessions() == (live[0] + 40, live[1] + 40)
            for c in clients:  # mood changes ask for new bars: requests in flight as they leave
                await c.ws.send(json.dumps({"type": "va", "valence": -0.7, "arousal": 0.8}))
            for c in clients:
                await c.ws.close()
            await _until(lambda: not host.core.sessions and not host.connections, 10, "sessions gone")
            await _until(lambda: not host.worker.queued and not host.worker.in_flight(), 10, "idle worker")
            # with no session left, the host runs a full collection itself: the connections'
            # cycles go then (full collections are otherwise rare while sessions play)
            await _until(lambda: host.collections >= 1, 5, "a full collection with no sessions")
            assert _live_sessions() == live
            assert gc.collect() < 50  # nothing much was left for one more
            assert all(wake[2] not in host.core.sessions for wake in host.core._wakes)
        finally:
            await host.close()

    asyncio.run(scenario())
