"""The WebSocket ingress of the Ray Serve application.

A client speaks to it exactly as to ``moodscore host``: a ``session`` message first (with
``id`` to come back to a session), then the protocol. The ingress forwards each message to the
session's replica (Serve's ``session_id`` and the consistent-hash router keep them together)
and streams the session's events back. It keeps the last snapshot the replica sent. When the
replica dies, or the set of replicas changes so that the session's id now maps elsewhere, it
reopens the session from that snapshot on the replica that now owns the id, and tells the
client with a ``session`` event (``"resumed": true``); the music goes on from the last phrase,
in its mood, after a short gap (a start delay and one phrase of generation).

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
                return json.loads(await self._to(sid).open.remote(sid, first, snapshot))  # type: ignore[no-any-return]
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
            state: dict[str, Any] = {"snapshot": None, "replica": reply.get("replica")}
            pump = asyncio.create_task(self._pump(ws, sid, first, state))
            try:
                while True:
                    text = await ws.receive_text()
                    await ws.send_text(await self._handle(sid, text, first, state))
            finally:
                pump.cancel()
        except WebSocketDisconnect:
            pass

    async def _handle(self, sid: str, text: str, first: str, state: dict[str, Any]) -> str:
        deadline = asyncio.get_running_loop().time() + RETRY_S
        while True:
            try:
                answer: str = await self._to(sid).handle.remote(sid, text)
            except Exception:  # the replica died: the pump reopens the session
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)
                continue
            if '"moved":true' not in answer:
                return answer
            await self._resume(sid, first, state)  # the id maps to another replica now

    async def _resume(self, sid: str, first: str, state: dict[str, Any]) -> dict[str, Any]:
        reply = await self._open(sid, first, state["snapshot"])
        state["replica"] = reply.get("replica")
        state["resumed"] = state.get("resumed", 0) + 1
        return reply

    async def _pump(self, ws: WebSocket, sid: str, first: str, state: dict[str, Any]) -> None:
        while True:
            try:
                stream: Any = self._to(sid).options(stream=True).events.remote(sid)
                async for batch in stream:
                    for text in batch:
                        if text.startswith('{"type":"snapshot"'):
                            state["snapshot"] = json.loads(text)
                        elif '"moved":true' in text:
                            raise LookupError("moved")
                        else:
                            await ws.send_text(text)
                return
            except asyncio.CancelledError:
                raise
            except Exception as err:  # replica gone (or the id moved): resume from the snapshot
                log.info("session %s: stream ended (%s); resuming", sid, type(err).__name__)
                await asyncio.sleep(0.1)
                reply = await self._resume(sid, first, state)
                await ws.send_text(json.dumps(reply, separators=(",", ":")))
