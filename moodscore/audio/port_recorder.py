"""Record JACK ports with the time each JACK cycle ran, on the engine's clock (for benchmarks).

:class:`PortRecorder` is a JACK client (JACK-Client, ``pip install JACK-Client``) whose input
ports are connected to the ports given. Its process callback copies each cycle's frames and
notes when the cycle began on ``time.perf_counter`` (the clock of the engine's event times):
the callback's own time less JACK's frames since the cycle started. Frames a client writes in
a cycle leave for the driver when that cycle ends, so :meth:`PortRecorder.time_of` puts a
recorded frame at its cycle's start plus one period plus its place in the period. A real
device adds its own playback latency on top; JACK's dummy driver has none.

Public API: :class:`PortRecorder`.
"""
from __future__ import annotations

import bisect
import threading
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError


class PortRecorder:
    """Records ``ports`` for ``seconds`` once :meth:`start` is called; ``done`` is set when full."""

    def __init__(self, ports: list[str], seconds: float, *, server: str | None = None,
                 name: str = "moodscore-recorder") -> None:
        try:
            import jack
        except ImportError as err:  # JACK-Client, or libjack itself missing
            raise ConfigError(f"recording JACK ports needs JACK-Client ({err}): pip install JACK-Client, "
                              "and libjack (apt-get install jackd2)") from err
        self.ports = ports
        self.client: Any = jack.Client(name, servername=server, no_start_server=True)
        self.rate = int(self.client.samplerate)
        self._inputs = [self.client.inports.register(f"in_{i}") for i in range(len(ports))]
        self._audio = np.zeros((int(seconds * self.rate), len(ports)), np.float32)
        self._starts: list[int] = []  # index of each cycle's first frame
        self._times: list[float] = []  # when that cycle began, engine clock
        self._periods: list[int] = []
        self._n = 0
        self.done = threading.Event()
        self._open = True
        self.client.set_process_callback(self._process)

    def _process(self, frames: int) -> None:
        now = time.perf_counter()
        began = now - self.client.frames_since_cycle_start / self.rate
        n = min(frames, len(self._audio) - self._n)
        if n <= 0:
            self.done.set()
            return
        for channel, port in enumerate(self._inputs):
            self._audio[self._n:self._n + n, channel] = port.get_array()[:n]
        self._starts.append(self._n)
        self._times.append(began)
        self._periods.append(frames)
        self._n += n

    def start(self) -> None:
        self.client.activate()
        for port, mine in zip(self.ports, self._inputs):
            self.client.connect(port, mine)

    def close(self) -> None:
        """Leave the JACK server (again: nothing)."""
        if self._open:
            self._open = False
            self.client.deactivate()
            self.client.close()

    @property
    def audio(self) -> np.ndarray:
        """What was recorded, int16, (frames, channels)."""
        return (np.clip(self._audio[:self._n], -1.0, 1.0) * 32767).astype(np.int16)

    def time_of(self, frame: float) -> float:
        """Engine-clock time at which recorded frame ``frame`` left the ports."""
        if not self._starts:
            raise ConfigError("nothing was recorded from the JACK ports")
        k = max(0, bisect.bisect_right(self._starts, frame) - 1)
        return self._times[k] + (self._periods[k] + frame - self._starts[k]) / self.rate

    def save(self, path: str | Path) -> None:
        with wave.open(str(path), "wb") as w:
            w.setnchannels(len(self.ports))
            w.setsampwidth(2)
            w.setframerate(self.rate)
            w.writeframes(self.audio.tobytes())
