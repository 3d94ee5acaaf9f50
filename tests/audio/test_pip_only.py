"""``moodscore serve`` heard with the system's FluidSynth and PortAudio libraries really absent.

What a fresh Linux machine has after ``pip install .``: no ``libfluidsynth3``, no
``libportaudio2``. The engine runs in a private mount namespace (``unshare -m``, as root) in
which every copy of those libraries that ``ldconfig -p`` lists is covered by ``/dev/null``, so
``dlopen`` fails on them as on a machine without them. It must then load FluidSynth from the
``pygame-ce`` wheel and play through miniaudio into the dummy-driver JACK server, whose ports
(``moodscore:playback0/1``) ``jack_rec`` records: sound while playing, the notes where the
engine's timeline puts them (the same matching as ``test_serve_audio.py``, against a render
through the same bundled FluidSynth: onsets within 5 ms, median within 1.5 ms), silence within
50 ms of a stop. Where ``unshare`` is not permitted the
tests fail and say so: they are the proof that ``pip install .`` alone is heard.
Run with ``pytest -s`` to see the measured figures.
"""
from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import mido
import numpy as np
import pytest

from support import Engine, ServerProcess, free_port, wait_until
from test_serve_audio import (PLEASANT_CALM, RATE, best_lag, highpass, judge_onsets, match_onsets, playing_span,
                              read_wav, timeline)
from test_serve_audio import record as record_ports

if TYPE_CHECKING:
    from conftest import JackServer

HIDDEN = ("libfluidsynth.so", "libportaudio.so")


@cache
def system_copies() -> tuple[str, ...]:
    """Every file ``ldconfig -p`` lists for the libraries to hide (they may not be there)."""
    listed = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    paths = {str(Path(line.split(" => ")[1].strip()).resolve()) for line in listed.splitlines()
             if " => " in line and any(name in line.split(" => ")[0] for name in HIDDEN)}
    return tuple(sorted(p for p in paths if Path(p).exists()))


def without_system_libraries(cmd: list[str]) -> list[str]:
    """``cmd`` in a private mount namespace where the system's FluidSynth and PortAudio are
    empty files. Fails the test (never skips) where that cannot be done."""
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount --bind /dev/null /dev/null"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.fail("this test hides the system's libfluidsynth and libportaudio in a private mount "
                    "namespace and needs `unshare -m` and `mount --bind` (root, or a user namespace "
                    f"that allows mounts); here: {probe.stderr.strip() or probe.returncode}",
                    pytrace=False)
    mounts = [f"mount --bind /dev/null {shlex.quote(path)}" for path in system_copies()]
    return ["unshare", "-m", "sh", "-c", " && ".join([*mounts, "exec " + shlex.join(cmd)])]


def record(seconds: float, path: Path) -> subprocess.Popen[bytes]:
    return record_ports(seconds, path, "miniaudio")


def file_zero_near(events: list[tuple[float, mido.Message]], bars: list[float], near: float) -> float:
    """The engine-clock time of the file's zero, as ``file_zero`` finds it, from the shifts
    within 150 ms of ``near`` only: in sparse music a beat's shift can outnumber the bar's."""
    ons = np.array([t for t, m in events if m.type == "note_on" and m.velocity])
    shifts = np.array([b - t for b in bars for t in ons])
    shifts = shifts[np.abs(shifts - near) < 0.15]
    assert shifts.size, ("no bar of the engine's near where the clocks put the file's zero", near)
    bins, counts = np.unique(np.round(shifts / 0.002), return_counts=True)
    mode = bins[np.argmax(counts)] * 0.002
    return float(np.median(shifts[np.abs(shifts - mode) < 0.002]))


def bundled_render(midi: Path, seconds: float, out: Path) -> np.ndarray:
    """The reference render of the engine's file through the same (bundled) FluidSynth as the
    engine's, in the same namespace: another FluidSynth version sounds a little different, and
    fewer onsets would match with confidence."""
    code = ("import sys\n"
            "import numpy as np\n"
            "from test_serve_audio import render, timeline\n"
            "from moodscore.audio.library import load_pyfluidsynth\n"
            "print(load_pyfluidsynth()[1].label)\n"
            "np.save(sys.argv[3], render(timeline(sys.argv[1]), float(sys.argv[2])))\n")
    here = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(here), str(here.parent),
                                                        os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(without_system_libraries([sys.executable, "-c", code, str(midi), str(seconds), str(out)]),
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0 and "bundled with pygame-ce" in done.stdout, done.stdout + done.stderr
    return np.load(out)  # type: ignore[no-any-return]


def test_the_system_libraries_are_hidden() -> None:
    """The namespace does what the other tests rely on: neither library loads in it."""
    check = ("import ctypes, sys\n"
             "for name in sys.argv[1:]:\n"
             "    try:\n"
             "        ctypes.CDLL(name)\n"
             "        print(name, 'loads')\n"
             "    except OSError as err:\n"
             "        print(name, 'fails:', err)\n")
    libs = ["libfluidsynth.so.3", "libportaudio.so.2"]
    done = subprocess.run(without_system_libraries([sys.executable, "-c", check, *libs]),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert all(f"{name} fails:" in done.stdout for name in libs), done.stdout


def test_plain_serve_is_heard_without_libfluidsynth_and_libportaudio(jack_server: JackServer,
                                                                     tmp_path: Path) -> None:
    """The README's first command: ``moodscore serve`` with no option at all."""
    cmd = [sys.executable, "-m", "moodscore.cli", "serve", "--model", "lstm", "--osc-port",
           str(free_port(socket.SOCK_DGRAM)), "--ws-port", str(free_port(socket.SOCK_STREAM))]
    served = ServerProcess(without_system_libraries(cmd), tmp_path / "serve.log", "playing;",
                           "moodscore serve")
    try:
        wav = tmp_path / "plain.wav"
        record(2, wav).wait(15)
    finally:
        code = served.close()
    assert code == 0, served.log()
    said = next((line for line in served.log().splitlines()
                 if "no MIDI output chosen: playing through" in line), "")
    assert "bundled with pygame-ce" in said and "output miniaudio" in said and "(JACK)" in said, served.log()
    assert np.abs(read_wav(wav)).max() > 1000, "silent"
    print(f"\nstart-up line: {said.split(': ', 1)[1]}")


def test_notes_fall_where_the_engine_played_them_through_the_bundled_path(jack_server: JackServer,
                                                                          tmp_path: Path) -> None:
    xruns0 = jack_server.xruns()
    engine = Engine(tmp_path, "--audio", "--transition", "bar", wrap=without_system_libraries)
    try:
        said = re.search(r"notes heard ([\d.]+) ms after", engine.log())
        assert said is not None and engine.ws is not None, engine.log()
        assert "through miniaudio" in engine.log() and "bundled with pygame-ce" in engine.log(), engine.log()
        latency, ws = float(said[1]) / 1e3, engine.ws
        ws.request({"type": "intensity", "value": 0.0})  # the sparsest arrangement: clear onsets
        ws.request({"type": "va", "valence": PLEASANT_CALM[0], "arousal": PLEASANT_CALM[1], "glide": 0})
        wait_until(lambda: any(m[0] > 0.3 and m[1] < -0.3 for m in engine.moods()), 20, "a calm phrase")
        wav = tmp_path / "ports.wav"
        recording_from = time.perf_counter()  # jack_rec's first sample: a little after this
        rec = record(26, wav)
        time.sleep(22.0)  # long enough for a dozen clear onsets, as in test_serve_audio.py
        stopped = time.perf_counter()
        assert ws.request({"type": "stop"}) == {"type": "ack"}
        rec.wait(30)
    finally:
        engine.close()
    summary = engine.summary()
    audio = read_wav(wav)
    events = timeline(engine.record)
    ref = bundled_render(engine.record, events[-1][0] + 1.0, tmp_path / "reference.npy")
    rec_hp, ref_hp = highpass(audio), highpass(ref)
    lag = best_lag(rec_hp, ref_hp)  # recording sample = reference sample + lag
    zero = file_zero_near(events, [e["time"] for _, e in engine.of("bar")],
                          recording_from - latency + 0.1 + lag / RATE)

    rec_at, start, end, peaks = playing_span(audio, zero, lag, stopped)

    found, lag = match_onsets(rec_hp, ref_hp, events, lag, start, end)
    signed = [ms for ms, c in found if c >= 0.9]  # in time order
    xruns = jack_server.xruns() - xruns0
    stretches = judge_onsets(signed, xruns)
    errs = stretches[0] + (stretches[1] if len(stretches) > 1 else [])
    diag = (found, summary, f"jackd xruns {xruns}", [len(e) for e in stretches])
    assert len(errs) >= 4, diag
    for part in stretches:
        assert not part or (np.median(part) <= 1.5 and max(part) <= 5.0), diag

    tail = audio[rec_at(stopped) + round((0.050 - latency) * RATE):]
    loud = np.flatnonzero(np.abs(audio[rec_at(stopped) - RATE:]).max(axis=1) >= 33)
    silent_after = (loud[-1] / RATE - 1.0 + latency) * 1e3 if loud.size else float("nan")
    assert len(tail) > RATE // 2 and np.abs(tail).max() < 33, (  # < -60 dBFS
        f"sound {silent_after:.1f} ms after the stop", diag)
    assert summary["audio"]["callback_errors"] == 0 and summary["audio"]["blocks"] > 0, summary
    print(f"\nbundled FluidSynth through miniaudio: latency (engine time to heard) {latency * 1e3:.1f} ms; "
          f"{len(errs)} of {len(found)} clear onsets matched: median |error| {np.median(errs):.2f} ms, "
          f"{'judged on either side of a lost JACK cycle, ' if len(stretches) > 1 else ''}"
          f"max {max(errs):.2f} ms; quietest half-second peak {min(peaks)}; last sound "
          f"{silent_after:.1f} ms after the stop was sent; audio stats "
          f"{summary['audio']}; jackd xruns {jack_server.xruns()}")


def test_without_the_system_libraries_and_no_device_it_says_how_to_choose(tmp_path: Path) -> None:
    """No JACK server by that name and no other output here: one line, exit status 2, and a named
    backend whose library is missing says so."""
    env = {**os.environ, "JACK_DEFAULT_SERVER": "moodscore-no-such-server", "JACK_NO_START_SERVER": "1"}
    ports = ["--osc-port", str(free_port(socket.SOCK_DGRAM)), "--ws-port", str(free_port(socket.SOCK_STREAM))]
    serve = [sys.executable, "-m", "moodscore.cli", "serve"]
    done = subprocess.run(without_system_libraries([*serve, *ports]), capture_output=True, text=True,
                          env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if line.startswith("moodscore:")]
    assert lines == [
        "moodscore: no output chosen, and the embedded synth cannot play here: no sound output device "
        "found (miniaudio lists none; is a sound server or JACK running?); choose one with "
        "--audio-device NAME (--audio-device list shows them), or a MIDI output with --midi-port NAME "
        "or --virtual-port NAME, or only record with --record out.mid"], done.stderr
    named = subprocess.run(without_system_libraries([*serve, "--audio-backend", "portaudio", *ports]),
                           capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert named.returncode == 2
    lines = [line for line in named.stderr.splitlines() if line.startswith("moodscore:")]
    assert len(lines) == 1 and lines[0].startswith(
        "moodscore: no output chosen, and the embedded synth cannot play here: no sound output backend "
        "can load: PortAudio is not installed (") and "or --audio-backend miniaudio; choose one" in lines[0], \
        named.stderr
