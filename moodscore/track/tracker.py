"""The tracking loop: frames in, ``/mood/va valence arousal glide`` out at a bounded rate.

:class:`MoodTracker` is the pipeline for one frame (detect, classify, place, smooth) and does
no I/O. :func:`run` drives it over a :mod:`~moodscore.track.sources` source and hands the mood
to an output: :class:`OscOutput` (python-osc to the engine) or :class:`JsonOutput`
(``--dry-run``: one JSON line per message on stdout). :class:`Throttle` bounds the rate: at
most ``rate_hz`` messages a second, and, while the mood stands still, one a second to keep the
engine in step. The glide sent with each message is the interval between messages, so the
engine's own slew joins successive values without adding lag of its own.

Public API: :class:`Reading`, :class:`MoodTracker`, :class:`Throttle`, :class:`OscOutput`,
:class:`JsonOutput`, :class:`RunStats`, :func:`run`.
"""
from __future__ import annotations

import json
import logging
import math
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import IO, Protocol

import numpy as np

from . import TrackError
from .circumplex import to_valence_arousal
from .expression import LABELS, ExpressionModel
from .faces import Box, FaceDetector, face_input, to_gray
from .settings import TrackSettings
from .smoothing import Mood, MoodSmoother
from .sources import Frame, Source

log = logging.getLogger(__name__)
OSC_ADDRESS = "/mood/va"
KEEPALIVE_S = 1.0  # resend an unchanged mood this often
CHANGED = 1e-3  # a mood closer than this to the last one sent is "unchanged"
FULL_SEARCH_S = 1.0  # between these, the detector looks near the last face first


@dataclass(frozen=True)
class Reading:
    t: float
    face: Box | None
    probabilities: np.ndarray | None  # [7] in LABELS order, when a face was classified
    observed: Mood | None  # this frame's (valence, arousal), before smoothing
    mood: Mood | None  # smoothed; None until a face has been seen
    seconds: float  # detect + classify time for this frame (0 when reused)

    @property
    def expression(self) -> str | None:
        return None if self.probabilities is None else LABELS[int(np.argmax(self.probabilities))]


class MoodTracker:
    """``step(frame)`` -> :class:`Reading`. No I/O: the caller brings frames and times."""

    def __init__(self, settings: TrackSettings | None = None, detector: FaceDetector | None = None,
                 model: ExpressionModel | None = None) -> None:
        self.settings = settings or TrackSettings()
        self.detector = detector or FaceDetector(self.settings)
        self.model = model or ExpressionModel()
        self.smoother = MoodSmoother(self.settings)
        self._last: tuple[Box | None, np.ndarray | None, Mood | None] = (None, None, None)
        self._full_search_t: float | None = None

    def step(self, frame: Frame) -> Reading:
        seconds = 0.0
        if frame.new:
            start = time.perf_counter()
            gray = to_gray(frame.image)
            # around last frame's face, but the whole frame once a second: someone nearer may
            # have come in
            full = self._full_search_t is None or not 0 <= frame.t - self._full_search_t < FULL_SEARCH_S
            box = self.detector.find(gray, None if full else self._last[0])
            if full:
                self._full_search_t = frame.t
            probs = observed = None
            if box is not None:
                probs = self.model.probabilities(face_input(gray, box, self.settings.margin)[None])[0]
                observed = to_valence_arousal(probs)
            seconds = time.perf_counter() - start
            self._last = (box, probs, observed)
        box, probs, observed = self._last
        mood = self.smoother.update(frame.t, observed)
        return Reading(frame.t, box, probs, observed, mood, seconds)


class Throttle:
    """``due(now, mood)``: whether to send now. Pure: times are given by the caller."""

    def __init__(self, rate_hz: float) -> None:
        self.interval = 1.0 / rate_hz
        self.sent_at: float | None = None
        self.sent: Mood | None = None

    def due(self, now: float, mood: Mood) -> bool:
        if self.sent_at is None or self.sent is None:
            return True
        if now - self.sent_at < self.interval:
            return False
        moved = max(abs(a - b) for a, b in zip(mood, self.sent)) >= CHANGED
        return moved or now - self.sent_at >= KEEPALIVE_S

    def mark(self, now: float, mood: Mood) -> None:
        self.sent_at, self.sent = now, mood


class Output(Protocol):
    def send(self, reading: Reading, mood: Mood, glide: float) -> None: ...

    def close(self) -> None: ...


class OscOutput:
    """``/mood/va f f f`` to the engine over UDP (python-osc builds the packet). A send that
    fails (no route, the engine not up yet) is counted and logged, never fatal: the next
    message tries again."""

    def __init__(self, host: str, port: int) -> None:
        try:
            family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        except (socket.gaierror, UnicodeError) as err:
            raise TrackError(f"--host {host!r} cannot be resolved: {err}") from err
        self.address = address
        self.sock = socket.socket(family, kind, proto)
        self.failed = 0

    def send(self, reading: Reading, mood: Mood, glide: float) -> None:
        from pythonosc.osc_message_builder import OscMessageBuilder

        builder = OscMessageBuilder(OSC_ADDRESS)
        for value in (mood[0], mood[1], glide):
            builder.add_arg(float(value), OscMessageBuilder.ARG_TYPE_FLOAT)
        try:
            self.sock.sendto(builder.build().dgram, self.address)
        except OSError as err:
            self.failed += 1
            if self.failed == 1 or self.failed % 100 == 0:
                log.warning("sending %s failed (%d so far): %s", OSC_ADDRESS, self.failed, err)

    def close(self) -> None:
        self.sock.close()


class JsonOutput:
    """``--dry-run``: what would be sent, as one JSON object a line."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout

    def send(self, reading: Reading, mood: Mood, glide: float) -> None:
        line = {"t": round(reading.t, 3), "valence": round(mood[0], 4), "arousal": round(mood[1], 4),
                "glide": round(glide, 3), "face": reading.face is not None,
                "expression": reading.expression}
        self.stream.write(json.dumps(line) + "\n")
        self.stream.flush()

    def close(self) -> None:
        pass


@dataclass
class RunStats:
    frames: int = 0
    faces: int = 0
    sent: int = 0
    classify_ms: list[float] = field(default_factory=list)  # per frame that was analysed

    def summary(self) -> str:
        ms = sorted(self.classify_ms)
        timing = (f"; detect+classify {sum(ms) / len(ms):.1f} ms mean, "
                  f"{ms[min(len(ms) - 1, math.ceil(0.95 * len(ms)) - 1)]:.1f} ms p95") if ms else ""
        return f"{self.frames} frames, face in {self.faces}, {self.sent} messages sent{timing}"


def run(source: Source, tracker: MoodTracker, output: Output, frames: int | None = None,
        seconds: float | None = None) -> RunStats:
    """Track until the source ends, ``frames`` frames or ``seconds`` of source time have passed."""
    throttle = Throttle(tracker.settings.rate_hz)
    stats = RunStats()
    last: tuple[Reading, Mood] | None = None
    for frame in source.frames():
        if seconds is not None and frame.t > seconds:
            break
        reading = tracker.step(frame)
        stats.frames += 1
        stats.faces += reading.face is not None
        if frame.new:
            stats.classify_ms.append(reading.seconds * 1000.0)
        if reading.mood is not None:
            now = time.monotonic()
            if throttle.due(now, reading.mood):
                output.send(reading, reading.mood, throttle.interval)
                throttle.mark(now, reading.mood)
                stats.sent += 1
                last = None
            else:
                last = (reading, reading.mood)
        if frames is not None and stats.frames >= frames:
            break
    if last is not None and last[1] != throttle.sent:  # the final mood, held back by the rate
        if throttle.sent_at is not None:
            time.sleep(max(0.0, throttle.sent_at + throttle.interval - time.monotonic()))
        output.send(last[0], last[1], throttle.interval)
        stats.sent += 1
    return stats
