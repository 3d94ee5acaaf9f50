"""``moodscore demo --render out.wav``: a scripted mood journey, rendered offline to MIDI and WAV.

The journey (calm, tense, triumphant, sad, an equal share of the time each) runs through the
same conductor as the live engine, on the virtual clock of :func:`moodscore.engine.offline.run`.
The timeline becomes a type 1 Standard MIDI File whose tempo map is the engine's own (each beat
on its tick at the second the engine played it, so a DAW shows the music's bars and the file
plays in the timeline's seconds), with a marker at each stage; FluidSynth renders it to WAV
(:func:`moodscore.export.audio.midi_to_wav`).

Public API: ``JOURNEY``, :class:`Stage`, :class:`Render`, :func:`journey_script`,
:func:`timeline_to_midi`, :func:`render_journey`.
"""
from __future__ import annotations

import io
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import mido

from ..arranger.styles import Style
from ..engine.conductor import Conductor
from ..engine.offline import Action, Timeline, run
from ..engine.template import Template
from ..errors import ConfigError
from ..export.atomic import atomic_write_bytes
from ..export.audio import midi_to_wav
from ..export.smf import Marker, Tempo, timeline_midi
from ..models.runtime import load_generator

TICKS_PER_BEAT = 480
GLIDE_S = 1.5


@dataclass(frozen=True)
class Stage:
    name: str
    valence: float
    arousal: float
    start: float = 0.0  # seconds
    end: float = 0.0


# (name, valence, arousal). Calm sits above sad in arousal so that sad is the slowest and
# softest stage, as a listener expects; tense and triumphant are both excited (drums, fast).
JOURNEY = (("calm", 0.6, -0.4), ("tense", -0.8, 0.8), ("triumphant", 0.8, 0.8), ("sad", -0.8, -0.9))


@dataclass
class Render:
    wav: Path
    midi: Path
    seconds: float
    stages: list[Stage]
    notes: int
    tempos: int  # distinct tempos in the file's tempo map
    timeline: Timeline = field(repr=False)


def journey_script(seconds: float) -> tuple[list[Stage], list[tuple[float, Action]]]:
    """The stages over ``seconds`` and the offline script that moves the mood to each.

    The first stage's mood is set before play (see :func:`render_journey`), so it has no action.
    """
    share = seconds / len(JOURNEY)
    stages = [Stage(name, v, a, i * share, (i + 1) * share) for i, (name, v, a) in enumerate(JOURNEY)]

    def go(stage: Stage) -> Action:
        return lambda conductor, now: conductor.set_mood(now, stage.valence, stage.arousal, GLIDE_S)

    return stages, [(stage.start, go(stage)) for stage in stages[1:]]


def _beat_anchors(timeline: Timeline) -> list[tuple[float, float, int]]:
    """``(seconds, tick, microseconds per quarter)`` from each beat the engine played to the next.

    Each stretch between two beat callbacks is a whole number of eighths (a re-anchored phrase
    may start on any eighth), so every beat lands on its tick and the file plays each beat at the
    second the engine played it. The first beat is tick 0: nothing sounds before it.
    """
    beats = sorted((c.time, float(c.event["tempo"])) for c in timeline.callbacks if c.event["type"] == "beat")
    if not beats:
        return [(0.0, 0.0, 500_000)]
    anchors: list[tuple[float, float, int]] = []
    tick = 0.0
    for (t0, bpm), (t1, _) in itertools.pairwise(beats):
        quarters = max(0.5, round((t1 - t0) * bpm / 60 * 2) / 2)
        anchors.append((t0, tick, round((t1 - t0) / quarters * 1e6)))
        tick += quarters * TICKS_PER_BEAT
    anchors.append((beats[-1][0], tick, round(60e6 / beats[-1][1])))
    return anchors


def timeline_to_midi(timeline: Timeline, stages: Sequence[Stage] = (), *, title: str = "moodscore") -> bytes:
    """The timeline as a type 1 SMF (:func:`moodscore.export.smf.timeline_midi`) on the engine's
    own tempo map, with a marker per stage; the first beat is the file's start."""
    anchors = _beat_anchors(timeline)
    first = anchors[0][0]
    tempos: list[Tempo] = []
    for at, _, us in anchors:
        if not tempos or mido.bpm2tempo(tempos[-1].bpm) != us:  # a steady tempo is one event
            tempos.append(Tempo(max(0.0, at - first), 60e6 / us))
    events = [replace(e, time=max(0.0, e.time - first)) for e in timeline.events]
    markers = [Marker(max(0.0, s.start - first), f"{s.name} (v {s.valence:+.1f}, a {s.arousal:+.1f})")
               for s in stages]
    midi = timeline_midi(events, tempos=tempos, markers=markers, title=title, ticks_per_beat=TICKS_PER_BEAT)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def render_journey(wav: str | os.PathLike[str], *, seconds: float = 60.0, model: str = "abc", seed: int = 0,
                   template: Template | None = None, soundfont: str | os.PathLike[str] | None = None,
                   midi: str | os.PathLike[str] | None = None, style: Style | None = None) -> Render:
    """Play the journey for ``seconds`` on the virtual clock; write ``midi`` (default: ``wav``
    with the suffix .mid) and render ``wav`` with FluidSynth."""
    if not 8 <= seconds <= 3600:
        raise ConfigError(f"seconds must be 8 to 3600 (two seconds or more per stage), got {seconds:g}")
    wav_path = Path(wav)
    midi_path = Path(midi) if midi is not None else wav_path.with_suffix(".mid")
    if midi_path.resolve() == wav_path.resolve():
        raise ConfigError(f"the MIDI and WAV files must differ, both are {wav_path}")
    stages, script = journey_script(seconds)
    conductor = Conductor(template=template or Template(), seed=seed, style=style)
    conductor.set_mood(0.0, stages[0].valence, stages[0].arousal, 0.0)  # the first phrase is calm already
    timeline = run(conductor, load_generator(model), seconds, script=script)
    atomic_write_bytes(midi_path, timeline_to_midi(timeline, stages, title="moodscore demo journey"))
    midi_to_wav(midi_path, wav_path, soundfont=soundfont)
    notes = sum(1 for e in timeline.events if e.kind == "note_on")
    tempos = len({us for _, _, us in _beat_anchors(timeline)})
    return Render(wav_path, midi_path, seconds, stages, notes, tempos, timeline)
