"""OSC over UDP into the engine: :mod:`.oscwire` reads datagrams within limits, the loop schedules.

Bundles (Unity's extOSC sends a frame's messages as one) are unpacked; a future timetag is
scheduled on the event loop's clock, never slept on, and a timetag further ahead than
``MAX_AHEAD`` seconds is refused. Datagrams from a sender outside ``allow`` (networks, as from
``--osc-allow CIDR``), packets that are not well-formed OSC within the limits, and messages the
protocol refuses are counted and logged (rate-limited), never fatal and never silent. OSC has no
authentication: the sender's address is all there is to go on.

python-osc logs its own warnings on the root logger, one per odd input; :func:`start_osc` puts
a filter there that lets at most one of them through a second, so no input can flood the log.

Public API: :class:`OscInput`, :func:`start_osc`, :func:`parse_networks`, ``MAX_AHEAD``.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Callable, Union

from ..engine.protocol import ProtocolError, RejectStats, parse_osc
from ..errors import ConfigError
from .oscwire import read_datagram

log = logging.getLogger(__name__)
MAX_AHEAD = 60.0  # seconds a bundle may be timed ahead
MAX_PENDING = 10_000  # timed messages waiting at once
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


class _PythonOscRateLimit(logging.Filter):
    """Passes at most one of python-osc's root-logger records per ``every`` seconds."""

    def __init__(self, every: float = 1.0) -> None:
        super().__init__()
        self.every, self.suppressed, self._last = every, 0, -every

    def filter(self, record: logging.LogRecord) -> bool:
        if "pythonosc" not in record.pathname:
            return True
        now = time.monotonic()
        if now - self._last < self.every:
            self.suppressed += 1
            return False
        self._last = now
        if self.suppressed:
            record.msg = f"{record.msg} ({self.suppressed} more python-osc warnings suppressed)"
            self.suppressed = 0
        return True


def quiet_python_osc() -> None:
    """Rate-limit python-osc's warnings on the root logger (once per process)."""
    root = logging.getLogger()
    if not any(isinstance(f, _PythonOscRateLimit) for f in root.filters):
        root.addFilter(_PythonOscRateLimit())


def parse_networks(specs: Iterable[str]) -> list[Network]:
    """``--osc-allow`` values (``192.168.1.0/24``, ``10.0.0.7``, ``::1``) as networks."""
    nets = []
    for spec in specs:
        try:
            nets.append(ipaddress.ip_network(spec.strip(), strict=False))
        except ValueError:
            raise ConfigError(f"--osc-allow must be an IP address or CIDR network such as "
                              f"192.168.1.0/24, got {spec!r}") from None
    return nets


def _allowed(host: str, allow: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)  # a dual-stack socket reports IPv4 as ::ffff:a.b.c.d
    return any(ip in net or (mapped is not None and mapped in net) for net in allow)


class OscInput(asyncio.DatagramProtocol):
    def __init__(self, submit: Callable[[object], None], stats: RejectStats | None = None, *,
                 allow: Sequence[Network] | None = None) -> None:
        self.submit = submit
        self.stats = stats or RejectStats()
        self.allow = list(allow) if allow else None  # None: every sender
        self.received = 0
        self.pending = 0
        self._loop = asyncio.get_event_loop()

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.received += 1
        if self.allow is not None and not _allowed(addr[0], self.allow):
            self.stats.record("source", f"OSC datagram from {addr[0]}:{addr[1]} dropped: not in "
                                        "--osc-allow " + " ".join(map(str, self.allow)))
            return
        try:
            messages = read_datagram(data)
        except ProtocolError as err:
            self.stats.record("osc", f"unparsable OSC packet from {addr[0]}:{addr[1]}: {err}")
            return
        now = time.time()
        for msg in messages:
            try:
                decoded = parse_osc(msg.address, msg.args)
            except ProtocolError as err:
                self.stats.record_error(err)
                continue
            ahead = 0.0 if msg.time is None else msg.time - now
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
                    stats: RejectStats | None = None, *, allow: Sequence[Network] | None = None,
                    ) -> tuple[asyncio.DatagramTransport, OscInput]:
    """Listen for OSC on UDP ``host:port``; ``allow``: the sender networks taken (None: all)."""
    quiet_python_osc()
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: OscInput(submit, stats, allow=allow), local_addr=(host, port))
    return transport, protocol  # type: ignore[return-value]
