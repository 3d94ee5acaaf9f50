"""A small client for scripts and tools: tell a running engine the mood, hear back its beats.

Two flavours with the same methods: :class:`MoodClient` (blocking, for scripts and tools) and
:class:`AsyncMoodClient` (asyncio). Messages go over the WebSocket (each is acknowledged, so a
refusal raises :class:`ClientError` with the engine's reason) or, with ``transport="osc"``,
as OSC datagrams (fire and forget, for a high rate). Every value is checked here first, with the
engine's own models, so a bad value raises before anything is sent. Beat, bar and phrase events
arrive over the WebSocket after :meth:`~MoodClient.subscribe`::

    from moodscore.client import MoodClient

    with MoodClient() as engine:                 # ws://127.0.0.1:8765
        engine.va(0.6, 0.7, glide=2.0)
        engine.subscribe("bar")
        for event in engine.events(timeout=10):  # ends after 10 s without an event
            print(event["bar"], event["tempo"])
            if event["bar"] >= 8:
                break

Public API: :class:`MoodClient`, :class:`AsyncMoodClient`, :class:`ClientError`.
"""
from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, ExitStack
from typing import Any

from .engine.protocol import EVENT_KINDS, SUBSCRIBABLE, Message, ProtocolError, osc_of, parse_json
from .errors import MoodscoreError

TRANSPORTS = ("ws", "osc")


class ClientError(MoodscoreError):
    """The engine refused a message, could not be reached, or stopped answering."""


def _message(data: dict[str, Any]) -> Message:
    """Validated with the engine's models: a ProtocolError says what is allowed."""
    return parse_json(json.dumps({k: v for k, v in data.items() if v is not None or k == "type"}))


class _Messages:
    """The half shared by both clients: settings, and one method per message type."""

    def __init__(self, host: str, ws_port: int, osc_port: int, transport: str, timeout: float) -> None:
        if transport not in TRANSPORTS:
            raise ProtocolError(f"transport must be one of {', '.join(TRANSPORTS)}, got {transport!r}")
        self.host, self.ws_port, self.osc_port = host, ws_port, osc_port
        self.transport, self.timeout = transport, timeout
        self._ws: Any = None
        self._osc: Any = None

    def _send(self, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def va(self, valence: float, arousal: float, glide: float | None = None) -> Any:
        """Move to (valence, arousal), each in [-1, 1], over ``glide`` seconds (None: the engine's)."""
        return self._send({"type": "va", "valence": valence, "arousal": arousal, "glide": glide})

    def valence(self, value: float, glide: float | None = None) -> Any:
        return self._send({"type": "valence", "value": value, "glide": glide})

    def arousal(self, value: float, glide: float | None = None) -> Any:
        return self._send({"type": "arousal", "value": value, "glide": glide})

    def stinger(self, name: str) -> Any:
        """Play a stinger on the next beat (see ``moodscore schema`` for the names)."""
        return self._send({"type": "stinger", "name": name})

    def transition(self, mode: str) -> Any:
        """When new material starts after a mood change: immediate, beat, bar or phrase."""
        return self._send({"type": "transition", "mode": mode})

    def tempo(self, bpm: float) -> Any:
        """Hold ``bpm`` (20-300); 0 returns to the mood's own tempo."""
        return self._send({"type": "tempo", "bpm": bpm})

    def intensity(self, value: float, glide: float | None = None) -> Any:
        """Bring parts in (towards 1: all six) or out (0: the melody and two) from the next bar."""
        return self._send({"type": "intensity", "value": value, "glide": glide})

    def style(self, name: str) -> Any:
        """Switch the orchestration at the next bar (``moodscore styles`` lists the names)."""
        return self._send({"type": "style", "name": name})

    def play(self) -> Any:
        return self._send({"type": "play"})

    def stop(self, at: str | None = None) -> Any:
        """Stop at once, or with ``at`` ``"bar"``/``"phrase"`` close on a cadence at that boundary."""
        return self._send({"type": "stop", "at": at})

    def theme(self, abc: str) -> Any:
        """A theme in ABC: it opens the next phrase and comes back in every mood."""
        return self._send({"type": "theme", "abc": abc})


def _check_kinds(kinds: tuple[str, ...]) -> tuple[str, ...]:
    bad = [k for k in kinds if k not in SUBSCRIBABLE]
    if bad:
        raise ProtocolError(f"events must be drawn from {', '.join(SUBSCRIBABLE)}, got {bad[0]!r}")
    return kinds or EVENT_KINDS


def _reply(text: str | bytes) -> dict[str, Any]:
    data = json.loads(text)
    if not isinstance(data, dict) or "type" not in data:
        raise ClientError(f"the engine sent something that is not an event: {str(text)[:80]!r}")
    return data


class MoodClient(_Messages):
    """Blocking client. ``transport`` is ``"ws"`` (acknowledged) or ``"osc"`` (datagrams)."""

    def __init__(self, host: str = "127.0.0.1", *, ws_port: int = 8765, osc_port: int = 9000,
                 transport: str = "ws", timeout: float = 5.0) -> None:
        super().__init__(host, ws_port, osc_port, transport, timeout)
        self._stack = ExitStack()
        self._replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader: threading.Thread | None = None
        self._closed: BaseException | None = None
        self._lock = threading.Lock()  # one request awaits its reply at a time

    # -- connections -----------------------------------------------------------------------
    def _websocket(self) -> Any:
        if self._ws is None:
            from websockets.sync.client import connect

            url = f"ws://{self.host}:{self.ws_port}"
            try:
                self._ws = self._stack.enter_context(connect(url, open_timeout=self.timeout, max_size=None))
            except (OSError, TimeoutError) as err:
                raise ClientError(f"cannot reach the engine at {url}: {err}. Is `moodscore serve` "
                                  "running there?") from err
            self._reader = threading.Thread(target=self._read, name="moodscore-client", daemon=True)
            self._reader.start()
        return self._ws

    def _read(self) -> None:
        try:
            for frame in self._ws:
                data = _reply(frame)
                (self._replies if data["type"] in ("ack", "error") else self._events).put(data)
        except Exception as err:  # noqa: BLE001 - handed to whoever waits next
            self._closed = err
        else:
            self._closed = ClientError("the engine closed the connection")
        self._replies.put({"type": "closed"})

    def _request(self, data: dict[str, Any]) -> None:
        ws = self._websocket()
        with self._lock:
            if self._closed is not None:
                raise ClientError(f"connection to the engine lost: {self._closed}")
            ws.send(json.dumps(data))
            try:
                reply = self._replies.get(timeout=self.timeout)
            except queue.Empty:
                raise ClientError(f"no reply from the engine within {self.timeout:g} s") from None
        if reply["type"] == "error":
            raise ClientError(f"the engine refused {data['type']}: {reply['error']}")
        if reply["type"] == "closed":
            raise ClientError(f"connection to the engine lost: {self._closed}")

    def _send(self, data: dict[str, Any]) -> None:
        message = _message(data)
        if self.transport == "ws":
            self._request(message.model_dump(exclude_none=True))
            return
        if self._osc is None:
            from pythonosc.udp_client import SimpleUDPClient

            self._osc = SimpleUDPClient(self.host, self.osc_port)
        address, args = osc_of(message)
        self._osc.send_message(address, args)

    # -- events ----------------------------------------------------------------------------
    def subscribe(self, *kinds: str) -> None:
        """Receive these events (beat, bar, phrase; none named: all) from :meth:`events`."""
        self._request({"type": "subscribe", "events": list(_check_kinds(kinds))})

    def events(self, timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """Events as they come; ends after ``timeout`` seconds without one (None: never)."""
        while True:
            try:
                yield self._events.get(timeout=timeout)
            except queue.Empty:
                return

    def close(self) -> None:
        if self._ws is not None:
            self._stack.close()
            if self._reader is not None:
                self._reader.join(self.timeout)
            self._ws = None
        self._osc = None

    def __enter__(self) -> MoodClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncMoodClient(_Messages):
    """The asyncio flavour: ``async with AsyncMoodClient() as engine: await engine.va(0.5, 0)``."""

    def __init__(self, host: str = "127.0.0.1", *, ws_port: int = 8765, osc_port: int = 9000,
                 transport: str = "ws", timeout: float = 5.0) -> None:
        super().__init__(host, ws_port, osc_port, transport, timeout)
        self._stack = AsyncExitStack()
        self._replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def _websocket(self) -> Any:
        if self._ws is None:
            from websockets.asyncio.client import connect

            url = f"ws://{self.host}:{self.ws_port}"
            try:
                self._ws = await self._stack.enter_async_context(
                    connect(url, open_timeout=self.timeout, max_size=None))
            except (OSError, TimeoutError) as err:
                raise ClientError(f"cannot reach the engine at {url}: {err}. Is `moodscore serve` "
                                  "running there?") from err
            self._reader = asyncio.create_task(self._read())
        return self._ws

    async def _read(self) -> None:
        try:
            async for frame in self._ws:
                data = _reply(frame)
                await (self._replies if data["type"] in ("ack", "error") else self._events).put(data)
        except Exception:  # noqa: BLE001 - the waiting request reports the lost connection
            pass
        await self._replies.put({"type": "closed"})

    async def _send(self, data: dict[str, Any]) -> None:  # type: ignore[override]
        message = _message(data)
        if self.transport == "osc":
            if self._osc is None:
                from pythonosc.udp_client import SimpleUDPClient

                self._osc = SimpleUDPClient(self.host, self.osc_port)
            address, args = osc_of(message)
            self._osc.send_message(address, args)
            return
        await self._request(message.model_dump(exclude_none=True))

    async def _request(self, data: dict[str, Any]) -> None:
        ws = await self._websocket()
        async with self._lock:
            await ws.send(json.dumps(data))
            try:
                reply = await asyncio.wait_for(self._replies.get(), self.timeout)
            except asyncio.TimeoutError:
                raise ClientError(f"no reply from the engine within {self.timeout:g} s") from None
        if reply["type"] == "error":
            raise ClientError(f"the engine refused {data['type']}: {reply['error']}")
        if reply["type"] == "closed":
            raise ClientError("connection to the engine lost")

    async def subscribe(self, *kinds: str) -> None:
        await self._request({"type": "subscribe", "events": list(_check_kinds(kinds))})

    async def events(self, timeout: float | None = None) -> AsyncIterator[dict[str, Any]]:
        while True:
            try:
                yield await asyncio.wait_for(self._events.get(), timeout)
            except asyncio.TimeoutError:
                return

    async def close(self) -> None:
        if self._ws is not None:
            await self._stack.aclose()
            if self._reader is not None:
                await self._reader
            self._ws = None
        self._osc = None

    async def __aenter__(self) -> AsyncMoodClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
