"""MIDI events timed in seconds to a Standard MIDI File on a tempo map: for scores whose bars must
line up with picture.

Given tempo segments (from a second on, this tempo) the events are placed on the beat grid those
tempos make, so the file plays back at the seconds it was given and a DAW shows the bars where
the music has them. Each time is rounded to a tick once, from exact positions (no drift builds
up over a long file): at 960 ticks a beat the error is under a millisecond. The conductor track
holds the title, an SMPTE offset (the timecode at the top of the file), the meter, the tempos and
the markers; then one named track per MIDI channel.

Public API: :class:`Tempo`, :class:`Marker`, :class:`Smpte`, :func:`timeline_midi`,
:func:`write_timeline_midi`, :func:`seconds_to_ticks`.
"""
from __future__ import annotations

import bisect
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass

import mido

from ..engine.conductor import MidiEvent
from ..engine.live import to_mido
from ..errors import ConfigError
from ..music import Meter
from .atomic import atomic_write_bytes
from .midi import TRACK_NAMES

TRACK_NAMES_EXTRA = {3: "Stingers"}


@dataclass(frozen=True)
class Tempo:
    time: float  # seconds
    bpm: float


@dataclass(frozen=True)
class Marker:
    time: float
    text: str


@dataclass(frozen=True)
class Smpte:
    """The SMPTE offset meta event: frame_rate one of 24, 25, 29.97, 30."""

    frame_rate: float
    hours: int
    minutes: int
    seconds: int
    frames: int
    sub_frames: int = 0


def _latin1(text: str) -> str:
    return " ".join(text.split()).encode("latin-1", "replace").decode("latin-1")


class _Grid:
    """Seconds -> exact (fractional) ticks under piecewise-constant integer tempos."""

    def __init__(self, tempos: Sequence[Tempo], tpb: int) -> None:
        if not tempos or tempos[0].time != 0:
            raise ConfigError("the tempo map must start at 0 s")
        if any(b.time <= a.time for a, b in zip(tempos, tempos[1:])):
            raise ConfigError("tempo changes must be in increasing time")
        self.times = [t.time for t in tempos]
        self.us = [mido.bpm2tempo(t.bpm) for t in tempos]  # what the file will hold
        self.tpb = tpb
        self.starts = [0.0]
        for i in range(1, len(tempos)):
            span = self.times[i] - self.times[i - 1]
            self.starts.append(self.starts[-1] + span * 1e6 / self.us[i - 1] * tpb)

    def ticks(self, t: float) -> float:
        i = max(0, bisect.bisect_right(self.times, t) - 1)
        return self.starts[i] + (t - self.times[i]) * 1e6 / self.us[i] * self.tpb


def seconds_to_ticks(tempos: Sequence[Tempo], times: Sequence[float], ticks_per_beat: int = 960) -> list[int]:
    grid = _Grid(tempos, ticks_per_beat)
    return [round(grid.ticks(t)) for t in times]


_Timed = list[tuple[int, int, "mido.MetaMessage | MidiEvent"]]


def _track(timed: _Timed, end: int) -> mido.MidiTrack:
    track = mido.MidiTrack()
    now = 0
    for tick, _, item in sorted(timed, key=lambda x: (x[0], x[1])):
        if isinstance(item, MidiEvent):
            track.append(to_mido(item, tick - now))
        else:
            track.append(item.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(0, end - now)))
    return track


def timeline_midi(events: Sequence[MidiEvent], *, tempos: Sequence[Tempo], meter: Meter = Meter(),
                  markers: Sequence[Marker] = (), smpte: Smpte | None = None, title: str = "moodscore",
                  ticks_per_beat: int = 960, end: float | None = None) -> mido.MidiFile:
    """A type 1 file of ``events`` (seconds) on the tempo map ``tempos``."""
    grid = _Grid(tempos, ticks_per_beat)
    last = max([e.time for e in events] + [m.time for m in markers] + [end or 0.0])
    end_tick = round(grid.ticks(last))
    head: _Timed = [
        (0, 0, mido.MetaMessage("track_name", name=_latin1(title))),
        (0, 2, mido.MetaMessage("time_signature", numerator=meter.numerator,
                                denominator=meter.denominator, clocks_per_click=24,
                                notated_32nd_notes_per_beat=8))]
    if smpte is not None:
        head.append((0, 1, mido.MetaMessage(
            "smpte_offset", frame_rate=smpte.frame_rate, hours=smpte.hours, minutes=smpte.minutes,
            seconds=smpte.seconds, frames=smpte.frames, sub_frames=smpte.sub_frames)))
    for t, us in zip(grid.times, grid.us):
        head.append((round(grid.ticks(t)), 3, mido.MetaMessage("set_tempo", tempo=us)))
    for m in markers:
        head.append((round(grid.ticks(m.time)), 4, mido.MetaMessage("marker", text=_latin1(m.text))))
    mid = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    mid.tracks.append(_track(head, end_tick))
    by_channel: dict[int, _Timed] = {}
    order = {"program_change": 0, "control_change": 1, "note_off": 2, "note_on": 3}
    for e in events:
        # at one tick: program changes, then note-offs, then note-ons (a repeated note restrikes)
        by_channel.setdefault(e.channel, []).append((round(grid.ticks(e.time)), order.get(e.kind, 4), e))
    for channel, timed in sorted(by_channel.items()):
        if not any(isinstance(e, MidiEvent) and e.kind == "note_on" for _, _, e in timed):
            continue  # a part that never plays (only its program change) gets no track
        name = TRACK_NAMES.get(channel) or TRACK_NAMES_EXTRA.get(channel) or f"Channel {channel + 1}"
        timed.append((0, -1, mido.MetaMessage("track_name", name=name)))
        mid.tracks.append(_track(timed, end_tick))
    return mid


def write_timeline_midi(path: str | os.PathLike[str], events: Sequence[MidiEvent], **kwargs: object) -> None:
    """:func:`timeline_midi` written atomically; :class:`OutputError` if it cannot be."""
    mid = timeline_midi(events, **kwargs)  # type: ignore[arg-type]
    buf = io.BytesIO()
    mid.save(file=buf)
    atomic_write_bytes(path, buf.getvalue())
