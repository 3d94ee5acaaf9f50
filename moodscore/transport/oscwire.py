"""Bounded reading of OSC datagrams: the structure is checked here before python-osc sees it.

python-osc's bundle parser trusts element sizes: an element size that is zero, negative or
past the end makes it loop, for ever in the worst case (a 20-byte bundle with size -4). So the
bundle layer is read here with limits, and python-osc parses single messages only, after their
address and type tags have been checked too (python-osc logs one warning per unknown type tag
on the root logger). Every datagram costs time linear in its size, capped by ``MAX_PACKET``.

Limits (also stated in the README's protocol section):

- a datagram: at most ``MAX_PACKET`` bytes;
- a bundle: ``#bundle\\0``, an 8-byte timetag, then elements, each an int32 size that is
  positive, a multiple of 4 and inside its bundle, followed by a message or a bundle;
- nesting at most ``MAX_DEPTH`` bundles deep, at most ``MAX_ELEMENTS`` messages a datagram;
- a message: an address starting with ``/``, a type tag string of at most ``MAX_ARGS``
  arguments drawn from ``i f d h s b T F N``, every argument inside the message.

Public API: :func:`read_datagram`, :class:`TimedOsc`, :class:`OscWireError`, ``MAX_PACKET``,
``MAX_DEPTH``, ``MAX_ELEMENTS``, ``MAX_ARGS``, ``IMMEDIATELY``.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message import ParseError as MessageParseError

from ..engine.protocol import ProtocolError

MAX_PACKET = 8192  # bytes; our largest message is under 100
MAX_DEPTH = 4  # bundles within bundles
MAX_ELEMENTS = 64  # messages in one datagram (a game frame's worth)
MAX_ARGS = 8  # arguments of one message; the protocol's longest takes 3
IMMEDIATELY = None  # the timetag 0x0000000000000001 and every past one
_BUNDLE = b"#bundle\x00"
_NTP_EPOCH = 2_208_988_800  # seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix)
_ARG_SIZE = {"i": 4, "f": 4, "d": 8, "h": 8, "T": 0, "F": 0, "N": 0}  # "s" and "b" vary
_TAGS = frozenset(_ARG_SIZE) | {"s", "b"}


class OscWireError(ProtocolError):
    """A datagram that is not well-formed OSC within the limits; always of kind ``osc``."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "osc")


@dataclass(frozen=True)
class TimedOsc:
    """One message of a datagram: when it is due (Unix seconds; None: now) and what it says."""

    time: float | None
    address: str
    args: tuple[object, ...]


def _padded_string_end(data: bytes, start: int, end: int, what: str) -> int:
    """Index after the NUL-terminated, 4-byte-padded string at ``start`` (within ``end``)."""
    nul = data.find(b"\x00", start, end)
    if nul < 0:
        raise OscWireError(f"{what} is not NUL-terminated inside its message")
    after = nul + 1 + (-(nul + 1 - start) % 4)
    if after > end:
        raise OscWireError(f"{what} padding runs past the end of its message")
    return after


def _check_message(data: bytes, start: int, end: int) -> None:
    """Address, type tags and argument sizes of the message in ``data[start:end]``."""
    if data[start:start + 1] != b"/":
        raise OscWireError("an OSC message must start with an address beginning with '/'")
    index = _padded_string_end(data, start, end, "the address")
    if index == end:
        return  # no type tag string: no arguments (OSC 1.0 allows it)
    if data[index:index + 1] != b",":
        raise OscWireError("the type tag string must start with ','")
    tags_end = _padded_string_end(data, index, end, "the type tag string")
    tags = data[index + 1:data.index(b"\x00", index)].decode("ascii", "replace")
    if len(tags) > MAX_ARGS:
        raise OscWireError(f"a message takes at most {MAX_ARGS} arguments, got {len(tags)}")
    unknown = sorted(set(tags) - _TAGS)
    if unknown:
        raise OscWireError(f"type tag {unknown[0]!r} is not accepted; allowed: "
                           + " ".join(sorted(_TAGS)))
    index = tags_end
    for tag in tags:
        if tag == "s":
            index = _padded_string_end(data, index, end, "a string argument")
        elif tag == "b":
            if index + 4 > end:
                raise OscWireError("a blob argument has no size")
            (size,) = struct.unpack_from(">i", data, index)
            if size < 0 or index + 4 + size + (-size % 4) > end:
                raise OscWireError(f"a blob argument's size {size} does not fit its message")
            index += 4 + size + (-size % 4)
        else:
            index += _ARG_SIZE[tag]
            if index > end:
                raise OscWireError(f"argument {tag!r} runs past the end of its message")
    if index != end:
        raise OscWireError(f"{end - index} bytes after the last argument")


def _timetag(data: bytes, index: int) -> float | None:
    seconds, fraction = struct.unpack_from(">II", data, index)
    if seconds == 0 and fraction <= 1:
        return IMMEDIATELY
    return seconds - _NTP_EPOCH + fraction / 2**32


def _message(data: bytes, start: int, end: int, when: float | None) -> TimedOsc:
    _check_message(data, start, end)
    try:
        msg = OscMessage(data[start:end])
    except (MessageParseError, UnicodeDecodeError) as err:  # checked above; belt and braces
        raise OscWireError(f"the message does not parse: {err}") from None
    return TimedOsc(when, msg.address, tuple(msg.params))


def _bundle(data: bytes, start: int, end: int, depth: int, out: list[TimedOsc],
            outer: float | None) -> None:
    if depth > MAX_DEPTH:
        raise OscWireError(f"bundles nest at most {MAX_DEPTH} deep")
    if end - start < 16:
        raise OscWireError("a bundle needs '#bundle', a NUL and an 8-byte timetag")
    when = _timetag(data, start + 8)
    if outer is not None and (when is None or when < outer):
        when = outer  # OSC 1.0: an inner bundle is never due before the one that holds it
    index = start + 16
    while index < end:
        if index + 4 > end:
            raise OscWireError("a bundle element has no size")
        (size,) = struct.unpack_from(">i", data, index)
        index += 4
        if size <= 0 or size % 4 or index + size > end:
            raise OscWireError(f"bundle element size {size} is not a positive multiple of 4 "
                               f"inside the bundle ({end - index} bytes left)")
        if data.startswith(_BUNDLE, index):
            _bundle(data, index, index + size, depth + 1, out, when)
        else:
            if len(out) >= MAX_ELEMENTS:
                raise OscWireError(f"at most {MAX_ELEMENTS} messages a datagram")
            out.append(_message(data, index, index + size, when))
        index += size


def read_datagram(data: bytes) -> list[TimedOsc]:
    """Every message of one OSC datagram with the time it is due, or :class:`OscWireError`."""
    if len(data) > MAX_PACKET:
        raise OscWireError(f"datagram is {len(data)} bytes; at most {MAX_PACKET} allowed")
    if not data or len(data) % 4:
        raise OscWireError(f"an OSC datagram is a non-zero multiple of 4 bytes, got {len(data)}")
    if data.startswith(_BUNDLE):
        out: list[TimedOsc] = []
        _bundle(data, 0, len(data), 1, out, None)
        return out
    return [_message(data, 0, len(data), IMMEDIATELY)]
