"""``moodscore render``: a cue sheet to a Standard MIDI File (and a WAV), ready for the cutting room.

The file opens at the sheet's start timecode (its SMPTE offset), carries a marker at each cue's
in and out point, and changes tempo at each cue so its phrases land on the cue points; between
cues (silence) the tempo is set so the gap is a whole number of bars, keeping every cue's first
downbeat on a bar line of the DAW's grid. The music is the engine's (:mod:`.score`); the cue
sheet is checked whole before anything is generated, and nothing is written unless all of it is.

Public API: :class:`RenderReport`, :func:`render`, :func:`tempo_map`, :func:`smpte_of`.
"""
from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from ..arranger.styles import Style
from ..engine.template import Template
from ..engine.theme import Theme
from ..export.smf import Marker, Smpte, Tempo, write_timeline_midi
from ..music import Meter
from . import timecode
from .cuesheet import CueSheet
from .score import CueFit, Score, score

GAP_BPM = 120.0  # the tempo a silent gap is fitted near


@dataclass
class RenderReport:
    score: Score
    midi: Path
    wav: Path | None
    seconds: float  # of music (the file's length)
    render_s: float  # wall-clock seconds to make the MIDI

    @property
    def speed(self) -> float:
        return self.seconds / self.render_s if self.render_s else float("inf")


def _gap_bpm(seconds: float, meter: Meter) -> float:
    per_bar = meter.beats * 60.0
    bars = max(1, round(seconds * GAP_BPM / per_bar))
    return bars * per_bar / seconds


def tempo_map(fits: list[CueFit], meter: Meter) -> list[Tempo]:
    """The file's tempos: each cue's fitted tempo from its in point, and gaps of whole bars."""
    tempos: list[Tempo] = []
    at = 0.0
    for fit in fits:
        gap = fit.start - at
        if gap > 1e-9:
            tempos.append(Tempo(at, _gap_bpm(gap, meter)))
        tempos.append(Tempo(fit.start, fit.bpm))
        at = fit.end
    return tempos


def smpte_of(sheet: CueSheet) -> Smpte:
    text = timecode.format_frames(sheet.start, sheet.rate)
    hh, mm, ss, ff = (int(x) for x in text.replace(";", ":").split(":"))
    rate = {"23.976": 24.0, "24": 24.0, "25": 25.0, "29.97": 29.97, "30": 30.0}[sheet.rate.name]
    return Smpte(rate, hh, mm, ss, ff)


def markers(sheet: CueSheet, fits: list[CueFit]) -> list[Marker]:
    out = []
    for fit in fits:
        cue, rate = fit.cue, sheet.rate
        label = f"{cue.name} {cue.title}".strip()
        out.append(Marker(fit.start, f"{label} in {timecode.format_frames(cue.start, rate)} "
                                     f"v={cue.valence:+.2f} a={cue.arousal:+.2f} ({cue.mood})"))
        out.append(Marker(fit.end, f"{cue.name} out {timecode.format_frames(cue.end, rate)}"))
    return out


def render(sheet: CueSheet, midi_path: str | os.PathLike[str], *, model: str = "abc",
           wav_path: str | os.PathLike[str] | None = None, soundfont: str | None = None,
           template: Template | None = None, seed: int = 0, generator: object = None,
           style: Style | None = None, theme: Theme | None = None) -> RenderReport:
    """Write ``midi_path`` (and ``wav_path`` through FluidSynth) for ``sheet``."""
    if wav_path is not None:  # a missing synth is said before anything is generated
        from ..export.audio import find_soundfont, fluidsynth_path

        fluidsynth_path()
        find_soundfont(soundfont)
    if generator is None:
        from ..models.runtime import load_generator

        generator = load_generator(model)
    meter = Meter()
    t0 = time.perf_counter()
    result = score(sheet, generator, template=template, meter=meter, seed=seed, style=style, theme=theme)
    end = max(f.end for f in result.fits)
    target = Path(midi_path)
    # with a WAV, the MIDI file appears only once the audio made from it has: both or neither
    staging = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.mid") \
        if wav_path is not None else target
    try:
        write_timeline_midi(staging, result.events, tempos=tempo_map(result.fits, meter), meter=meter,
                            markers=markers(sheet, result.fits), smpte=smpte_of(sheet),
                            title=sheet.title, end=end)
        render_s = time.perf_counter() - t0
        wav = None
        if wav_path is not None:
            from ..export.audio import midi_to_wav

            midi_to_wav(staging, wav_path, soundfont=soundfont)
            wav = Path(wav_path)
            os.replace(staging, target)
    finally:
        if staging != target:
            staging.unlink(missing_ok=True)
    return RenderReport(result, target, wav, end, render_s)
