"""Temp-score a cue sheet: each cue played by the engine's own conductor on a virtual clock, at a
tempo that makes its phrases end exactly on the cue's out point.

A cue of ``D`` seconds gets a whole number of bars ``B`` at the tempo ``B * beats_per_bar * 60 /
D``: multiples of the 4-bar phrase when one lands near the mood's own tempo, else (a short cue) a
single 1- to 3-bar phrase. So the first downbeat is on the in point, every phrase boundary is on
the beat grid, and the last phrase ends on the out point, the hit. The music is the conductor's,
exactly as live: :func:`moodscore.engine.offline.run` with the mood set before it starts and the
tempo override holding the fitted tempo.

Public API: :class:`CueFit`, :class:`Score`, :func:`fit_tempo`, :func:`score`.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..arranger.styles import Style
from ..engine.conductor import Callback, Conductor, MidiEvent, Request
from ..engine.offline import fulfil, run
from ..engine.template import Template, controls
from ..engine.theme import Theme
from ..music import Meter
from .cuesheet import Cue, CueSheet, CueSheetError

MIN_BPM, MAX_BPM = 20.0, 300.0
SHORT_PHRASE_COST = 0.15  # log-tempo error a phrase shorter than 4 bars is charged


@dataclass(frozen=True)
class CueFit:
    cue: Cue
    start: float  # seconds from the top of the file
    end: float
    bpm: float
    bars: int
    phrase_bars: int
    mood_bpm: float  # the tempo the mood alone would have


@dataclass
class Score:
    sheet: CueSheet
    meter: Meter
    fits: list[CueFit]
    events: list[MidiEvent] = field(default_factory=list)  # seconds from the top of the file, cue by cue
    phrase_starts: list[tuple[str, float]] = field(default_factory=list)  # (cue, seconds)
    misses: int = 0  # bars that had no phrase in time: none, when rendering offline


def fit_tempo(seconds: float, mood_bpm: float, meter: Meter, phrase_bars: int = 4) -> tuple[float, int, int]:
    """(bpm, bars, bars per phrase) for ``seconds`` of music nearest ``mood_bpm``; ValueError if
    not even one bar fits between 20 and 300 BPM."""
    per_bar = meter.beats * 60.0  # beat-seconds in one bar at 1 BPM
    best: tuple[float, float, int, int] | None = None
    phrases = max(1, round(seconds * mood_bpm / per_bar / phrase_bars))
    candidates = [(n * phrase_bars, phrase_bars) for n in range(max(1, phrases - 2), phrases + 3)]
    candidates += [(b, b) for b in range(1, phrase_bars)]
    for bars, pb in candidates:
        bpm = bars * per_bar / seconds
        if not MIN_BPM <= bpm <= MAX_BPM:
            continue
        cost = abs(math.log(bpm / mood_bpm)) + (SHORT_PHRASE_COST if pb < phrase_bars else 0.0)
        if best is None or cost < best[0]:
            best = (cost, bpm, bars, pb)
    if best is None:
        shortest = per_bar / MAX_BPM
        raise ValueError(f"the cue lasts {seconds:.2f} s; one bar of {meter} takes {shortest:.2f} s "
                         f"at {MAX_BPM:.0f} BPM, the fastest allowed")
    return best[1], best[2], best[3]


def _fit(sheet: CueSheet, cue: Cue, template: Template, meter: Meter) -> CueFit:
    start, end = sheet.seconds(cue.start), sheet.seconds(cue.end)
    mood_bpm = controls(cue.valence, cue.arousal, template).tempo_bpm
    try:
        bpm, bars, pb = fit_tempo(end - start, mood_bpm, meter)
    except ValueError as err:
        raise CueSheetError(f"cue {cue.name}: out: {err}") from None
    return CueFit(cue, start, end, bpm, bars, pb, mood_bpm)


def _within(bars: int) -> Callable[[Conductor, object, Request], None]:
    """Generate only the phrases that start inside the cue (the conductor asks one ahead)."""
    def fulfil_request(conductor: Conductor, generator: object, request: Request) -> None:
        span = conductor.span(request.id)
        if span is not None and span[0] < bars:
            fulfil(conductor, generator, request)
    return fulfil_request


def score(sheet: CueSheet, generator, *, template: Template | None = None, meter: Meter = Meter(),
          seed: int = 0, step: float = 0.1, style: Style | None = None,
          theme: Theme | None = None) -> Score:
    """Every cue of ``sheet`` as MIDI events in seconds from the top of the file, in ``style``;
    a cue's ``intensity`` (if given) holds for the whole cue. The cues share a theme: ``theme``,
    or the first cue's opening motif; each later cue opens with it, in its own mood."""
    template = template or Template()
    fits = [_fit(sheet, cue, template, meter) for cue in sheet.cues]  # all checked before any plays
    out = Score(sheet, meter, fits)
    for i, fit in enumerate(fits):
        conductor = Conductor(template=template, meter=meter, seed=seed * 10_007 + i,
                              phrase_bars=fit.phrase_bars, transition="phrase", style=style, theme=theme)
        conductor.set_mood(0.0, fit.cue.valence, fit.cue.arousal, glide=0.0)
        if fit.cue.intensity is not None:
            conductor.set_intensity(0.0, fit.cue.intensity, glide=0.0)
        conductor.set_tempo_override(fit.bpm)
        lead = conductor.lookahead  # play(0) puts the first downbeat here
        length = fit.end - fit.start
        # advance until every eighth before the out point is scheduled, and not one more (no
        # bar past the cue is begun); the music stops on the hit: nothing sounds past it
        timeline = run(conductor, generator, length - 1e-6, step=step, stop_at=lead + length,
                       fulfil_request=_within(fit.bars))
        shift = fit.start - lead
        out.events += [MidiEvent(e.time + shift, e.kind, e.channel, e.data1, e.data2) for e in timeline.events]
        out.misses += conductor.misses
        if theme is None and conductor.themes.theme is not None:  # the reel's theme from now on
            theme = replace(conductor.themes.theme, user=True)
        out.phrase_starts += [(fit.cue.name, c.time + shift) for c in timeline.callbacks
                              if isinstance(c, Callback) and c.event["type"] == "phrase"]
    return out
