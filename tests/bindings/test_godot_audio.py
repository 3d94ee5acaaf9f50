"""The Godot 3 MoodscoreAudio node (``bindings/godot/godot3/addons/moodscore/moodscore_audio.gd``)
in headless ``godot3-server`` against a real ``moodscore serve --ws-audio``.

The project ``godot_audio_project`` plays the stream through the node's AudioStreamGenerator
and records Godot's Master bus with AudioEffectRecord (the server build's dummy audio driver
does mix: measured here, a 440 Hz generator records at its full level). The recording must not
be silent, and its notes must sit where the engine played them: it is lined up with the
engine's own render of the session (its ``--record`` file through the same synth) by the music
time the node reported when recording began, and must match within 50 ms. (The node's
music_time() counts what waits in the generator, not Godot's own mixing buffer, so some tens of
milliseconds are expected; the figure is printed.) The Godot 4 script is lint-checked with
gdtoolkit in test_godot.py, as the client is.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from support import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audio"))
from test_godot import BINDING, godot3  # noqa: E402
from test_serve_audio import RATE, best_lag, file_zero, highpass, render, timeline  # noqa: E402

PROJECT = Path(__file__).parent / "godot_audio_project"


def test_godot3_node_plays_the_engines_music_through_its_master_bus(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    shutil.copytree(BINDING / "godot3" / "addons", project / "addons")
    engine = Engine(tmp_path / "engine", "--ws-audio")
    out = tmp_path / "master.wav"
    try:
        done = subprocess.run([godot3(), "--path", str(project), "--", str(engine.ws_port), "4", str(out)],
                              capture_output=True, text=True, timeout=90)
        bars = [e["time"] for _, e in engine.of("bar")]
    finally:
        engine.close()
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines and "music_time" in lines[-1], done.stdout + done.stderr
    report = json.loads(lines[-1])
    with wave.open(str(out)) as w:
        rate = w.getframerate()
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).reshape(-1, w.getnchannels())
    assert rate == report["mix_rate"] and len(audio) > 3 * rate, (rate, len(audio))
    assert np.abs(audio).max() > 3000, "silent"
    events = timeline(engine.record)
    zero = file_zero(events, bars)
    ref = render(events, events[-1][0] + 1.0)
    if rate != RATE:
        g = np.gcd(rate, RATE)
        ref = resample_poly(ref.astype(np.float64), rate // g, RATE // g, axis=0)
    expected = round((report["music_time"] - zero) * rate)
    off_ms = (-best_lag(highpass(audio), highpass(ref), -expected, rate // 4) - expected) / rate * 1e3
    assert abs(off_ms) <= 50.0, (off_ms, report)
    assert report["lost_frames"] == 0, report
    print(f"\nGodot 3 Master bus: {len(audio) / rate:.1f} s at {rate} Hz, {off_ms:+.1f} ms from the "
          f"engine's own render by the node's music time; {report}")
