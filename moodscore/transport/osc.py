"""OSC over UDP into the engine: python-osc parses, the engine's loop schedules.

Bundles (Unity's extOSC sends a frame's messages as one) are unpacked; a future timetag is
scheduled on the event loop's clock, never slept on, and a timetag further ahead than
``MAX_AHEAD`` seconds is refused. Packets that do not parse, and messages the protocol refuses,
are counted and logged (rate-limited), never fatal and never silent.

Public API: :class:`OscInput`, :func:`start_osc`, ``MAX_AHEAD``.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from pythonosc.osc_packet import OscPacket, ParseError

from ..engine.protocol import ProtocolError, RejectStats, parse_osc
from ..errors import ConfigError

log = logging.getLogger(__name__)
MAX_AHEAD = 60.0  # seconds a bundle may be timed ahead
MAX_PENDING = 10_000  # timed messages waiting at once


class OscInput(asyncio.DatagramProtocol):
    def __init__(self, submit: Callable[[object], None], stats: RejectStats | None = None) -> None:
        self.submit = submit
        self.stats = stats or RejectStats()
        self.received = 0
        self.pending = 0
        self._loop = asyncio.get_event_loop()

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.received += 1
        # python-osc raises UnicodeDecodeError, not ParseError, for an address or a string
        # argument that is not UTF-8
        try:
            packet = OscPacket(data)
        except (ParseError, UnicodeDecodeError) as err:
            self.stats.record("osc", f"unparsable OSC packet from {addr[0]}:{addr[1]}: {err}")
            return
        now = time.time()
        for timed in packet.messages:
            msg = timed.message
            try:
                decoded = parse_osc(msg.address, msg.params)
            except ProtocolError as err:
                self.stats.record_error(err)
                continue
            ahead = timed.time - now
            if ahead > MAX_AHEAD or (ahead > 0 and self.pending >= MAX_PENDING):
                self.stats.record("osc", f"{msg.address}: bundle timed {ahead:.1f} s ahead; at most "
                                         f"{MAX_AHEAD:g} s and {MAX_PENDING} waiting messages allowed")
            elif ahead > 0.001:
                self.pending += 1
                self._loop.call_later(ahead, self._apply_timed, decoded)
            else:
                self._apply(decoded)

    def _apply_timed(self, decoded: object) -> None:
        self.pending -= 1
        self._apply(decoded)

    def _apply(self, decoded: object) -> None:
        try:
            self.submit(decoded)
        except ConfigError as err:
            self.stats.record("schema", str(err))


async def start_osc(submit: Callable[[object], None], host: str, port: int,
                    stats: RejectStats | None = None) -> tuple[asyncio.DatagramTransport, OscInput]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(lambda: OscInput(submit, stats),
                                                              local_addr=(host, port))
    return transport, protocol  # type: ignore[return-value]
