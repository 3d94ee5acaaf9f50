"""The sound-device side of the embedded synth, run in a process of its own.

:func:`run_output` opens the PortAudio output stream and renders the SoundFont synth in its
callback (:class:`~moodscore.audio.synth.BlockPlayer`), each MIDI event at the sample its
engine time falls on. It takes commands from the engine process through ``inbox`` and reports
through ``outbox``. A process of its own because PortAudio cannot lose a device in-process and
go on: with a JACK server gone, closing the stream never returns and re-initialising PortAudio
aborts the process; here the engine just ends this process and starts another when the device
is back. It also keeps the audio callback off the engine's interpreter lock.

Commands (tuples): ``("midi", at, data)`` with ``at`` the engine time (``time.perf_counter``,
the same clock in every process) or None for at once; ``("close",)``.
Reports: ``("ready", info)`` or ``("error", message)`` once, then ``("stats", stats)`` twice a
second, ``("lost", why)`` when the stream stops or its callbacks stop coming, and a last
``("stats", stats)`` on close.

Public API: :func:`run_output`, ``START_S``, ``STALL_S``.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

from ..errors import MoodscoreError
from .devices import find_output, portaudio
from .synth import AT_ONCE, BlockPlayer, SampleClock, SoundFontSynth

START_S = 3.0  # how long a new stream may take to call back
STALL_S = 1.0  # no callback for this long: the device is gone
STATS_S = 0.5


class _Output:
    def __init__(self, device: str | None, soundfont: str | None, margin_s: float, blocksize: int) -> None:
        sd = portaudio()
        self.device = find_output(device)
        self.rate = int(self.device.rate)
        self.player = BlockPlayer(SoundFontSynth(soundfont, rate=self.rate))
        self.clock = SampleClock(self.rate)
        self.started = threading.Event()
        self.finished = False
        self.latency = 0.0
        self.block = 0
        self.delay = 0.0
        self.underruns = self.blocks = self.errors = 0
        self.last = 0.0
        self.stream = sd.OutputStream(device=self.device.index, samplerate=self.rate, channels=2,
                                      dtype="int16", latency="low", blocksize=blocksize,
                                      callback=self.callback, finished_callback=self.on_finished)
        self.stream.start()
        if not self.started.wait(START_S):
            raise MoodscoreError(f"sound device {self.device.label} did not start playing within "
                                 f"{START_S:g} s")
        self.delay = self.latency + self.block / self.rate + margin_s

    def callback(self, out: Any, frames: int, info: Any, status: Any) -> None:
        try:
            now = time.perf_counter()
            underflow = bool(status.output_underflow)
            self.underruns += underflow
            lead = info.outputBufferDacTime - info.currentTime
            if not 0.0 < lead < 1.0:  # a host API that does not report it
                lead = float(self.stream.latency)
            if not self.started.is_set():
                self.latency, self.block = lead, frames
            self.clock.update(now + lead, self.player.frames, underflow)
            out[:] = self.player.render(frames)
            self.blocks += 1
            self.last = now
            self.started.set()
        except Exception:  # never let the stream die of it: silence this block
            out.fill(0)
            self.errors += 1

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
                "soundfont": str(self.player.synth.path)}

    def stats(self) -> dict[str, Any]:
        return {"blocks": self.blocks, "underruns": self.underruns, "late_events": self.player.late,
                "clock_restarts": self.clock.restarts, "callback_errors": self.errors}

    def lost(self) -> str | None:
        if self.finished or not self.stream.active:
            return "the stream stopped"
        if time.perf_counter() - self.last > STALL_S:
            return f"no audio callback for {STALL_S:g} s"
        return None


def run_output(inbox: Any, outbox: Any, device: str | None, soundfont: str | None,
               margin_s: float, blocksize: int) -> None:
    """The output process: open, then play what ``inbox`` brings until told to close."""
    # Ctrl-C reaches the whole process group: the engine stops this process itself, after its
    # panic has been played
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        out = _Output(device, soundfont, margin_s, blocksize)
    except MoodscoreError as err:
        outbox.send(("error", str(err)))
        os._exit(0)
    except Exception as err:  # PortAudio's own errors: one line for the engine to log
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
            # abort, not stop: what is buffered must not play out after a stop or exit
            threading.Thread(target=out.stream.abort, daemon=True).start()
            time.sleep(0.05)
            os._exit(0)
