"""``moodscore demo --render``: a mood journey heard in a WAV file, as a listener would judge it.

The command runs as a user runs it; the test then reads what it wrote: the WAV (loudness per
stage), the MIDI file (the engine's tempo map, and the notes on its beat grid), and the stage
markers. Each stage is judged on its second half, once the glide and the bar-wise change of
material are done.
"""
from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import mido
import numpy as np
import pytest

from moodscore.demo.journey import JOURNEY, journey_script, timeline_to_midi
from moodscore.engine.conductor import Conductor
from moodscore.engine.offline import run
from moodscore.models.runtime import load_generator

SECONDS = 60


def file_events(path: Path) -> tuple[list[tuple[float, int, mido.Message]], list[tuple[float, float]]]:
    """Every message with its time in seconds (by the file's tempo map) and tick; the tempo map."""
    midi = mido.MidiFile(path)
    now, tick, tempo = 0.0, 0, 500_000
    events, tempos = [], []
    for msg in mido.merge_tracks(midi.tracks):
        now += mido.tick2second(msg.time, midi.ticks_per_beat, tempo)
        tick += msg.time
        if msg.type == "set_tempo":
            tempo = msg.tempo
            tempos.append((now, mido.tempo2bpm(tempo)))
        events.append((now, tick, msg))
    return events, tempos


def bpm_between(tempos: list[tuple[float, float]], lo: float, hi: float) -> float:
    """Time-weighted mean tempo over [lo, hi)."""
    total = 0.0
    for i, (at, bpm) in enumerate(tempos):
        end = tempos[i + 1][0] if i + 1 < len(tempos) else hi
        total += max(0.0, min(end, hi) - max(at, lo)) * bpm
    return total / (hi - lo)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("render")
    wav = folder / "journey.wav"
    done = subprocess.run([sys.executable, "-m", "moodscore.cli", "demo", "--render", str(wav),
                           "--seconds", str(SECONDS), "--model", "lstm"], capture_output=True, text=True,
                          timeout=300, check=False)
    if done.returncode != 0 and ("fluidsynth" in done.stderr.lower()):
        pytest.fail(f"the render needs FluidSynth and a GM SoundFont: {done.stderr.strip()}", pytrace=False)
    assert done.returncode == 0, done.stderr
    return {"wav": wav, "midi": folder / "journey.mid", "stdout": done.stdout}


def test_says_where_both_files_are(rendered):
    out = rendered["stdout"]
    assert f"wrote {rendered['midi']}" in out and f"wrote {rendered['wav']}" in out
    assert "calm 0-15 s, tense 15-30 s, triumphant 30-45 s, sad 45-60 s" in out
    assert rendered["midi"].stat().st_size > 1000


def stage_windows(events) -> list[tuple[str, float, float]]:
    """(name, start, end) of each stage's second half, from the file's markers."""
    marks = [(at, msg.text.split()[0]) for at, _, msg in events if msg.type == "marker"]
    assert [name for _, name in marks] == [name for name, _, _ in JOURNEY]
    ends = [at for at, _ in marks[1:]] + [SECONDS - marks[0][0]]
    return [(name, at + (end - at) / 2, end) for (at, name), end in zip(marks, ends)]


def test_the_wav_is_music_and_its_loudness_follows_the_journey(rendered):
    with wave.open(str(rendered["wav"])) as w:
        rate = w.getframerate()
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).reshape(-1, 2).astype(np.float64)
    assert SECONDS - 1 <= len(audio) / rate <= SECONDS + 3
    events, _ = file_events(rendered["midi"])
    level = {name: float(np.sqrt(np.mean(audio[int(lo * rate):int(hi * rate)] ** 2)))
             for name, lo, hi in stage_windows(events)}
    print("RMS per stage (16-bit):", {k: round(v) for k, v in level.items()})
    assert min(level.values()) > 300, f"a stage is (nearly) silent: {level}"
    assert np.abs(audio).max() < 32767, "clipped"
    for loud in ("tense", "triumphant"):
        for soft in ("calm", "sad"):
            assert level[loud] > 1.3 * level[soft], f"{loud} should be louder than {soft}: {level}"
    assert level["tense"] > level["triumphant"], f"tense is the loudest (+10 dB in the template): {level}"


def test_tempo_and_velocity_follow_the_journey(rendered):
    events, tempos = file_events(rendered["midi"])
    bpm, velocity, on_grid = {}, {}, {}
    midi = mido.MidiFile(rendered["midi"])
    sixteenth = midi.ticks_per_beat // 4
    for name, lo, hi in stage_windows(events):
        bpm[name] = bpm_between(tempos, lo, hi)
        notes = [(tick, msg) for at, tick, msg in events
                 if lo <= at < hi and msg.type == "note_on" and msg.velocity > 0]
        assert len(notes) >= 8, f"{name}: only {len(notes)} notes"
        # the melody's: which parts play (and so the mix's mean) changes with the intensity
        velocity[name] = float(np.mean([m.velocity for _, m in notes if m.channel == 0]))
        # the melody is played on the beat; the accompaniment is humanised off it (performance)
        on_grid[name] = np.mean([min(t % sixteenth, sixteenth - t % sixteenth) <= 3 for t, m in notes
                                 if m.channel == 0])
    print("tempo per stage:", {k: round(v, 1) for k, v in bpm.items()},
          "velocity:", {k: round(v, 1) for k, v in velocity.items()})
    assert bpm["sad"] < bpm["calm"] < bpm["triumphant"] < bpm["tense"], bpm
    assert bpm["tense"] > 2 * bpm["sad"], bpm
    assert velocity["sad"] < velocity["calm"] < velocity["triumphant"] < velocity["tense"], velocity
    # The tempo map is the one the notes were played to: they sit on its sixteenth-note grid.
    assert min(on_grid.values()) >= 0.9, on_grid


def test_the_file_plays_each_note_at_the_second_the_engine_played_it(tmp_path):
    stages, script = journey_script(24)
    conductor = Conductor(seed=3)
    conductor.set_mood(0.0, stages[0].valence, stages[0].arousal, 0.0)
    timeline = run(conductor, load_generator("lstm"), 24, script=script)
    path = tmp_path / "journey.mid"
    path.write_bytes(timeline_to_midi(timeline, stages))
    events, _ = file_events(path)
    played = sorted(at for at, _, msg in events if msg.type == "note_on" and msg.velocity > 0)
    engine = sorted(e.time for e in timeline.events if e.kind == "note_on")
    first_beat = min(c.time for c in timeline.callbacks if c.event["type"] == "beat")
    assert len(played) == len(engine) > 50
    error = max(abs(a - (b - first_beat)) for a, b in zip(played, engine))
    assert error < 0.002, f"a note is {error * 1e3:.1f} ms from where the engine played it"
