"""A MIDI sink that plays through an embedded SoundFont synth into a sound device.

:class:`AudioSink` follows the :class:`~moodscore.midi.base.MidiSink` contract. The scheduler
hands it each message with the clock time it was scheduled for; the sink turns that time into a
sample index of the output stream and the PortAudio callback renders FluidSynth block by block,
each event at its sample (:class:`~moodscore.audio.synth.BlockPlayer`). So a note is heard a
fixed :attr:`AudioSink.delay` after its engine time, to the sample, whenever the scheduler got
it there; the delay is the stream's output latency plus one block plus a margin for the
scheduler's own lateness, measured when the stream starts and logged.

Messages sent without a time (a panic, stop, exit) apply at the start of the next block, and a
panic drops the notes still waiting and mutes the reverb tail, so silence follows within one
block plus the output latency. PortAudio's underflow flags are counted in :attr:`underruns`.

A stream that stops (a device unplugged, a JACK server gone) or whose callbacks stop coming
makes the sink lost: messages are dropped and counted, the session goes on, and
:meth:`~moodscore.midi.base.MidiSink.poll` (the scheduler calls it about once a second) makes
PortAudio rescan and reopens the device when it is back.

Public API: :class:`AudioSink`, :func:`default_audio`, :func:`audio_sinks`, :func:`audio_stats`.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import mido

from ..errors import ConfigError, OutputError
from ..midi.base import MidiSink
from .devices import Device, find_output, portaudio, rescan
from .synth import AT_ONCE, BlockPlayer, SampleClock, SoundFontSynth

log = logging.getLogger(__name__)

MARGIN_S = 0.015  # the scheduler sends within ~1 ms of due; a busy machine, 10-50 ms late at times
START_S = 3.0  # how long a new stream may take to call back
STALL_S = 1.0  # no callback for this long: the device is gone


class AudioSink(MidiSink):
    """Plays MIDI through FluidSynth with ``soundfont`` on the output device ``device`` picks."""

    def __init__(self, device: str | None = None, soundfont: str | os.PathLike[str] | None = None,
                 *, margin_s: float = MARGIN_S, blocksize: int = 0,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__()
        self.device_name, self.margin_s, self.blocksize, self.clock = device, margin_s, blocksize, clock
        self.device: Device = find_output(device)
        self.rate = int(self.device.rate)
        self.synth = SoundFontSynth(soundfont, rate=self.rate)
        self.player = BlockPlayer(self.synth)
        self.sample_clock = SampleClock(self.rate)
        self.name = f"audio {self.device.label}"
        self.delay = 0.0  # engine time -> heard, seconds
        self.output_latency = 0.0
        self.block = 0  # frames per callback, as the device delivers them
        self.underruns = 0
        self.blocks = 0
        self.callback_errors = 0
        self._stream: Any = None
        self._last_callback = 0.0
        self._started = threading.Event()
        self._finished = False
        self._opened = False

    # -- the sink contract ---------------------------------------------------------------
    def _open(self) -> None:
        sd = portaudio()
        if self._opened:  # after a rescan the device may have another index
            self.device = find_output(self.device_name)
        self._opened = True
        self.sample_clock.reset()
        self._started.clear()
        self._finished = False
        try:
            stream = sd.OutputStream(device=self.device.index, samplerate=self.rate, channels=2,
                                     dtype="int16", latency="low", blocksize=self.blocksize,
                                     callback=self._callback, finished_callback=self._on_finished)
            stream.start()
        except Exception as err:
            raise OutputError(f"cannot open sound device {self.device.label} at {self.rate} Hz: "
                              f"{err}") from err
        if not self._started.wait(START_S):
            stream.abort()
            stream.close()
            raise OutputError(f"sound device {self.device.label} did not start playing within "
                              f"{START_S:g} s")
        self._stream = stream
        self.delay = self.output_latency + self.block / self.rate + self.margin_s
        log.info("audio: %s at %d Hz, %d-frame blocks; output latency %.1f ms; notes heard "
                 "%.1f ms after their engine time; SoundFont %s", self.device.label, self.rate,
                 self.block, self.output_latency * 1e3, self.delay * 1e3, self.synth.path)

    def _send(self, msg: mido.Message) -> None:
        self._send_at(msg, None)

    def _send_at(self, msg: mido.Message, at: float | None) -> None:
        if not hasattr(msg, "channel"):
            return  # clock, start, stop: nothing for a synth
        if at is None or self.sample_clock.origin is None:
            self.player.push(AT_ONCE, msg.bytes())
        else:
            self.player.push(max(0, self.sample_clock.index(at + self.delay)), msg.bytes())

    def _close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.abort()  # at once: what is buffered is not played out
            stream.close()

    def _check(self) -> bool:
        if self._stream is None or self._finished or not self._stream.active:
            return False
        return self.clock() - self._last_callback < STALL_S

    def _probe(self) -> bool:
        rescan()  # no stream is open: the sink was lost and closed its stream
        find_output(self.device_name)
        return True

    # -- the audio thread ----------------------------------------------------------------
    def _callback(self, out: Any, frames: int, info: Any, status: Any) -> None:
        try:
            now = self.clock()
            if status.output_underflow:
                self.underruns += 1
            lead = info.outputBufferDacTime - info.currentTime
            if not 0.0 < lead < 1.0:  # a host API that does not report it
                lead = float(self._stream.latency) if self._stream is not None else 0.0
            if not self._started.is_set():
                self.output_latency, self.block = lead, frames
            self.sample_clock.update(now + lead, self.player.frames)
            out[:] = self.player.render(frames)
            self.blocks += 1
            self._last_callback = now
            self._started.set()
        except Exception:  # never let the stream die of it: silence this block
            out.fill(0)
            self.callback_errors += 1
            if self.callback_errors == 1:
                log.exception("audio callback failed; this block is silent")

    def _on_finished(self) -> None:
        self._finished = True

    # -- measurements --------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        return {"device": self.device.label, "rate": self.rate, "block": self.block,
                "latency_ms": round(self.delay * 1e3, 2),
                "output_latency_ms": round(self.output_latency * 1e3, 2),
                "blocks": self.blocks, "underruns": self.underruns, "late_events": self.player.late,
                "dropped": self.dropped, "reconnects": self.reconnects,
                "callback_errors": self.callback_errors}


def default_audio(soundfont: str | os.PathLike[str] | None = None) -> AudioSink:
    """The sink for a session started with no output chosen: the default sound device.

    Without one, a :class:`~moodscore.errors.ConfigError` in one line that says how to choose.
    """
    try:
        sink = AudioSink(None, soundfont)
    except OutputError as err:
        raise ConfigError(f"no output chosen and no sound device to play on: {err}; choose "
                          "one with --audio-device NAME (--audio-device list shows them), or a MIDI "
                          "output with --midi-port NAME or --virtual-port NAME, or only record with "
                          "--record out.mid") from err
    log.info("no MIDI output chosen: playing through %s with the embedded synth (--audio)",
             sink.device.label)
    return sink


def audio_sinks(sink: MidiSink) -> list[AudioSink]:
    """The :class:`AudioSink` s in ``sink`` (itself, or inside a TeeSink)."""
    if isinstance(sink, AudioSink):
        return [sink]
    children = getattr(sink, "sinks", ())
    return [s for child in children for s in audio_sinks(child)]


def audio_stats(sink: MidiSink) -> dict[str, Any]:
    """``{"audio": stats}`` of the first audio sink in ``sink``, or ``{}``: for a session summary."""
    found = audio_sinks(sink)
    return {"audio": found[0].stats()} if found else {}
