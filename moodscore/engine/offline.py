"""Run the conductor on a virtual clock: the offline render path, and the engine's test bed.

Generation requests are fulfilled at once (virtual time does not pass while a model runs), cuts
drop what was scheduled after them and end the notes sounding then, and the result is a
timeline of MIDI events in seconds with the callbacks beside it. The same conductor, driven by
the wall clock and a worker, is the live engine.

Public API: :class:`Timeline`, :func:`fulfil`, :func:`run`, :func:`apply_cut`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .conductor import Callback, Conductor, Cut, MidiEvent, Request

Action = Callable[[Conductor, float], object]


@dataclass
class Timeline:
    events: list[MidiEvent] = field(default_factory=list)
    callbacks: list[Callback] = field(default_factory=list)

    def notes(self, channel: int | None = None) -> list[tuple[float, float, int, int, int]]:
        """(on, off, channel, pitch, velocity) of every note, paired first-on first-off."""
        open_: dict[tuple[int, int], list[MidiEvent]] = {}
        out = []
        for e in sorted(self.events, key=lambda e: (e.time, e.kind != "note_off")):
            key = (e.channel, e.data1)
            if e.kind == "note_on":
                open_.setdefault(key, []).append(e)
            elif e.kind == "note_off" and open_.get(key):
                on = open_[key].pop(0)
                out.append((on.time, e.time, e.channel, e.data1, on.data2))
        return [n for n in sorted(out) if channel is None or n[2] == channel]


def fulfil(conductor: Conductor, generator, request: Request) -> None:
    phrase = generator.next_phrase(request.context, request.valence, request.arousal, mode=request.mode,
                                   meter=request.meter, bars=request.bars,
                                   rng=np.random.default_rng(request.seed))
    conductor.deliver(request.id, phrase)


def apply_cut(timeline: Timeline, cut: Cut) -> None:
    """Drop events at or after the cut; notes sounding then end at the cut."""
    kept = [e for e in timeline.events if e.time < cut.time]
    sounding: dict[tuple[int, int], int] = {}
    for e in kept:
        key = (e.channel, e.data1)
        if e.kind == "note_on":
            sounding[key] = sounding.get(key, 0) + 1
        elif e.kind == "note_off" and sounding.get(key):
            sounding[key] -= 1
    for (channel, pitch), count in sounding.items():
        kept += [MidiEvent(cut.time, "note_off", channel, pitch, 0)] * count
    timeline.events = kept
    timeline.callbacks = [c for c in timeline.callbacks if c.time < cut.time]


def run(conductor: Conductor, generator, seconds: float, *, script: Sequence[tuple[float, Action]] = (),
        step: float = 0.01, fulfil_request: Callable[[Conductor, object, Request], None] = fulfil,
        on_tick: Action | None = None, collect: bool = True, stop_at: float | None = None) -> Timeline:
    """Play ``seconds`` of music, applying each ``(time, action)`` of ``script`` at its time;
    ``on_tick`` runs at every step before the conductor advances. With ``collect=False`` the
    events are dropped as they come (long sessions that measure the engine, not the result).
    The music stops at ``stop_at`` (default ``seconds``): a later stop lets what was scheduled
    in the last ``lookahead`` seconds ring out to it."""
    timeline = Timeline()
    actions = sorted(script, key=lambda item: item[0])
    next_action = 0
    conductor.play(0.0)
    steps = int(round(seconds / step))
    for i in range(steps + 1):
        now = min(i * step, seconds)  # the last step lands on seconds, never past it
        if on_tick is not None:
            on_tick(conductor, now)
        while next_action < len(actions) and actions[next_action][0] <= now:
            action = actions[next_action][1]
            next_action += 1
            result = action(conductor, now)
            for cut in (result if isinstance(result, list) else []):
                if isinstance(cut, Cut):
                    apply_cut(timeline, cut)
        for request in conductor.requests():
            fulfil_request(conductor, generator, request)
        for item in conductor.advance(now):
            if not collect:
                continue
            if isinstance(item, Cut):
                apply_cut(timeline, item)
            elif isinstance(item, Callback):
                timeline.callbacks.append(item)
            else:
                timeline.events.append(item)
    for cut in conductor.stop(seconds if stop_at is None else stop_at):
        apply_cut(timeline, cut)
    return timeline
