"""The bounded OSC reader: well-formed datagrams read as python-osc would, everything else
refused with one line, and no datagram taking unbounded time (fuzzed with hypothesis)."""
from __future__ import annotations

import struct
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from support import within

from moodscore.engine.protocol import ProtocolError, parse_osc
from moodscore.transport.oscwire import MAX_DEPTH, MAX_ELEMENTS, MAX_PACKET, OscWireError, read_datagram

BUDGET_S = 0.5  # per datagram, with room for a busy machine: reading one takes microseconds
NTP = 2_208_988_800


def message(address: str = "/mood/va", *args: object) -> bytes:
    b = OscMessageBuilder(address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


def bundle(*contents: bytes, timetag: bytes = b"\x00" * 7 + b"\x01") -> bytes:
    body = b"".join(struct.pack(">i", len(c)) + c for c in contents)
    return b"#bundle\x00" + timetag + body


def timed(datagram: bytes) -> list:
    """read_datagram within the budget; an endless loop fails here instead of hanging."""
    with within(BUDGET_S):
        return read_datagram(datagram)


def test_messages_read_as_python_osc_reads_them() -> None:
    data = message("/mood/va", 0.5, -0.25, 2.0)
    [got] = read_datagram(data)
    [want] = OscPacket(data).messages
    assert (got.address, got.args, got.time) == (want.message.address, tuple(want.message.params), None)
    assert parse_osc(got.address, got.args).valence == 0.5


def test_bundles_nest_and_keep_their_timetags() -> None:
    b = OscBundleBuilder(IMMEDIATELY)
    b.add_content(OscMessageBuilder("/mood/play").build())
    inner = OscBundleBuilder(time.time() + 5)
    inner.add_content(OscMessageBuilder("/mood/stop").build())
    b.add_content(inner.build())
    got = read_datagram(b.build().dgram)
    assert [m.address for m in got] == ["/mood/play", "/mood/stop"]
    assert got[0].time is None and got[1].time == pytest.approx(time.time() + 5, abs=0.1)


def test_an_inner_bundle_is_never_due_before_its_outer_one() -> None:
    later = struct.pack(">II", int(time.time()) + NTP + 30, 0)
    got = read_datagram(bundle(bundle(message("/mood/play")), timetag=later))
    assert got[0].time == pytest.approx(time.time() + 30, abs=1.5)


@pytest.mark.parametrize("size", [-4, -1, 0, 3, 5, 1 << 30, -(1 << 31)])
def test_the_endless_loop_class_is_refused_at_once(size: int) -> None:
    """python-osc 1.10.2 loops for ever on a bundle element of size -4 (and mis-reads others)."""
    evil = b"#bundle\x00" + b"\x00" * 7 + b"\x01" + struct.pack(">i", size)
    with pytest.raises(OscWireError, match="bundle element size"):
        timed(evil + (b"" if size <= 0 or size > 64 else b"\x00" * (size + (-size % 4))))


def test_limits_are_refused_with_what_is_allowed() -> None:
    deep = message("/mood/play")
    for _ in range(MAX_DEPTH + 1):
        deep = bundle(deep)
    with pytest.raises(OscWireError, match=f"at most {MAX_DEPTH} deep"):
        timed(deep)
    with pytest.raises(OscWireError, match=f"at most {MAX_ELEMENTS} messages"):
        timed(bundle(*[message("/mood/play")] * (MAX_ELEMENTS + 1)))
    with pytest.raises(OscWireError, match=f"at most {MAX_PACKET} allowed"):
        timed(message("/mood/stinger", "x" * 60_000))
    with pytest.raises(OscWireError, match="type tag 'q' is not accepted; allowed:"):
        timed(b"/a\x00\x00,qqq\x00\x00\x00\x00")
    with pytest.raises(OscWireError, match="at most 8 arguments"):
        timed(b"/a\x00\x00" + b"," + b"T" * 40 + b"\x00" * 3)
    with pytest.raises(OscWireError, match="multiple of 4"):
        timed(b"/a\x00")
    with pytest.raises(OscWireError, match="blob"):
        timed(b"/a\x00\x00,b\x00\x00" + struct.pack(">i", -8))


def test_not_utf8_is_refused() -> None:
    with pytest.raises(ProtocolError):
        timed(b"/\xff\xfe\x00,\x00\x00\x00")


VALID = [message("/mood/va", 0.5, -0.5), message("/mood/stinger", "victory"), message("/mood/play"),
         message("/mood/tempo", 96.0), message("/mood/arousal", 1), bundle(message("/mood/va", 0.1, 0.2)),
         bundle(message("/mood/play"), bundle(message("/mood/valence", -0.3)))]


def _read_or_refuse(data: bytes) -> None:
    try:
        for m in timed(data):
            assert isinstance(m.address, str) and isinstance(m.args, tuple)
            assert m.time is None or isinstance(m.time, float)
            try:
                parse_osc(m.address, m.args)
            except ProtocolError:
                pass
    except ProtocolError as err:  # refused: one line saying why
        assert str(err) and "\n" not in str(err)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512))
def test_random_bytes_are_read_or_refused(data: bytes) -> None:
    _read_or_refuse(data)
    _read_or_refuse(b"#bundle\x00" + data)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid datagram with a few bytes, int32 sizes, type tags or timetags changed."""
    data = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["byte", "int32", "tag", "timetag", "cut", "append"]))
        if kind == "byte" and data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        elif kind == "int32" and len(data) >= 4:
            at = draw(st.integers(0, (len(data) - 4) // 4)) * 4
            data[at:at + 4] = struct.pack(">i", draw(st.sampled_from(
                [-4, -1, 0, 1, 4, 8, 2**31 - 1, -2**31, len(data), len(data) + 4])))
        elif kind == "tag" and b"," in data:
            at = data.index(b",") + 1
            if at < len(data):
                data[at] = ord(draw(st.sampled_from("ifsbhdtTFNrm[]?x")))
        elif kind == "timetag" and data.startswith(b"#bundle"):
            data[8:16] = struct.pack(">Q", draw(st.integers(0, 2**64 - 1)))
        elif kind == "cut" and data:
            del data[draw(st.integers(0, len(data) - 1)):]
        else:
            data += draw(st.binary(max_size=16))
    return bytes(data)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_packets_and_bundles_are_read_or_refused(data: bytes) -> None:
    _read_or_refuse(data)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(VALID), min_size=1, max_size=8), st.integers(0, MAX_DEPTH - 3))
def test_nested_well_formed_bundles_read_every_message(parts: list[bytes], depth: int) -> None:
    data = bundle(*parts)
    for _ in range(depth):
        data = bundle(data)
    want = sum(len(OscPacket(p).messages) for p in parts)
    assert len(timed(data)) == want


def test_python_osc_root_logger_warnings_are_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    """python-osc warns on the root logger once per odd element; quiet_python_osc lets one a second through."""
    import logging

    from pythonosc.osc_bundle import OscBundle

    from moodscore.transport.osc import quiet_python_osc

    quiet_python_osc()
    quiet_python_osc()  # once per process, however often it is called
    assert sum(type(f).__name__ == "_PythonOscRateLimit" for f in logging.getLogger().filters) == 1
    odd = bundle(*[b"\x00\x00\x00\x00"] * 200)  # 200 elements python-osc cannot identify
    with caplog.at_level(logging.WARNING):
        OscBundle(odd)
        OscBundle(odd)
    osc_records = [r for r in caplog.records if "pythonosc" in r.pathname]
    assert len(osc_records) <= 1, len(osc_records)
