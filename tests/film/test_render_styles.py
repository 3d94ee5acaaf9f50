"""``moodscore render --style``: one WAV per style through the real FluidSynth, not silent and
sounding different; a cue's ``intensity`` sets how many parts play."""
from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import mido
import numpy as np
import pytest

from moodscore.arranger.styles import names
from moodscore.film.cuesheet import CueSheetError, parse_json

SHEET = {"title": "styles", "frame_rate": "25",
         "cues": [{"cue": "1M01", "in": "00:00:00:00", "out": "00:00:08:00", "mood": {"valence": 0.6, "arousal": 0.5},
                   "intensity": 1}]}


def _render(folder: Path, style: str, sheet: dict = SHEET) -> tuple[Path, Path]:
    cues = folder / "cues.json"
    cues.write_text(json.dumps(sheet))
    mid, wav = folder / f"{style}.mid", folder / f"{style}.wav"
    done = subprocess.run([sys.executable, "-m", "moodscore.cli", "render", str(cues), "-o", str(mid),
                           "--wav", str(wav), "--style", style, "--seed", "3"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return mid, wav


def _spectrum(path: Path) -> tuple[float, np.ndarray]:
    with wave.open(str(path)) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64)
        rate, channels = w.getframerate(), w.getnchannels()
    mono = frames.reshape(-1, channels).mean(axis=1) / 32768
    rms = float(np.sqrt(np.mean(mono ** 2)))
    bands = np.abs(np.fft.rfft(mono[: rate * 8]))
    edges = np.geomspace(40, 12000, 25)
    freqs = np.fft.rfftfreq(rate * 8, 1 / rate)
    energy = np.array([bands[(freqs >= lo) & (freqs < hi)].sum() for lo, hi in zip(edges, edges[1:])])
    return rms, energy / energy.sum()


@pytest.mark.slow
def test_a_wav_per_style_not_silent_and_each_its_own_sound(tmp_path):
    spectra, programs = {}, {}
    for style in names():
        mid, wav = _render(tmp_path, style)
        rms, spectrum = _spectrum(wav)
        assert rms > 0.01, (style, rms)
        spectra[style] = spectrum
        tracks = mido.MidiFile(mid).tracks
        programs[style] = sorted({(m.channel, m.program) for t in tracks for m in t if m.type == "program_change"})
        channels = {m.channel for t in tracks for m in t if m.type == "note_on"}
        assert channels == {0, 1, 2, 4, 5, 9}, (style, channels)  # intensity 1: every part
    assert len({tuple(p) for p in programs.values()}) == len(programs)
    for a in spectra:
        for b in spectra:
            if a < b:
                distance = 0.5 * np.abs(spectra[a] - spectra[b]).sum()  # total variation, 0..1
                print(f"{a} vs {b}: spectral distance {distance:.3f}")
                assert distance > 0.04, (a, b, distance)


def test_cue_intensity_is_checked_and_thins_the_parts(tmp_path):
    sparse = {**SHEET, "cues": [{**SHEET["cues"][0], "intensity": 0}]}
    mid, _ = _render(tmp_path, "orchestral", sparse)
    channels = {m.channel for t in mido.MidiFile(mid).tracks for m in t if m.type == "note_on"}
    assert channels == {0, 1, 2}  # melody with the orchestral style's first two layers: pad, bass
    for bad in (1.5, "loud", -0.1):
        with pytest.raises(CueSheetError, match=r"cue 1M01: intensity: must be a number in \[0, 1\]"):
            parse_json(json.dumps({**SHEET, "cues": [{**SHEET["cues"][0], "intensity": bad}]}))
    assert parse_json(json.dumps(SHEET)).cues[0].intensity == 1.0
