"""``moodscore.client`` against a real ``moodscore serve`` (in its own process)."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from moodscore.client import AsyncMoodClient, ClientError, MoodClient
from moodscore.engine.protocol import ProtocolError
from support import Engine, wait_until


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    e = Engine(tmp_path_factory.mktemp("client"))
    yield e
    assert e.close() == 0


def phrases_with(engine: Engine, mood: tuple[float, float], since: float) -> bool:
    return any(abs(v - mood[0]) < 1e-6 and abs(a - mood[1]) < 1e-6 for v, a in engine.moods(since))


def test_websocket_client_is_applied_and_hears_bars(engine: Engine) -> None:
    with MoodClient(ws_port=engine.ws_port) as client:
        since = time.perf_counter()
        client.transition("immediate")
        client.va(0.7, 0.8, glide=0)
        client.subscribe("bar", "phrase")
        wait_until(lambda: phrases_with(engine, (0.7, 0.8), since), 20, "a phrase at the new mood")
        got = []
        for event in client.events(timeout=5):
            got.append(event)
            if {e["type"] for e in got} >= {"bar", "phrase"}:
                break
        kinds = {e["type"] for e in got}
        assert kinds >= {"bar", "phrase"} and "beat" not in kinds


def test_osc_transport_is_applied(engine: Engine) -> None:
    with MoodClient(osc_port=engine.osc_port, ws_port=engine.ws_port, transport="osc") as client:
        since = time.perf_counter()
        client.va(-0.6, -0.5, glide=0)
        client.tempo(90)
        wait_until(lambda: phrases_with(engine, (-0.6, -0.5), since), 30, "a phrase at the OSC mood")
        wait_until(lambda: any(e["tempo"] == 90 for _, e in engine.of("beat", since)), 10, "a beat at 90 BPM")
        client.tempo(0)


def test_bad_values_raise_before_sending_and_refusals_carry_the_engines_reason(engine: Engine) -> None:
    with MoodClient(ws_port=engine.ws_port) as client:
        with pytest.raises(ProtocolError, match=r"valence must be a finite number in \[-1, 1\], got 2"):
            client.va(2, 0)
        with pytest.raises(ProtocolError, match="immediate, beat, bar, phrase"):
            client.transition("soon")
        with pytest.raises(ProtocolError, match="events must be drawn from beat, bar, phrase, midi"):
            client.subscribe("downbeat")
        with pytest.raises(ClientError, match="the engine refused stinger: stinger must be one of"):
            client.stinger("kazoo")
        client.va(0.1, 0.1)  # and the connection carries on
        with pytest.raises(ClientError, match="the engine refused style: style must be one of default"):
            client.style("polka")
        with pytest.raises(ProtocolError, match=r"intensity value must be a finite number in \[0, 1\]"):
            client.intensity(2)
        client.style("electronic")  # accepted: heard from the next bar
        client.intensity(1.0, glide=0)


def test_unreachable_engine_says_where_it_looked() -> None:
    with pytest.raises(ClientError, match=r"cannot reach the engine at ws://127.0.0.1:9: .*moodscore serve"):
        MoodClient(ws_port=9, timeout=2).va(0, 0)


def test_async_client(engine: Engine) -> None:
    async def session() -> list[dict]:
        async with AsyncMoodClient(ws_port=engine.ws_port) as client:
            await client.va(0.5, -0.7, glide=0)
            await client.subscribe("beat")
            with pytest.raises(ProtocolError):
                await client.arousal(-3)
            return [e async for e in _take(client.events(timeout=5), 3)]

    since = time.perf_counter()
    beats = asyncio.run(session())
    assert [e["type"] for e in beats] == ["beat"] * 3
    wait_until(lambda: phrases_with(engine, (0.5, -0.7), since), 30, "a phrase at the async client's mood")


async def _take(events, n: int):
    async for event in events:
        yield event
        n -= 1
        if n == 0:
            return


def test_a_theme_from_the_client_opens_a_phrase_and_bad_ones_raise(engine: Engine) -> None:
    with MoodClient(ws_port=engine.ws_port) as client:
        since = time.perf_counter()
        client.theme("M:4/4\nL:1/4\nK:G\nBBcd|dcBA|")
        wait_until(lambda: any([n["pitch"] % 12 for n in e["notes"][:4]] == [4, 4, 5, 7]
                               for _, e in engine.of("phrase", since)), 30, "a phrase opening with the theme")
        with pytest.raises(ProtocolError, match="K: must name"):
            client.theme("K:H\nabc|")
        with pytest.raises(ProtocolError, match="at must be now"):
            client.stop(at="beat")
