"""The sound-device side of the embedded synth, run in a process of its own.

:func:`run_output` opens an output stream through the backend
(:mod:`moodscore.audio.backends`: PortAudio, else miniaudio) and renders the SoundFont synth in
its callback (:class:`~moodscore.audio.synth.BlockPlayer`), each MIDI event at the sample its
engine time falls on. It takes commands from the engine process through ``inbox`` and reports
through ``outbox``. A process of its own because PortAudio cannot lose a device in-process and
go on: with a JACK server gone, closing the stream never returns and re-initialising PortAudio
aborts the process; here the engine just ends this process and starts another when the device
is back. It also keeps the audio callback off the engine's interpreter lock.

Commands (tuples): ``("midi", at, data)`` with ``at`` the engine time (``time.perf_counter``,
the same clock in every process) or None for at once; ``("close",)``.
Reports: ``("ready", info)`` (the backend and the FluidSynth library in use among it) or
``("error", message)`` once, then ``("stats", stats)`` twice a second, ``("lost", why)`` when the stream stops or its callbacks stop coming, and a last
``("stats", stats)`` on close.

Public API: :func:`run_output`, ``START_S``, ``STALL_S``.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Generator
from typing import Any

import numpy as np

from ..errors import MoodscoreError
from .backends import pick
from .devices import Device, find_output
from .synth import AT_ONCE, BlockPlayer, SampleClock, SoundFontSynth

START_S = 3.0  # how long a new stream may take to call back
STALL_S = 1.0  # no callback for this long: the device is gone
STATS_S = 0.5


class _Output:
    """What every backend shares: the player, the clock, the counts; a subclass opens the stream
    and calls :meth:`render` from its callback."""

    backend = ""
    underruns_from = ""

    def __init__(self, device: Device, soundfont: str | None, margin_s: float) -> None:
        self.device = device
        self.rate = int(device.rate)
        self.player = BlockPlayer(SoundFontSynth(soundfont, rate=self.rate))
        self.clock = SampleClock(self.rate)
        self.margin_s = margin_s
        self.started = threading.Event()
        self.finished = self.silent = False
        self.latency = 0.0
        self.block = 0
        self.delay = 0.0
        self.underruns = self.blocks = self.errors = 0
        self.last = 0.0

    def wait_started(self) -> None:
        if not self.started.wait(START_S):
            raise MoodscoreError(f"sound device {self.device.label} did not start playing within "
                                 f"{START_S:g} s")
        self.delay = self.latency + self.block / self.rate + self.margin_s

    def render(self, now: float, lead: float, frames: int, timed: bool = True,
               underflow: bool = False) -> np.ndarray:
        """The block heard ``lead`` seconds after ``now`` (not ``timed``: when is not known);
        ``underflow``: the device said it ran dry before it (the clock starts again from here)."""
        if not self.started.is_set():
            self.latency, self.block = lead, frames
        if timed:
            self.clock.update(now + lead, self.player.frames, underflow)
        out = self.player.render(frames)
        self.blocks += 1
        self.last = now
        self.started.set()
        return np.zeros_like(out) if self.silent else out

    def on_finished(self) -> None:
        self.finished = True

    def push(self, at: float | None, data: bytes) -> None:
        if at is None or self.clock.origin is None or not self.started.is_set():
            self.player.push(AT_ONCE, data)
        else:
            self.player.push(max(0, self.clock.index(at + self.delay)), data)

    def info(self) -> dict[str, Any]:
        return {"device": self.device.label, "rate": self.rate, "block": self.block,
                "latency_ms": round(self.delay * 1e3, 2), "output_latency_ms": round(self.latency * 1e3, 2),
                "soundfont": str(self.player.synth.path), "backend": self.backend,
                "synth": self.player.synth.library.label, "underruns_from": self.underruns_from}

    def stats(self) -> dict[str, Any]:
        return {"blocks": self.blocks, "underruns": self.underruns, "late_events": self.player.late,
                "clock_restarts": self.clock.restarts, "callback_errors": self.errors}

    def active(self) -> bool:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def lost(self) -> str | None:
        if self.finished or not self.active():
            return "the stream stopped"
        if time.perf_counter() - self.last > STALL_S:
            return f"no audio callback for {STALL_S:g} s"
        return None


class _PortAudio(_Output):
    underruns_from = "PortAudio's output underflow flags"

    def __init__(self, sd: Any, device: str | None, soundfont: str | None, margin_s: float,
                 blocksize: int) -> None:
        super().__init__(find_output(device, "portaudio"), soundfont, margin_s)
        version = str(sd.get_portaudio_version()[1]).split(",")[0].removeprefix("PortAudio ")
        self.backend = f"PortAudio ({version}, {self.device.hostapi})"
        self.stream = sd.OutputStream(device=self.device.index, samplerate=self.rate, channels=2,
                                      dtype="int16", latency="low", blocksize=blocksize,
                                      callback=self.callback, finished_callback=self.on_finished)
        self.stream.start()
        self.wait_started()

    def callback(self, out: Any, frames: int, info: Any, status: Any) -> None:
        try:
            now = time.perf_counter()
            underflow = bool(status.output_underflow)
            self.underruns += underflow
            lead = info.outputBufferDacTime - info.currentTime
            if not 0.0 < lead < 1.0:  # a host API that does not report it
                lead = float(self.stream.latency)
            out[:] = self.render(now, lead, frames, underflow=underflow)
        except Exception:  # never let the stream die of it: silence this block
            out.fill(0)
            self.errors += 1

    def active(self) -> bool:
        return bool(self.stream.active)

    def abort(self) -> None:  # not stop: what is buffered must not play out after a stop or exit
        self.stream.abort()


class _Miniaudio(_Output):
    """miniaudio reports neither the output latency nor underflows. The lead is taken as the
    device's whole buffer (JACK: two periods; the others: miniaudio's default three); an error
    in it shifts every note alike and is in the latency said at start. A callback that comes
    less than half a block after the one before is not used for the clock: it fills the buffer
    ahead. Underruns are inferred: a callback more than the whole buffer after the one before
    means the device ran dry."""

    underruns_from = "callbacks later than the device's buffer (miniaudio reports no underflows)"

    def __init__(self, ma: Any, device: str | None, soundfont: str | None, margin_s: float,
                 blocksize: int) -> None:
        super().__init__(find_output(device, "miniaudio"), soundfont, margin_s)
        # its reports are the callbacks' own times: late callbacks are no jump of the stream's
        # clock (caught that way, one onset was 5.1 ms off in two full-suite runs)
        self.clock = SampleClock(self.rate, jump_s=None)
        self.backend = f"miniaudio ({ma.lib_version()}, {self.device.hostapi})"
        self.periods = 2 if self.device.hostapi == "JACK" else 3
        api, device_id = self.device.handle
        period_ms = round(blocksize / self.rate * 1000) if blocksize else 0  # 0: miniaudio's default
        self.stream = ma.PlaybackDevice(output_format=ma.SampleFormat.SIGNED16, nchannels=2,
                                        sample_rate=self.rate, buffersize_msec=period_ms,
                                        device_id=device_id, backends=[api],
                                        app_name="moodscore")
        self.stream.stop_callback = self.on_finished
        feed = self.feed()
        next(feed)
        self.stream.start(feed)
        self.wait_started()
        # a burst of callbacks renders up to a block further ahead than the lead says: notes
        # that come a block later than that margin would start a block late (measured: one
        # onset 5.1 ms off in full-suite runs), so the delay holds one block more
        self.delay += self.block / self.rate

    def feed(self) -> Generator[bytes, int, None]:
        frames = yield b""
        while True:
            try:
                now = time.perf_counter()
                since = now - self.last if self.last else float("inf")
                underflow = bool(self.last) and since > self.periods * frames / self.rate
                self.underruns += underflow
                # a callback right after the one before (the burst that fills the buffer at the
                # start, a cycle caught up) is heard a block or more later than the lead says
                timed = since > 0.5 * frames / self.rate
                # not a restart of the clock: the late callback that says it is itself late, and
                # a stream that really lost time is caught by the clock's own rule
                data = self.render(now, self.periods * frames / self.rate, frames, timed).tobytes()
            except Exception:  # never let the stream die of it: silence this block
                data = bytes(4 * frames)
                self.errors += 1
            frames = yield data

    def active(self) -> bool:
        return bool(self.stream.running)

    def abort(self) -> None:
        self.silent = True  # what is still asked for is silence
        self.stream.stop()


def _open(backend: str, device: str | None, soundfont: str | None, margin_s: float,
          blocksize: int) -> _Output:
    name, module = pick(backend)
    kind = _PortAudio if name == "portaudio" else _Miniaudio
    return kind(module, device, soundfont, margin_s, blocksize)


def run_output(inbox: Any, outbox: Any, device: str | None, soundfont: str | None,
               margin_s: float, blocksize: int, backend: str = "auto") -> None:
    """The output process: open, then play what ``inbox`` brings until told to close."""
    # Ctrl-C reaches the whole process group: the engine stops this process itself, after its
    # panic has been played
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        out = _open(backend, device, soundfont, margin_s, blocksize)
    except MoodscoreError as err:
        outbox.send(("error", str(err)))
        os._exit(0)
    except Exception as err:  # PortAudio's or miniaudio's own errors: one line for the engine to log
        outbox.send(("error", f"cannot open the sound device: {err}"))
        os._exit(0)
    outbox.send(("ready", out.info()))
    lock = threading.Lock()

    def watch() -> None:
        while True:
            time.sleep(STATS_S)
            with lock:
                outbox.send(("stats", out.stats()))
                why = out.lost()
                if why is not None:
                    outbox.send(("lost", why))
                    os._exit(0)  # closing a stream whose device is gone may never return

    threading.Thread(target=watch, daemon=True).start()
    while True:
        try:
            command = inbox.recv()
        except (EOFError, OSError):  # the engine is gone: stop at once
            os._exit(0)
        if command[0] == "midi":
            out.push(command[1], command[2])
        elif command[0] == "close":
            with lock:
                outbox.send(("stats", out.stats()))
            threading.Thread(target=out.abort, daemon=True).start()
            time.sleep(0.05)
            os._exit(0)
