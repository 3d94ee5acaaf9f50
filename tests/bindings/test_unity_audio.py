"""The Unity binding's audio (``AudioStream.cs``: frame decoding, jitter buffer, the stream),
compiled with Mono and played against a real ``moodscore serve --ws-audio``.

``unity_audio/AudioHarness.cs`` reads the jitter buffer as Unity's audio thread would (1024
frames at 48 kHz, paced by a clock) and writes what it would play to a WAV, with the music time
of its first sample. That WAV must not be silent and must line up, by that music time alone,
with the engine's own render of the session (its ``--record`` file through the same synth).
Needs Debian's mono-mcs and mono-runtime; fails (never skips) without them.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from support import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audio"))
from test_serve_audio import RATE, best_lag, file_zero, highpass, read_wav, render, timeline  # noqa: E402
from test_unity import CLIENT, _tool  # noqa: E402

HARNESS = Path(__file__).parent / "unity_audio" / "AudioHarness.cs"


def test_unity_audio_plays_the_engines_music_in_time(tmp_path: Path) -> None:
    mcs, mono = _tool("mcs", "mono-mcs"), _tool("mono", "mono-runtime")
    exe = tmp_path / "AudioHarness.exe"
    built = subprocess.run([mcs, "-langversion:7.2", "-warn:4", "-warnaserror+", "-target:exe",
                            f"-out:{exe}", "-r:System.dll", *map(str, sorted(CLIENT.glob("*.cs"))),
                            str(HARNESS)], capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stdout + built.stderr
    engine = Engine(tmp_path / "engine", "--ws-audio")
    wav = tmp_path / "unity.wav"
    try:
        done = subprocess.run([mono, str(exe), str(engine.ws_port), "6", str(wav)],
                              capture_output=True, text=True, timeout=60)
        bars = [e["time"] for _, e in engine.of("bar")]
    finally:
        engine.close()
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    audio = read_wav(wav)
    assert np.abs(audio).max() > 3000, "silent"
    events = timeline(engine.record)
    zero = file_zero(events, bars)
    ref = render(events, events[-1][0] + 1.0)
    expected = round((report["music_time"] - zero) * RATE)  # the reference sample of its first
    off_ms = (-best_lag(highpass(audio), highpass(ref), -expected, RATE // 4) - expected) / RATE * 1e3
    assert abs(off_ms) <= 5.0, (off_ms, report)
    assert report["underruns"] == 0 and report["lost"] == 0, report
    print(f"\nUnity client (Mono): {len(audio) / RATE:.1f} s played, {off_ms:+.2f} ms from the "
          f"engine's own render by music time alone; {report}")
