"""A MIDI sink that plays through an embedded SoundFont synth into a sound device.

The output backend is ``auto`` (PortAudio, else miniaudio), ``portaudio`` or ``miniaudio``
(:mod:`moodscore.audio.backends`); the start-up line says which, and which FluidSynth library.

:class:`AudioSink` follows the :class:`~moodscore.midi.base.MidiSink` contract. The scheduler
hands it each message with the clock time it was scheduled for; the sink passes both to its
output process (:mod:`moodscore.audio.output`), which turns the time into a sample index of the
output stream and renders FluidSynth block by block, each event at its sample. So a note is
heard a fixed delay after its engine time, to FluidSynth's 64-sample step, however late the
scheduler got it there (within the margin); the delay is the stream's output latency plus one
block plus ``margin_s``, measured when the stream starts and logged.

Messages sent without a time (a panic, stop, exit) apply at the start of the next block, and a
panic drops the notes still waiting and mutes the reverb tail, so silence follows within one
block plus the output latency. PortAudio's underflow flags are counted in the stats (miniaudio
reports none: there a callback later than the device's whole buffer is counted).

A stream that stops (a device unplugged, a JACK server gone) or whose callbacks stop coming
makes the sink lost: its process ends, messages are dropped and counted, the session goes on,
and :meth:`~moodscore.midi.base.MidiSink.poll` (the scheduler calls it about once a second)
starts a new output process, which opens the device once it is back.

Public API: :class:`AudioSink`, :func:`default_audio`, :func:`audio_sinks`, :func:`audio_stats`.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from typing import Any

import mido

from ..errors import ConfigError, OutputError
from ..midi.base import MidiSink
from .backends import order
from .output import START_S, run_output
from .stream import PcmStream
from .synth import SoundFontSynth, default_soundfont

log = logging.getLogger(__name__)

MARGIN_S = 0.030  # the scheduler sends within ~1 ms of due; a busy machine, 10-50 ms late at times
RETRY_S = 2.0  # while the device is gone, try to open it this often


class AudioSink(MidiSink):
    """Plays MIDI through FluidSynth with ``soundfont`` on the output device ``device`` picks
    (any part of a device or host API name; None: the default output)."""

    def __init__(self, device: str | None = None, soundfont: str | os.PathLike[str] | None = None,
                 *, margin_s: float = MARGIN_S, blocksize: int = 0, backend: str = "auto") -> None:
        super().__init__()
        self.device_name, self.margin_s, self.blocksize = device, margin_s, blocksize
        self.backend = backend
        order(backend)  # an unknown backend is said now
        path = soundfont if soundfont is not None else default_soundfont()
        SoundFontSynth(path, rate=48000).close()  # a bad SoundFont is said now, in one line
        self.soundfont = str(path)
        self.info: dict[str, Any] = {}
        self.name = f"audio {device or 'default device'}"
        self._totals = {"blocks": 0, "underruns": 0, "late_events": 0, "clock_restarts": 0, "callback_errors": 0}
        self._stats: dict[str, int] = dict(self._totals)
        self._proc: Any = None
        self._inbox: Any = None
        self._lost: str | None = None
        self._tried = 0.0
        self._start()  # a device that is not there is said now too, before the model loads

    # -- the output process ----------------------------------------------------------------
    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        commands, self._inbox = ctx.Pipe(duplex=False)
        reports, outbox = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=run_output, name="moodscore-audio", daemon=True,
                           args=(commands, outbox, self.device_name, self.soundfont,
                                 self.margin_s, self.blocksize, self.backend))
        proc.start()
        commands.close()
        outbox.close()
        reply: tuple[str, Any] = ("error", "the audio process did not start")
        if reports.poll(START_S + 20.0):  # spawning imports numpy, FluidSynth and PortAudio
            try:
                reply = reports.recv()
            except EOFError:
                pass
        if reply[0] != "ready":
            proc.join(2.0)
            raise OutputError(str(reply[1]))
        self.info, self._proc, self._lost = reply[1], proc, None
        self.name = f"audio {self.info['device']}"
        threading.Thread(target=self._read, args=(reports, proc), daemon=True,
                         name="moodscore-audio-reports").start()

    def _read(self, reports: Any, proc: Any) -> None:
        while True:
            try:
                kind, body = reports.recv()
            except (EOFError, OSError):
                if self._proc is proc:  # not one that was closed on purpose
                    self._lost = self._lost or "the audio process ended"
                return
            if self._proc is not proc:
                continue
            if kind == "stats":
                self._stats = body
            elif kind == "lost":
                self._lost = body

    def _stop_process(self) -> None:
        proc, inbox, self._proc = self._proc, self._inbox, None
        if proc is None:
            return
        try:
            inbox.send(("close",))
        except OSError:
            pass
        proc.join(2.0)
        if proc.is_alive():
            proc.kill()
            proc.join(2.0)
        for key in self._totals:  # this process's counts join the session's
            self._totals[key] += self._stats.get(key, 0)
        self._stats = {key: 0 for key in self._totals}

    # -- the sink contract -----------------------------------------------------------------
    def _open(self) -> None:
        if self._proc is None:
            self._tried = time.monotonic()
            self._start()
        log.info("audio: %s through %s at %d Hz, %d-frame blocks; output latency %.1f ms; notes "
                 "heard %.1f ms after their engine time; synth %s; SoundFont %s; underruns: %s",
                 self.info["device"], self.info["backend"], self.info["rate"], self.info["block"],
                 self.info["output_latency_ms"], self.info["latency_ms"], self.info["synth"],
                 self.info["soundfont"], self.info["underruns_from"])

    def _send(self, msg: mido.Message) -> None:
        self._send_at(msg, None)

    def _send_at(self, msg: mido.Message, at: float | None) -> None:
        if hasattr(msg, "channel"):  # clock, start, stop: nothing for a synth
            self._inbox.send(("midi", at, msg.bytes()))

    def _close(self) -> None:
        self._stop_process()

    def _check(self) -> bool:
        if self._lost is not None:
            log.warning("%s: %s", self.name, self._lost)
            return False
        return self._proc is not None and self._proc.is_alive()

    def _probe(self) -> bool:
        return time.monotonic() - self._tried >= RETRY_S

    # -- measurements ----------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        counts = {key: self._totals[key] + self._stats.get(key, 0) for key in self._totals}
        return {**{k: self.info.get(k) for k in ("device", "backend", "synth", "rate", "block",
                                                  "latency_ms", "output_latency_ms")},
                **counts, "dropped": self.dropped, "reconnects": self.reconnects}


def default_audio(soundfont: str | os.PathLike[str] | None = None, backend: str = "auto") -> AudioSink:
    """The sink for a session started with no output chosen: the default sound device.

    Without one, a :class:`~moodscore.errors.ConfigError` in one line that says how to choose.
    """
    try:
        sink = AudioSink(None, soundfont, backend=backend)
    except OutputError as err:
        raise ConfigError(f"no output chosen, and the embedded synth cannot play here: {err}; choose "
                          "one with --audio-device NAME (--audio-device list shows them), or a MIDI "
                          "output with --midi-port NAME or --virtual-port NAME, or only record with "
                          "--record out.mid") from err
    log.info("no MIDI output chosen: playing through %s with the embedded synth (--audio): %s, "
             "output %s", sink.info["device"], sink.info["synth"], sink.info["backend"])
    return sink


def audio_sinks(sink: MidiSink) -> list[MidiSink]:
    """The audio sinks (:class:`AudioSink`, :class:`~moodscore.audio.stream.PcmStream`) in
    ``sink``: itself, or inside a TeeSink."""
    if isinstance(sink, (AudioSink, PcmStream)):
        return [sink]
    children = getattr(sink, "sinks", ())
    return [s for child in children for s in audio_sinks(child)]


def audio_stats(sink: MidiSink) -> dict[str, Any]:
    """``{"audio": ..., "stream": ...}`` of the audio sinks in ``sink``: for a session summary."""
    out: dict[str, Any] = {}
    for found in audio_sinks(sink):
        key = "audio" if isinstance(found, AudioSink) else "stream"
        out.setdefault(key, found.stats())  # type: ignore[attr-defined]
    return out
