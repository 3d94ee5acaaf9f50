"""Fuzzing the two input edges as they run in the engine: OSC datagrams through :class:`OscInput`
into a real conductor, and WebSocket frames through a real server (``start_ws``) and client.

Every input is applied or refused and counted, within a per-input time budget, and the
conductor's state stays valid afterwards. Random bytes, structure-aware mutations of valid
packets and bundles (sizes, counts, nesting, type tags, timetags), random JSON and frames.
"""
from __future__ import annotations

import asyncio
import json
import math
import struct
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import within
from websockets.sync.client import connect

from moodscore.engine.conductor import TRANSITIONS, Conductor
from moodscore.engine.protocol import MESSAGE_TYPES, RejectStats
from moodscore.engine.session import apply
from moodscore.errors import ConfigError
from moodscore.transport.osc import OscInput
from moodscore.transport.oscwire import read_datagram
from moodscore.transport.ws import Hub, start_ws

from .test_oscwire import VALID, bundle, message, mutated

BUDGET_S = 0.5  # per input, with room for a busy machine: each takes well under a millisecond


def assert_valid(c: Conductor) -> None:
    v, a = c.mood.target
    assert -1 <= v <= 1 and -1 <= a <= 1 and math.isfinite(v) and math.isfinite(a)
    assert c.transition in TRANSITIONS
    assert c.tempo_override == 0 or 20 <= c.tempo_override <= 300


class Applied:
    """The engine's submit: apply to a real conductor (as LiveEngine does), counting."""

    def __init__(self) -> None:
        self.conductor = Conductor(seed=1)
        self.conductor.play(0.0)
        self.count = 0

    def __call__(self, msg: object) -> None:
        apply(self.conductor, msg, time.perf_counter())
        self.count += 1


@pytest.fixture(scope="module")
def osc_edge() -> Iterator[tuple[OscInput, Applied, asyncio.AbstractEventLoop]]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    applied = Applied()
    yield OscInput(applied, RejectStats(log_first=0, log_every=10**9)), applied, loop
    loop.close()
    asyncio.set_event_loop(None)


def _feed(edge: tuple[OscInput, Applied, asyncio.AbstractEventLoop], data: bytes) -> None:
    osc, applied, _ = edge
    before = (osc.stats.total, applied.count, osc.pending)
    try:
        with within(BUDGET_S):
            osc.datagram_received(data, ("127.0.0.1", 5000))
    except ConfigError:
        pass  # a stinger cooling down: refused by the session (LiveEngine's callers count it)
    after = (osc.stats.total, applied.count, osc.pending)
    if after == before:  # only a well-formed bundle with no messages in it does nothing at all
        assert read_datagram(data) == [], f"datagram neither applied, scheduled nor refused: {data[:40]!r}"
    assert_valid(applied.conductor)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=256))
def test_random_datagrams_are_applied_or_refused_and_counted(osc_edge, data: bytes) -> None:
    _feed(osc_edge, data)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated())
def test_mutated_datagrams_are_applied_or_refused_and_counted(osc_edge, data: bytes) -> None:
    _feed(osc_edge, data)


_NUMBER = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["/mood/va", "/mood/valence", "/mood/arousal", "/mood/tempo", "/mood/stinger",
                        "/mood/transition", "/mood/play", "/mood/nope"]),
       st.lists(st.one_of(_NUMBER, st.text(max_size=80)), max_size=4))
def test_messages_with_any_arguments_are_applied_or_refused(osc_edge, address: str, args: list) -> None:
    try:
        data = message(address, *args)
    except Exception:  # python-osc's builder refuses some values (ints beyond 64 bits)
        return
    _feed(osc_edge, data)
    _feed(osc_edge, bundle(data))


def test_far_future_and_past_timetags(osc_edge) -> None:
    osc, applied, _ = osc_edge
    refused = osc.stats["osc"]
    future = struct.pack(">II", int(time.time()) + 2_208_988_800 + 3600, 0)
    _feed(osc_edge, bundle(message("/mood/va", 0.1, 0.1), timetag=future))
    assert osc.stats["osc"] == refused + 1  # an hour ahead: refused
    count = applied.count
    _feed(osc_edge, bundle(message("/mood/va", 0.2, 0.2), timetag=struct.pack(">II", 1000, 0)))
    assert applied.count == count + 1  # in the past: now


def test_a_burst_of_20000_datagrams_is_absorbed(osc_edge) -> None:
    osc, applied, _ = osc_edge
    start = time.perf_counter()
    before = applied.count
    for i in range(20_000):
        osc.datagram_received(message("/mood/va", (i % 200) / 100 - 1, 0.0), ("127.0.0.1", 5000))
    assert applied.count - before == 20_000
    assert time.perf_counter() - start < 20  # about 40 us each here; a figure, not a target
    assert_valid(applied.conductor)


def test_senders_outside_osc_allow_are_dropped_and_counted() -> None:
    from moodscore.transport.osc import parse_networks

    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        applied = Applied()
        osc = OscInput(applied, RejectStats(), allow=parse_networks(["192.168.1.0/24", "::1"]))
        osc.datagram_received(VALID[0], ("10.0.0.5", 9))
        osc.datagram_received(VALID[0], ("192.168.1.77", 9))
        osc.datagram_received(VALID[0], ("::1", 9, 0, 0))
        osc.datagram_received(VALID[0], ("::ffff:192.168.1.3", 9, 0, 0))
        assert (osc.stats["source"], applied.count) == (1, 3)
    finally:
        loop.close()
        asyncio.set_event_loop(None)


# --- WebSocket ---------------------------------------------------------------------------

class WsEdge:
    """A real server on its own loop thread, applying to a real conductor."""

    def __init__(self) -> None:
        self.applied = Applied()
        self.stats = RejectStats(log_first=0, log_every=10**9)
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(self.loop)
            self.server = self.loop.run_until_complete(
                start_ws(self.applied, Hub(), "127.0.0.1", 0, self.stats))
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=main, daemon=True)
        self.thread.start()
        ready.wait(10)
        self.port = self.server.sockets[0].getsockname()[1]

    def close(self) -> None:
        async def closed() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(closed(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def ws_edge() -> Iterator[WsEdge]:
    edge = WsEdge()
    yield edge
    edge.close()


@pytest.fixture(scope="module")
def ws_client(ws_edge: WsEdge):
    with connect(f"ws://127.0.0.1:{ws_edge.port}") as ws:
        yield ws


def _exchange(edge: WsEdge, ws, frame: str | bytes) -> dict:
    before = edge.stats.total + edge.applied.count
    start = time.perf_counter()
    ws.send(frame)
    reply = json.loads(ws.recv(timeout=5))
    assert time.perf_counter() - start < 2.0  # a round trip on loopback; parsing is microseconds
    assert reply["type"] in ("ack", "error")
    if reply["type"] == "error":
        assert reply["error"] and "\n" not in reply["error"]
    # refused ones are counted; accepted ones applied (subscribe is a transport matter)
    assert edge.stats.total + edge.applied.count >= before + (0 if '"subscribe"' in str(frame) else 1) \
        or reply["type"] == "ack"
    assert_valid(edge.applied.conductor)
    return reply


_JSON = st.recursive(st.none() | st.booleans() | _NUMBER | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                     max_leaves=12)
_FIELDS = st.sampled_from(["valence", "arousal", "value", "glide", "name", "mode", "bpm", "events", "x"])


@st.composite
def messages(draw: st.DrawFn) -> dict:
    msg = {"type": draw(st.sampled_from(list(MESSAGE_TYPES) + ["nope", 3, None]))}
    for key in draw(st.lists(_FIELDS, max_size=4, unique=True)):
        msg[key] = draw(_JSON)
    return msg


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(messages())
def test_random_messages_are_acked_or_refused(ws_edge, ws_client, msg: dict) -> None:
    try:
        text = json.dumps(msg, allow_nan=True)
    except ValueError:
        return
    _exchange(ws_edge, ws_client, text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300), _JSON.map(json.dumps)))
def test_random_frames_are_refused_with_a_reason(ws_edge, ws_client, frame: str | bytes) -> None:
    _exchange(ws_edge, ws_client, frame)


def test_oversized_and_deep_messages(ws_edge, ws_client) -> None:
    assert "at most" in _exchange(ws_edge, ws_client, "x" * 20_000)["error"]
    assert "nested too deeply" in _exchange(ws_edge, ws_client, "[" * 10_000)["error"]
