"""An embedded SoundFont synthesizer (FluidSynth through pyfluidsynth) and a block player.

:class:`SoundFontSynth` loads a SoundFont (SF2 or SF3) into a FluidSynth synth and plays MIDI
bytes into it (the library: the system's, else the one the ``pygame-ce`` wheel bundles, see
:mod:`moodscore.audio.library`); :class:`BlockPlayer` renders it in blocks and applies each
MIDI event at its own sample inside a block (FluidSynth itself starts it on its next
64-sample step, 1.3 ms at 48 kHz), so a note sounds where its time falls, however the blocks
are cut. The player has
no I/O: a sound device's callback (:mod:`moodscore.audio.output`), the PCM stream
(:mod:`moodscore.audio.stream`) or a test drives it. :class:`SampleClock` maps the engine's
clock to sample indices.

Events come from one thread (the MIDI scheduler) and blocks are rendered on another (the audio
callback); they meet in a deque, whose appends and pops are atomic.

Public API: :class:`SoundFontSynth`, :class:`BlockPlayer`, :class:`SampleClock`,
:func:`default_soundfont`, ``AT_ONCE``, ``LIBRARY_HINT``.
"""
from __future__ import annotations

import bisect
import logging
import os
from collections import deque
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .library import LIBRARY_HINT as LIBRARY_HINT  # re-exported: the install hint
from .library import load_pyfluidsynth

log = logging.getLogger(__name__)

AT_ONCE = -1  # the sample index of an event that applies at the start of the next block
GAIN = 0.4  # FluidSynth's master gain: four layers at full velocity stay below clipping
_ALL_SOUND_OFF = 120


def default_soundfont() -> Path:
    """The General MIDI SoundFont that ships with moodscore (the browser demo's SF3)."""
    from ..demo.assets import SOUNDFONT

    return SOUNDFONT


class SoundFontSynth:
    """FluidSynth with one SoundFont at ``rate`` Hz, stereo 16-bit output."""

    def __init__(self, soundfont: str | os.PathLike[str] | None = None, *, rate: int = 48000,
                 gain: float = GAIN) -> None:
        path = Path(soundfont) if soundfont is not None else default_soundfont()
        if not path.is_file():
            raise ConfigError(f"SoundFont {path} is not a file; give an .sf2 or .sf3 SoundFont, "
                              "or leave --soundfont out for the packaged General MIDI one")
        if not os.access(path, os.R_OK):
            raise ConfigError(f"SoundFont {path} is not readable")
        fluidsynth, self.library = load_pyfluidsynth()
        self.path, self.rate = path, int(rate)
        self._synth = fluidsynth.Synth(gain=gain, samplerate=float(rate))
        self._sfid = self._synth.sfload(str(path))
        if self._sfid < 0:
            self._synth.delete()
            raise ConfigError(f"SoundFont {path} could not be read (not an SF2/SF3 SoundFont?)")
        for channel in range(16):  # so every channel plays from this SoundFont from the start
            self._synth.program_select(channel, self._sfid, 128 if channel == 9 else 0, 0)

    def midi(self, data: bytes | list[int]) -> None:
        """Play one channel message (status byte first); others are ignored."""
        status = data[0] & 0xF0
        channel = data[0] & 0x0F
        s = self._synth
        if status == 0x90:
            if data[2]:
                s.noteon(channel, data[1], data[2])
            else:
                s.noteoff(channel, data[1])
        elif status == 0x80:
            s.noteoff(channel, data[1])
        elif status == 0xB0:
            if data[1] == _ALL_SOUND_OFF:
                s.all_sounds_off(channel)
            else:
                s.cc(channel, data[1], data[2])
        elif status == 0xC0:
            s.program_change(channel, data[1])
        elif status == 0xE0:
            s.pitch_bend(channel, (data[1] | data[2] << 7) - 8192)

    def render(self, frames: int) -> np.ndarray:
        """The next ``frames`` samples: int16 of shape (frames, 2)."""
        return np.asarray(self._synth.get_samples(frames)).reshape(frames, 2)

    def close(self) -> None:
        self._synth.delete()


class SampleClock:
    """Engine time <-> sample index of a stream, from when each block is heard.

    Each block reports the engine time its first sample is heard; the estimate of when sample
    0 is heard is the smallest such report over the last two windows: a callback that runs late
    only ever makes the report later, so the minimum follows the device's own clock (and its
    drift) without taking in the jitter. A stream that loses time (an underrun, or a JACK
    server that missed cycles) is heard later from then on: the estimate starts again from the
    reports after it, at once when the callback says it underran, and when every report over
    ``check_s`` is later than the estimate by more than ``jump_s`` (a jump no callback told).
    ``jump_s=None`` turns that second rule off, for a stream whose reports are the callbacks'
    own times (miniaudio): there a quarter second of late callbacks is jitter, not a jump.
    """

    def __init__(self, rate: int, window_s: float = 2.0, check_s: float = 0.25,
                 jump_s: float | None = 0.003) -> None:
        self.rate, self._window, self._check, self._jump = rate, int(window_s * rate), int(check_s * rate), jump_s
        self.restarts = 0  # times the estimate started again after the stream lost time
        self.reset()

    def reset(self) -> None:
        self.origin: float | None = None  # engine time at which sample 0 is heard
        self._previous = self._current = self._recent = float("inf")
        self._window_end = self._recent_end = 0

    def update(self, heard: float, index: int, underflow: bool = False) -> None:
        """Block starting at sample ``index`` is heard at engine time ``heard``; ``underflow``:
        the stream said it ran dry before this block."""
        report = heard - index / self.rate
        if self.origin is None or underflow:
            self._restart(report, index, counted=self.origin is not None)
            return
        if index >= self._window_end:
            self._previous, self._current = self._current, report
            self._window_end = index + self._window
        else:
            self._current = min(self._current, report)
        self.origin = min(self._previous, self._current)
        if self._jump is None:
            return
        if index < self._recent_end:
            self._recent = min(self._recent, report)
        elif self._recent - self.origin > self._jump:  # a whole stretch later: the clock jumped
            self._restart(min(self._recent, report), index, counted=True)
        else:
            self._recent, self._recent_end = report, index + self._check

    def _restart(self, report: float, index: int, counted: bool) -> None:
        self.restarts += counted
        self._previous, self._current, self._recent = float("inf"), report, report
        self._window_end, self._recent_end = index + self._window, index + self._check
        self.origin = report

    def index(self, t: float) -> int:
        """The sample heard at engine time ``t``."""
        assert self.origin is not None, "no block has been reported yet"
        return round((t - self.origin) * self.rate)


class BlockPlayer:
    """Renders ``synth`` block by block, each pushed MIDI event at its sample.

    ``push(index, data)`` from any one thread; ``render(frames)`` from another. An event whose
    sample is already rendered plays at the start of the next block and is counted in
    :attr:`late`. An all-sound-off pushed ``AT_ONCE`` (a panic) drops the notes that are
    waiting and mutes the output (the reverb tail too) until the next note starts.
    """

    def __init__(self, synth: SoundFontSynth) -> None:
        self.synth = synth
        self.frames = 0  # samples rendered so far: the index of the next one
        self.late = 0
        self.applied = 0
        self._inbox: deque[tuple[int, bytes]] = deque()
        self._times: list[int] = []  # sorted sample indices of waiting events
        self._waiting: list[tuple[int, int, bytes]] = []  # (index, arrival, data), same order
        self._arrivals = 0
        self._muted = False

    def push(self, index: int, data: bytes | list[int]) -> None:
        self._inbox.append((index, bytes(data)))

    def pending(self) -> int:
        return len(self._inbox) + len(self._waiting)

    def _take(self) -> None:
        while self._inbox:
            index, data = self._inbox.popleft()
            if index == AT_ONCE and data[0] & 0xF0 == 0xB0 and data[1] == _ALL_SOUND_OFF:
                # a panic: what was waiting to sound must not sound after it
                keep = [w for w in self._waiting if w[2][0] & 0xF0 not in (0x80, 0x90)]
                self._waiting, self._times = keep, [w[0] for w in keep]
                self._muted = True
            self._arrivals += 1
            at = self.frames if index == AT_ONCE else index
            pos = bisect.bisect_right(self._times, at)
            self._times.insert(pos, at)
            self._waiting.insert(pos, (at, self._arrivals, data))

    def render(self, frames: int) -> np.ndarray:
        """The next ``frames`` samples, int16 (frames, 2), with the events that fall in them."""
        self._take()
        start, end = self.frames, self.frames + frames
        parts: list[np.ndarray] = []
        done = 0
        while self._waiting and self._waiting[0][0] < end:
            at, _, data = self._waiting.pop(0)
            self._times.pop(0)
            offset = at - start
            if offset < 0:
                self.late += 1
                offset = 0
            if offset > done:
                parts.append(self._out(offset - done))
                done = offset
            self.synth.midi(data)
            self.applied += 1
            if self._muted and data[0] & 0xF0 == 0x90 and data[2]:
                self._muted = False
        if frames > done:
            parts.append(self._out(frames - done))
        self.frames = end
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _out(self, frames: int) -> np.ndarray:
        block = self.synth.render(frames)
        return np.zeros_like(block) if self._muted else block
