"""The WebSocket ingress of the Ray Serve application.

A client speaks to it exactly as to ``moodscore host``: a ``session`` message first (with
``id`` to come back to a session), then the protocol. The ingress forwards each message to the
session's replica (Serve's ``session_id`` and the consistent-hash router keep them together)
and streams the session's events back. It keeps the last snapshot the replica sent. When the
replica dies, or the set of replicas changes so that the session's id now maps elsewhere, it
reopens the session from that snapshot on the replica that now owns the id, and tells the
client with a ``session`` event (``"resumed": true``); the music goes on from the last phrase,
in its mood, after a short gap (a start delay and one phrase of generation). A session has one
connection: a new one with its id takes it over and the older one is closed.

Public API: :class:`Ingress`, :func:`new_session_id`.
"""
# no "from __future__ import annotations" here: FastAPI reads the handler annotations at run time

import asyncio
import json
import logging
import secrets
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from ray import serve
from ray.serve.handle import DeploymentHandle

from ..engine.protocol import ProtocolError, SessionMessage, error_reply, parse_json

log = logging.getLogger("moodscore.scale")
api = FastAPI()
RETRY_S = 20.0  # how long a session waits for a replica that holds (or can hold) it
TOUCH_S = 1.0  # how often the ingress vouches for the sessions it serves
CALL_S = 3.0  # a call to a replica that has not answered by then has died (the ring moves on)


def new_session_id() -> str:
    return secrets.token_urlsafe(9)


@serve.ingress(api)
class Ingress:
    def __init__(self, hosts: DeploymentHandle) -> None:
        self.hosts = hosts

    def _to(self, sid: str) -> DeploymentHandle:
        return self.hosts.options(session_id=sid)

    async def _open(self, sid: str, first: str, snapshot: dict | None) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + RETRY_S
        while True:
            try:
                return json.loads(await asyncio.wait_for(  # type: ignore[no-any-return]
                    self._to(sid).open.remote(sid, first, snapshot), CALL_S))
            except Exception as err:  # the replica died under us: the ring moves on
                if asyncio.get_running_loop().time() > deadline:
                    raise
                log.info("session %s: reopening (%s)", sid, type(err).__name__)
                await asyncio.sleep(0.2)

    @api.websocket("/")
    async def session(self, ws: WebSocket) -> None:
        await ws.accept()
        try:
            first = await ws.receive_text()
            try:
                msg = parse_json(first)
            except ProtocolError as err:
                await ws.send_text(error_reply(err))
                await ws.close(1008)
                return
            if not isinstance(msg, SessionMessage):
                await ws.send_text(error_reply('open a session first: {"type":"session"}'))
                await ws.close(1008)
                return
            sid = msg.id or new_session_id()
            reply = await self._open(sid, first, None)
            await ws.send_text(json.dumps(reply, separators=(",", ":")))
            if reply.get("type") != "session":
                await ws.close(1013)
                return
            state: dict[str, Any] = {"snapshot": None, "replica": reply.get("replica"),
                                     "stream": new_session_id(), "lock": asyncio.Lock()}
            pump = asyncio.create_task(self._pump(ws, sid, first, state))
            state["pump"] = pump
            keeper = asyncio.create_task(self._keep(ws, sid, first, state))
            try:
                while True:
                    text = await ws.receive_text()
                    await ws.send_text(await self._handle(ws, sid, text, first, state))
            finally:
                state["closed"] = True
                keeper.cancel()
                state["pump"].cancel()
                try:  # the replica keeps the session a while for a reconnect, then closes it
                    await asyncio.wait_for(self._to(sid).leave.remote(sid, state["stream"]), CALL_S)
                except Exception:  # noqa: BLE001 - its replica is gone already
                    pass
        except WebSocketDisconnect:
            pass

    async def _handle(self, ws: WebSocket, sid: str, text: str, first: str, state: dict[str, Any]) -> str:
        deadline = asyncio.get_running_loop().time() + RETRY_S
        while True:
            try:
                answer: str = await asyncio.wait_for(self._to(sid).handle.remote(sid, text), CALL_S)
            except Exception:  # the replica died: the pump reopens the session
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)
                continue
            if '"moved":true' not in answer:
                return answer
            if await self._resume(sid, first, state) is not None:  # the id maps elsewhere now
                state["pump"].cancel()
                state["pump"] = asyncio.create_task(self._pump(ws, sid, first, state))

    async def _resume(self, sid: str, first: str, state: dict[str, Any], *, check: bool = True
                      ) -> dict[str, Any] | None:
        """Reopen the session where its id maps now, from its snapshot; None if it is there
        already (``check``: another task of this connection may have moved it first)."""
        async with state["lock"]:
            try:
                if check and await asyncio.wait_for(self._to(sid).touch.remote(sid), CALL_S):
                    return None
            except Exception:  # noqa: BLE001 - the ring still names a dead replica: open retries
                pass
            reply = await self._open(sid, first, state["snapshot"])
            state["replica"] = reply.get("replica")
            state["resumed"] = state.get("resumed", 0) + 1
            return reply

    async def _keep(self, ws: WebSocket, sid: str, first: str, state: dict[str, Any]) -> None:
        """Touch the session every few seconds; if its id now maps to another replica (the ring
        changed), move it there from its snapshot and stream from there."""
        while True:
            await asyncio.sleep(TOUCH_S)
            try:
                here = await asyncio.wait_for(self._to(sid).touch.remote(sid), CALL_S)
            except Exception:  # noqa: BLE001 - no answer: its replica is gone, as far as we can tell
                here = False
            if not here and not state.get("closed"):
                reply = await self._resume(sid, first, state)
                if reply is not None:  # moved: stream from where it is now
                    state["pump"].cancel()
                    state["pump"] = asyncio.create_task(self._pump(ws, sid, first, state))
                    await ws.send_text(json.dumps(reply, separators=(",", ":")))

    async def _pump(self, ws: WebSocket, sid: str, first: str, state: dict[str, Any]) -> None:
        while True:
            try:
                stream: Any = self._to(sid).options(stream=True).events.remote(sid, state["stream"])
                async for batch in stream:
                    for text in batch:
                        if text.startswith('{"type":"snapshot"'):
                            state["snapshot"] = json.loads(text)
                        elif '"moved":true' in text:
                            raise LookupError("moved")
                        else:
                            await ws.send_text(text)
                # the stream ended: another connection took the session over, or it closed
                await ws.close(1000, "session continued on another connection, or closed")
                return
            except asyncio.CancelledError:
                raise
            except Exception as err:  # replica gone (or the id moved): resume from the snapshot
                if state.get("closed"):
                    return  # the client is gone: nothing to resume for
                log.info("session %s: stream ended (%s); resuming", sid, type(err).__name__)
                await asyncio.sleep(0.1)
                reply = await self._resume(sid, first, state, check=False)  # its replica is gone
                if reply is not None:
                    await ws.send_text(json.dumps(reply, separators=(",", ":")))
