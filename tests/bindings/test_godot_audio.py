"""The Godot 3 MoodscoreAudio node (``bindings/godot/godot3/addons/moodscore/moodscore_audio.gd``)
in headless ``godot3-server`` against a real ``moodscore serve --ws-audio``.

The project ``godot_audio_project`` plays the stream through the node's AudioStreamGenerator
and records Godot's Master bus with AudioEffectRecord (the server build's dummy audio driver
does mix: measured here, a 440 Hz generator records at its full level). The recording must not
be silent, and its notes must sit where the engine played them: it is lined up with the
engine's own render of the session (its ``--record`` file through the same synth) by the music
time the node reported for the recording's first sample, and must match within 50 ms.

The node's beat and bar signals carry the audio-clock time at which each is heard. The
recording, lined up with the engine's render by cross-correlation, says where each beat really
is; the signal's audio time less the audio clock of the recording's first sample says where
the node expected it. The recording starts half a second into the stream (its steady state),
between two mixes, and its first sample is the audio clock then plus the time to the next mix.
Within one run every beat is off by the same amount (an event's audio time is its music time
plus a constant while nothing underruns): how well audio_time() knew the sample heard when
recording began, which Godot's resampler's read-ahead (0 to 256 frames, counted as its mean)
puts within about 2.7 ms. Measured here: -3.4 to +1.1 ms over four runs (printed); the test
holds the median within 6 ms and every one within 15 ms. The Godot 4 script is lint-checked
with gdtoolkit in test_godot.py, as the client is.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import correlate, resample_poly

from support import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audio"))
from test_godot import BINDING, godot3  # noqa: E402
from test_serve_audio import RATE, best_lag, file_zero, highpass, render, timeline  # noqa: E402

PROJECT = Path(__file__).parent / "godot_audio_project"


def test_godot3_node_plays_the_engines_music_through_its_master_bus(tmp_path: Path) -> None:
    report, audio, rate, engine, bars, beats = _play_in_godot(tmp_path, 4)
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
    signals = report.pop("signals")
    print(f"\nGodot 3 Master bus: {len(audio) / rate:.1f} s at {rate} Hz, {off_ms:+.1f} ms from the "
          f"engine's own render by the node's music time; {report}")

    # where each beat is in the recording (by the render, lined up), against its audio time
    lag = best_lag(highpass(audio), highpass(ref), -expected, rate // 4)  # audio[i + lag] ~ ref[i]
    errors = []
    for kind, bar, beat, heard, *_ in signals:
        if kind != "beat" or heard < 0 or (bar, beat) not in beats:
            continue
        expected_at = (heard - report["audio_time"]) * rate
        really_at = (beats[bar, beat] - zero) * rate + lag
        if 0.2 * rate < really_at < len(audio) - 0.2 * rate:
            errors.append((expected_at - really_at) / rate * 1e3)
    errors_ms = np.array(errors)
    assert len(errors_ms) >= 4, (signals, beats)
    print(f"beat signals' audio time against the recording ({len(errors_ms)} beats): median "
          f"{np.median(errors_ms):+.2f} ms, range {errors_ms.min():+.2f} to {errors_ms.max():+.2f} ms")
    assert abs(np.median(errors_ms)) <= 6.0 and np.abs(errors_ms).max() <= 15.0, errors_ms


GODOT_CRASHED = "handle_crash: Program crashed with signal"


def _play_in_godot(tmp_path: Path, seconds: float, env: dict[str, str] | None = None,
                   engine_args: tuple[str, ...] = ("--ws-audio",)):
    for attempt in range(2):  # a second go only when godot3-server itself crashed (below)
        for old in [tmp_path / "project", tmp_path / "engine", *tmp_path.glob("master*.wav")]:
            if old.is_dir():
                shutil.rmtree(old)
            elif old.exists():
                old.unlink()
        project = tmp_path / "project"
        shutil.copytree(PROJECT, project)
        shutil.copytree(BINDING / "godot3" / "addons", project / "addons")
        engine = Engine(tmp_path / "engine", *engine_args)
        out = tmp_path / "master.wav"
        try:
            done = subprocess.run([godot3(), "--path", str(project), "--", str(engine.ws_port), f"{seconds:g}",
                                   str(out)], capture_output=True, text=True, timeout=90,
                                  env={**os.environ, **(env or {})})
            bars = [e["time"] for _, e in engine.of("bar")]
            beats = {(e["bar"], e["beat"]): e["time"] for _, e in engine.of("beat")}
        finally:
            engine.close()
        # Godot 3.2.3's server build segfaulted once in a CI run of the underrun test (signal 11
        # inside godot3-server, under the whole suite's load; 9 runs of this file alone passed):
        # its own crash, not the node's behaviour, so it gets one more go, said in the output
        if attempt == 0 and done.returncode != 0 and GODOT_CRASHED in done.stdout + done.stderr:
            print(f"\ngodot3-server crashed (exit {done.returncode}); running it once more")
            continue
        break
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines and "music_time" in lines[-1], done.stdout + done.stderr
    with wave.open(str(out)) as w:
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).reshape(-1, w.getnchannels())
        rate = w.getframerate()
    return json.loads(lines[-1]), audio, rate, engine, bars, beats


def test_godot3_beats_stay_on_the_audio_clock_through_an_underrun_and_a_catch_up(tmp_path: Path) -> None:
    """The main loop stalls 0.35 s two seconds into the recording: the generator runs dry (an
    underrun: silence the audio clock counts), then more has come than buffer_seconds and
    catch_up_seconds (whole blocks are skipped, which heard_at() accounts for). The recording
    before the stall and after it are each lined up with the engine's render on their own
    (the music jumps between them); in each, every beat's audio time must say where it is."""
    report, audio, rate, engine, bars, beats = _play_in_godot(tmp_path, 6, {"MOODSCORE_TEST_STALL_S": "2"})
    assert report["underruns"] >= 1 and report["dropped_frames"] > 0, report
    events = timeline(engine.record)
    zero = file_zero(events, bars)
    ref = render(events, events[-1][0] + 1.0)
    g = np.gcd(rate, RATE)
    ref_hp = highpass(resample_poly(ref.astype(np.float64), rate // g, RATE // g, axis=0))
    rec_hp = highpass(audio)
    expected = {(bar, beat): (heard - report["audio_time"]) * rate
                for kind, bar, beat, heard, *_ in report["signals"]
                if kind == "beat" and heard >= 0 and (bar, beat) in beats}
    lags, errors = [], []
    for lo, hi in ((0.1, 1.9), (3.0, len(audio) / rate - 0.3)):  # before the stall, after it
        inside = {key: at for key, at in expected.items() if lo * rate < at < hi * rate}
        assert len(inside) >= 3, (lo, hi, expected)
        # the lag (recording less render) the audio times say, then the one the sound says near it
        said = float(np.median([at - (beats[key] - zero) * rate for key, at in inside.items()]))
        seg = rec_hp[int(lo * rate):int(hi * rate)]
        margin = int(0.1 * rate)
        first = int(lo * rate - said) - margin
        # the render's stretch that stretch of the recording should match, silence before the
        # render's start or after its end (the recording can begin before the render's zero)
        want = len(seg) + 2 * margin
        window = np.zeros(want)
        got = ref_hp[max(0, first):max(0, first + want)]
        window[max(0, -first):max(0, -first) + len(got)] = got[:want - max(0, -first)]
        corr = correlate(window, seg, mode="valid", method="fft")
        lag = lo * rate - (first + int(np.argmax(corr)))
        lags.append(lag)
        errors += [(at - ((beats[key] - zero) * rate + lag)) / rate * 1e3 for key, at in inside.items()]
    ms = np.array(errors)
    print(f"\nGodot 3 through a 0.35 s stall ({report['underruns']} underrun, {report['dropped_frames']} "
          f"frames skipped to catch up, {report['lost_frames']} lost; the music {(lags[1] - lags[0]) / rate * 1e3:+.0f} "
          f"ms later after it): {len(ms)} beats' audio times against the recording: median "
          f"{np.median(ms):+.2f} ms, range {ms.min():+.2f} to {ms.max():+.2f} ms")
    assert abs(np.median(ms)) <= 6.0 and np.abs(ms).max() <= 15.0, errors


def test_godot3_node_plays_each_stem_on_its_own_bus(tmp_path: Path) -> None:
    """With ``stems`` on, against ``serve --ws-audio-stems``: the melody plays on a bus of its
    own (recorded there) and the other parts on Master, which the Melody bus also feeds. The
    Master recording is the engine's music where the node's music time says; the Melody bus
    holds the melody, in step with it: at Master's lag it matches the engine's melody-only
    render about as well as Master matches the whole render, and the other parts' render hardly
    at all."""
    report, audio, rate, engine, bars, beats = _play_in_godot(
        tmp_path, 4, {"MOODSCORE_TEST_STEMS": "1"}, ("--ws-audio-stems",))
    with wave.open(str(tmp_path / "master.melody.wav")) as w:
        melody = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).reshape(-1, w.getnchannels())
    assert np.abs(audio).max() > 3000 and np.abs(melody).max() > 1000, "silent"
    assert report["lost_frames"] == 0 and report["underruns"] == 0, report
    events = timeline(engine.record)
    zero = file_zero(events, bars)
    end = events[-1][0] + 1.0
    g = np.gcd(rate, RATE)

    def ref(keep) -> np.ndarray:
        part = render([(t, m) for t, m in events if not hasattr(m, "channel") or keep(m.channel)], end)
        return highpass(resample_poly(part.astype(np.float64), rate // g, RATE // g, axis=0))

    whole, melody_ref, rest_ref = ref(lambda c: True), ref(lambda c: c == 0), ref(lambda c: c != 0)
    expected = round((report["music_time"] - zero) * rate)
    lag = best_lag(highpass(audio), whole, -expected, rate // 4)  # audio[i + lag] ~ ref[i]
    off_ms = (-lag - expected) / rate * 1e3
    assert abs(off_ms) <= 50.0, (off_ms, report)

    def similarity(rec: np.ndarray, reference: np.ndarray) -> float:  # at Master's lag
        rec = highpass(rec)[int(0.2 * rate):-int(0.2 * rate)]
        start = int(0.2 * rate) - lag
        window = np.zeros(len(rec))
        got = reference[max(0, start):max(0, start + len(rec))]
        window[max(0, -start):max(0, -start) + len(got)] = got[:len(rec) - max(0, -start)]
        return float(np.dot(rec, window) / (np.linalg.norm(rec) * np.linalg.norm(window) + 1e-12))

    with_melody, with_rest = similarity(melody, melody_ref), similarity(melody, rest_ref)
    master_whole = similarity(audio, whole)
    print(f"\nGodot 3 stems: Master {off_ms:+.1f} ms from the engine's render by the node's music time, "
          f"similarity to the render {master_whole:.2f}; the Melody bus against the melody-only render "
          f"{with_melody:.2f}, against the other parts' {with_rest:.2f}")
    # the first differences of a 48 kHz render and Godot's 44.1 kHz resampling agree only so far:
    # measured, the whole Master recording against the whole render reads 0.3-0.4
    assert with_melody > 0.5 * master_whole and abs(with_rest) < 0.3 * with_melody, (
        with_melody, with_rest, master_whole)
