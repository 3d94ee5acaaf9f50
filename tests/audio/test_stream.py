"""``moodscore serve --ws-audio``: the rendered music as binary frames over the WebSocket.

A real engine streams; a websockets client subscribed to ``audio`` puts the frames together by
their sample index and checks them against an offline render of the engine's own ``--record``
file through the same synth, placed by the frames' music time (the engine clock, as the bar
events' ``time``): the same music at the same moments. A second subscriber that never reads
(a tiny receive buffer) loses frames, counted, while the first one's stream has no gap.
"""
from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np
from websockets.sync.client import connect

from moodscore.engine.protocol import AUDIO_STEMS, STEM_CHANNELS, audio_flags, unpack_audio
from support import Engine, wait_until
from test_serve_audio import RATE, best_lag, file_zero, highpass, render, timeline


def stalled_subscriber(port: int) -> socket.socket:
    """A client that subscribes to audio and then never reads: the WebSocket handshake and one
    masked text frame by hand, on a socket with a tiny receive buffer."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                 f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n".encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        reply += sock.recv(1)  # byte by byte: nothing past the headers is taken
    assert b" 101 " in reply.split(b"\r\n")[0], reply
    payload, mask = json.dumps({"type": "subscribe", "events": ["audio"]}).encode(), os.urandom(4)
    sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask
                 + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    return sock


class AudioClient:
    """Subscribes to audio and bar; keeps ``frames`` as (arrival, index, time, pcm)."""

    def __init__(self, port: int) -> None:
        self._stack = ExitStack()
        self.ws = self._stack.enter_context(connect(f"ws://127.0.0.1:{port}", open_timeout=10,
                                                    max_size=None))
        self.ws.send(json.dumps({"type": "subscribe", "events": ["audio", "bar"]}))
        self.frames: list[tuple[float, int, float, np.ndarray]] = []
        self.bars: list[float] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for frame in self.ws:
                if isinstance(frame, bytes):
                    rate, channels, index, t, pcm = unpack_audio(frame)
                    assert (rate, channels) == (RATE, 2)
                    self.frames.append((time.perf_counter(), index, t,
                                        np.frombuffer(pcm, dtype=np.int16).reshape(-1, 2)))
                else:
                    event = json.loads(frame)
                    if event["type"] == "bar":
                        self.bars.append(event["time"])
        except Exception:  # noqa: BLE001 - the connection closed
            pass


def test_ws_audio_frames_are_the_engines_music_on_its_clock(tmp_path: Path) -> None:
    engine = Engine(tmp_path, "--ws-audio")
    slow, code = None, None
    try:
        client = AudioClient(engine.ws_port)
        wait_until(lambda: len(client.frames) > 50, 20, "audio frames")
        slow = stalled_subscriber(engine.ws_port)
        time.sleep(4.0)
        engine.ws.request({"type": "va", "valence": -0.8, "arousal": 0.9})  # type: ignore[union-attr]
        time.sleep(2.0)
    finally:
        code = engine.close()  # with the stalled subscriber still there: it must not hold the exit up
        if slow is not None:
            slow.close()
    assert code == 0, engine.log()[-2000:]
    summary = engine.summary()
    frames = list(client.frames)
    indices = [index for _, index, _, _ in frames]
    assert indices == list(range(indices[0], indices[0] + 1024 * len(frames), 1024)), "a gap"
    audio = np.concatenate([pcm for *_, pcm in frames])
    assert np.abs(audio).max() > 3000
    times = np.array([t for _, _, t, _ in frames])
    assert np.allclose(np.diff(times), 1024 / RATE, atol=1e-6)  # the music time runs with the samples
    # aligned with the engine's own render of the session, by the engine clock alone
    events = timeline(engine.record)
    zero = file_zero(events, client.bars)
    ref = render(events, events[-1][0] + 1.0)
    expected = round((times[0] - zero) * RATE)  # the reference sample of the first streamed one
    lag = best_lag(highpass(audio), highpass(ref), -expected, RATE // 4)
    off_ms = (-lag - expected) / RATE * 1e3
    assert abs(off_ms) <= 5.0, (off_ms, lag, expected)
    # when a frame arrives, after its music time: one block and the margin, and the trip
    late = np.array([arrival - t for arrival, _, t, _ in frames]) * 1e3
    assert summary["audio_frames_dropped"] > 0, summary  # the slow one lost frames ...
    assert summary["lateness_ms"]["p99_ms"] < 50, summary  # ... and held nothing up
    print(f"\n{len(frames)} frames ({len(frames) * 1024 / RATE:.1f} s), no gap; stream vs the engine's "
          f"own render {off_ms:+.2f} ms; arrival after music time p50 {np.median(late):.1f} ms, max "
          f"{late.max():.1f} ms; slow subscriber lost {summary['audio_frames_dropped']} frames; "
          f"{summary.get('stream')}")


def test_ws_audio_stems_are_the_parts_and_add_up_to_the_mix(tmp_path: Path) -> None:
    """``--ws-audio-stems``: a subscriber of ``stems`` and ``audio`` gets, for each block, the mix
    and one stems frame (flags AUDIO_STEMS, a stereo pair per part). The stems add up to the mix
    of the same block; the melody's stem and others sound, the stingers' (none played) is silent."""
    engine = Engine(tmp_path, "--ws-audio-stems")
    mix: dict[int, np.ndarray] = {}
    stems: dict[int, np.ndarray] = {}
    try:
        with connect(f"ws://127.0.0.1:{engine.ws_port}", open_timeout=10, max_size=None) as ws:
            ws.send(json.dumps({"type": "subscribe", "events": ["audio", "stems"]}))
            deadline = time.monotonic() + 20
            while len(stems) < 200 and time.monotonic() < deadline:
                frame = ws.recv(timeout=10)
                if not isinstance(frame, bytes):
                    continue
                rate, channels, index, _, pcm = unpack_audio(frame)
                samples = np.frombuffer(pcm, dtype=np.int16).reshape(-1, channels).astype(np.float64)
                if audio_flags(frame) == AUDIO_STEMS:
                    assert channels == 2 * len(STEM_CHANNELS), channels
                    stems[index] = samples
                else:
                    assert (rate, channels, audio_flags(frame)) == (RATE, 2, 0)
                    mix[index] = samples
    finally:
        engine.close()
    both = sorted(set(mix) & set(stems))
    assert len(both) >= 150, (len(mix), len(stems))
    m = np.concatenate([mix[i] for i in both])
    s = np.concatenate([stems[i] for i in both]).reshape(len(m), len(STEM_CHANNELS), 2)
    residual = np.sqrt(np.mean((s.sum(axis=1) - m) ** 2)) / np.sqrt(np.mean(m ** 2))
    level = {ch: float(np.sqrt(np.mean(s[:, k] ** 2))) for k, ch in enumerate(STEM_CHANNELS)}
    print(f"\n{len(both)} blocks: the stems add up to the mix within {residual:.2%} (rms); "
          f"rms per channel {({ch: round(v) for ch, v in level.items()})}")
    assert residual < 0.02, residual
    assert level[0] > 100 and sum(v > 100 for v in level.values()) >= 3, level  # the melody and others
    assert level[3] < 4.0, level  # no stinger was played: its stem is silent (dither only)
