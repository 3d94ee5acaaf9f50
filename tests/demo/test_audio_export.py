"""moodscore.export.audio: MIDI to WAV through the real FluidSynth and GM SoundFont."""
from __future__ import annotations

import os
import wave
from pathlib import Path

import mido
import numpy as np
import pytest

from moodscore.errors import ConfigError, OutputError
from moodscore.export.audio import find_soundfont, midi_to_wav


def write_midi(path: Path, *, end_notes: bool = True, program: int = 0) -> Path:
    """A C major chord for one second at 120 BPM (480 ticks per beat)."""
    midi = mido.MidiFile(type=0, ticks_per_beat=480)
    track = mido.MidiTrack()
    track.append(mido.Message("program_change", program=program, time=0))
    for pitch in (60, 64, 67):
        track.append(mido.Message("note_on", note=pitch, velocity=100, time=0))
    for i, pitch in enumerate((60, 64, 67) if end_notes else (60,)):
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=960 if i == 0 else 0))
    midi.tracks.append(track)
    midi.save(path)
    return path


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (2, 2), "16-bit stereo"
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).reshape(-1, 2)
        return data.astype(np.float64), w.getframerate()


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x ** 2))) if x.size else 0.0


def test_renders_the_music_then_the_tail_and_stops(tmp_path, fluidsynth):
    wav = midi_to_wav(write_midi(tmp_path / "chord.mid"), tmp_path / "chord.wav", tail=1.5)
    audio, rate = read_wav(wav)
    assert rate == 44100
    assert abs(len(audio) / rate - 2.5) < 0.01, f"{len(audio) / rate:.3f} s for 1 s of music and a 1.5 s tail"
    assert rms(audio[: rate]) > 300, "the chord sounds"
    assert rms(audio[-rate // 4:]) < rms(audio[: rate]) / 20, "and has died away by the end"


def test_a_note_never_ended_still_finishes(tmp_path, fluidsynth):
    """Without the closing all-sound-off FluidSynth would render a held note for ever."""
    wav = midi_to_wav(write_midi(tmp_path / "held.mid", end_notes=False, program=48), tmp_path / "held.wav",
                      tail=1.0, timeout=30)
    audio, rate = read_wav(wav)
    assert abs(len(audio) / rate - 2.0) < 0.01, "the music's second and the tail, then the end"
    assert rms(audio[-rate // 4:]) > 100, "the held strings sound to the end of the tail"


def test_gain_scales_the_output(tmp_path, fluidsynth):
    source = write_midi(tmp_path / "chord.mid")
    quiet, _ = read_wav(midi_to_wav(source, tmp_path / "quiet.wav", gain=0.2))
    loud, _ = read_wav(midi_to_wav(source, tmp_path / "loud.wav", gain=0.8))
    assert 3.0 < rms(loud) / rms(quiet) < 5.0


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".wav", ".tmp"))


def test_failures_leave_no_file_behind(tmp_path, fluidsynth):
    source = write_midi(tmp_path / "chord.mid")
    broken = tmp_path / "broken.mid"
    broken.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01")
    with pytest.raises(OutputError, match="cannot read MIDI file"):
        midi_to_wav(broken, tmp_path / "out.wav")
    not_a_font = tmp_path / "font.sf2"
    not_a_font.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    with pytest.raises(ConfigError, match="is not a SoundFont"):
        midi_to_wav(source, tmp_path / "out.wav", soundfont=not_a_font)
    with pytest.raises(ConfigError, match="sample_rate must be one of"):
        midi_to_wav(source, tmp_path / "out.wav", sample_rate=12345)
    with pytest.raises(OutputError, match="did not finish"):
        midi_to_wav(source, tmp_path / "out.wav", timeout=0.001)
    assert leftovers(tmp_path) == []


def test_an_existing_file_is_replaced_only_by_a_whole_render(tmp_path, fluidsynth):
    target = tmp_path / "out.wav"
    target.write_bytes(b"previous")
    with pytest.raises(OutputError):
        midi_to_wav(tmp_path / "nothing.mid", target)
    assert target.read_bytes() == b"previous"
    midi_to_wav(write_midi(tmp_path / "chord.mid"), target)
    assert target.read_bytes()[:4] == b"RIFF"


def test_missing_fluidsynth_is_named_with_its_packages(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH where no fluidsynth is
    with pytest.raises(OutputError, match="apt-get install fluidsynth fluid-soundfont-gm"):
        midi_to_wav(write_midi(tmp_path / "chord.mid"), tmp_path / "out.wav")


def test_missing_soundfont_is_named_with_its_package(monkeypatch):
    monkeypatch.setattr("moodscore.export.audio.SOUNDFONT_PATHS", ("/nonexistent/GM.sf2",))
    with pytest.raises(OutputError, match="fluid-soundfont-gm"):
        find_soundfont()


def test_the_system_soundfont_is_found(fluidsynth):
    found = find_soundfont()
    assert found.is_file() and os.path.getsize(found) > 1_000_000
