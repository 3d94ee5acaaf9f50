"""``moodscore bench audio-latency``: from a mood message to the changed sound, end to end (figures).

Everything real, on this machine: a dummy-driver ``jackd`` under a server name of its own;
``moodscore serve --audio-device jack --ws-audio --record`` (a process of its own); a JACK
client (:class:`~moodscore.audio.port_recorder.PortRecorder`) recording its ``PortAudio:out_0/1``
ports with the time each JACK cycle ran; and, unless ``godot=False`` or it is missing, headless
``godot3-server`` playing the stream through ``bindings/godot``'s MoodscoreAudio and recording
its Master bus with AudioEffectRecord (the project is ``tests/bindings/godot_audio_project``:
run this from a checkout). Mood messages go over OSC (UDP, as a game sends them) at random
moments, each into the quadrant opposite the last (calm and pleasant, tense), with transition
``bar``. Then, in each recording, the moment in the 6 s after each message where the timbre
changes most (:func:`moodscore.audio.latency.change_at`) is the changed sound:

- at the JACK ports: each recorded sample's time is its JACK cycle's, on the engine clock (the
  recorder's own account, independent of the engine's); beside it, the engine's account: the
  recording lined up with the engine's own render of its ``--record`` file puts each sample on
  the engine clock, and a note at engine time t leaves the ports the delay the engine logs
  later ("notes heard ... after their engine time": a block, the margin and PortAudio's output
  latency); their difference checks the engine's claim;
- at the Godot client: its recording's first sample is the node's music_time() then, and the
  recording runs on at the stream's rate; when Godot plays music time m is read from the
  (system clock, music_time()) pairs the project logs at each beat.

It also prints the engine process's CPU per second of music (synth, model, everything) and the
session's PortAudio underruns, late events and the Godot node's underruns.

Public API: :func:`run`.
"""
from __future__ import annotations

import ast
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import wave
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .latency import best_lag, changes as _changes, file_zero, render_midi
from .port_recorder import PortRecorder

RATE = 48000
CALM, TENSE = (0.8, -0.7), (-0.8, 0.9)
ROOT = Path(__file__).resolve().parents[2]
GODOT_PROJECT, GODOT_ADDON = ROOT / "tests/bindings/godot_audio_project", ROOT / "bindings/godot/godot3/addons"
UNITY_HARNESS, UNITY_CLIENT = ROOT / "tests/bindings/unity_audio/AudioHarness.cs", ROOT / "bindings/unity/Runtime/Client"


def _free_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, seconds: float, check) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise ConfigError(f"moodscore bench audio-latency: {what} did not happen in {seconds:g} s")


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        return data.reshape(-1, w.getnchannels()), w.getframerate()


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Events:
    """The engine's bar and phrase events over its WebSocket."""

    def __init__(self, port: int) -> None:
        from websockets.sync.client import connect

        self.ws = connect(f"ws://127.0.0.1:{port}", open_timeout=10, max_size=None)
        self.ws.send(json.dumps({"type": "subscribe", "events": ["bar", "phrase"]}))
        self.events: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for frame in self.ws:
                self.events.append(json.loads(frame))
        except Exception:  # closed: the session is over
            return

    def of(self, kind: str) -> list[dict]:
        return [e for e in list(self.events) if e.get("type") == kind]


def _unity_harness(folder: Path) -> Path | None:
    """The Unity client's .NET part and the test harness, built with Mono's mcs (None: no Mono)."""
    if not (shutil.which("mcs") and shutil.which("mono") and UNITY_HARNESS.is_file()):
        return None
    exe = folder / "AudioHarness.exe"
    subprocess.run(["mcs", "-langversion:7.2", "-target:exe", f"-out:{exe}", "-r:System.dll",
                    *map(str, sorted(UNITY_CLIENT.glob("*.cs"))), str(UNITY_HARNESS)],
                   check=True, capture_output=True, timeout=300)
    return exe


def _session(folder: Path, changes: int, godot: bool, unity: Path | None, model: str, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    name = f"moodscore-bench-{os.getpid()}"
    env = {**os.environ, "JACK_DEFAULT_SERVER": name, "JACK_NO_START_SERVER": "1"}
    osc_port, ws_port = _free_port(socket.SOCK_DGRAM), _free_port(socket.SOCK_STREAM)
    seconds = 14.0 + changes * 9.0
    out: dict = {"sends": [], "jack_wav": folder / "ports.wav", "godot_wav": folder / "godot.wav",
                 "unity_wav": folder / "unity.wav", "mid": folder / "engine.mid"}
    procs: list[subprocess.Popen] = []

    def start(cmd: list[str], log: str, **kw) -> subprocess.Popen:
        with open(folder / log, "wb") as f:
            proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, start_new_session=True, **kw)
        procs.append(proc)
        return proc

    def log(name: str) -> str:
        return (folder / name).read_text(errors="replace")

    with ExitStack() as stack:
        def stop_all() -> None:  # only what was started here, by its own process id
            for proc in reversed(procs):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)  # serve logs its closing stats
                    try:
                        proc.wait(15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait(5)

        stack.callback(stop_all)
        jackd = start(["jackd", "-n", name, "--no-realtime", "-d", "dummy", "-r", str(RATE), "-p", "256"],
                      "jackd.log")
        _wait("jackd starting", 15, lambda: jackd.poll() is None and subprocess.run(
            ["jack_lsp"], env=env, capture_output=True, text=True).stdout.count("system:") > 0)
        engine = start([sys.executable, "-m", "moodscore.cli", "serve", "--audio-device", "jack",
                        "--ws-audio", "--record", str(out["mid"]), "--osc-port", str(osc_port),
                        "--ws-port", str(ws_port), "--transition", "bar", "--model", model],
                       "serve.log")
        said = _wait("serve logging its audio latency", 60,
                     lambda: re.search(r"notes heard ([\d.]+) ms after", log("serve.log")))
        out["port_delay_s"] = float(said[1]) / 1e3  # type: ignore[index]
        events = _Events(ws_port)
        stack.callback(events.ws.close)
        from pythonosc.udp_client import SimpleUDPClient

        osc = SimpleUDPClient("127.0.0.1", osc_port)
        osc.send_message("/mood/va", [*CALM, 0.0])
        _wait("a calm phrase", 30, lambda: any(e["mood"] and e["mood"][1] < -0.3 for e in events.of("phrase")))
        recorder = PortRecorder(["PortAudio:out_0", "PortAudio:out_1"], seconds, server=name)
        stack.callback(recorder.close)
        out["jack_rec_started"] = time.perf_counter()
        recorder.start()
        if godot:
            project = folder / "godot"
            shutil.copytree(GODOT_PROJECT, project)
            shutil.copytree(GODOT_ADDON, project / "addons")
            start(["godot3-server", "--path", str(project), "--", str(ws_port), f"{seconds - 3:g}",
                   str(out["godot_wav"])], "godot.log")
        if unity is not None:
            start(["mono", str(unity), str(ws_port), f"{seconds - 3:g}", str(out["unity_wav"])], "unity.log")
        cpu0, t0 = _cpu_s(engine.pid), time.perf_counter()
        at = time.perf_counter() + 4.0
        for i in range(changes):
            at += float(rng.uniform(7.0, 9.0))
            time.sleep(max(0.0, at - time.perf_counter()))
            mood = TENSE if i % 2 == 0 else CALM
            wall, sent = time.time(), time.perf_counter()
            osc.send_message("/mood/va", [*mood, 0.0])
            out["sends"].append((sent, wall, mood))
        time.sleep(max(0.0, t0 + seconds - 2.0 - time.perf_counter()))
        out["cpu_per_s"] = (_cpu_s(engine.pid) - cpu0) / (time.perf_counter() - t0)
        for proc in procs[2:]:  # the recorders end by themselves
            proc.wait(30)
        if not recorder.done.wait(30):
            raise ConfigError("moodscore bench audio-latency: the JACK recording did not finish")
        recorder.save(out["jack_wav"])
        recorder.close()
        out["port_time"] = recorder.time_of
        out["bars"] = [e["time"] for e in events.of("bar")]
        out["phrases"] = events.of("phrase")
        stop_all()
        out["godot"] = out["unity"] = None
        if unity is not None:
            lines = [line for line in log("unity.log").splitlines() if line.startswith('{"')]
            out["unity"] = json.loads(lines[-1]) if lines else {"error": log("unity.log")[-2000:]}
        if godot:
            lines = [line for line in log("godot.log").splitlines() if line.startswith('{"')]
            out["godot"] = json.loads(lines[-1]) if lines else {"error": log("godot.log")[-2000:]}
        stopped = [line for line in log("serve.log").splitlines() if ": stopped: {" in line]
        out["stats"] = ast.literal_eval(stopped[-1].split("stopped: ", 1)[1]) if stopped else {}
    return out


def _quadrant(mood) -> tuple[bool, bool]:
    return mood[0] >= 0, mood[1] >= 0


def run(*, changes: int = 4, godot: bool = True, unity: bool = True, model: str = "lstm", seed: int = 0) -> None:
    missing = [tool for tool in ("jackd", "jack_lsp") if shutil.which(tool) is None]
    if missing:
        raise ConfigError(f"moodscore bench audio-latency needs JACK's tools ({', '.join(missing)} missing): "
                          "apt-get install jackd2")
    try:
        import jack  # noqa: F401  (the ports' recorder: say so before anything starts)
    except (ImportError, OSError) as err:
        raise ConfigError(f"moodscore bench audio-latency records the JACK ports with JACK-Client ({err}): "
                          "pip install JACK-Client (it is in the test extra)") from err
    godot = godot and shutil.which("godot3-server") is not None and GODOT_PROJECT.is_dir()
    with tempfile.TemporaryDirectory(prefix="moodscore-latency-") as tmp:
        harness = _unity_harness(Path(tmp)) if unity else None
        _report(_session(Path(tmp), changes, godot, harness, model, seed), godot, unity)


def _report(s: dict, godot: bool, unity: bool) -> None:
    sends = [(sent, _quadrant(mood)) for sent, _, mood in s["sends"]]
    offset = float(np.median([wall - sent for sent, wall, _ in s["sends"]]))  # system - engine clock
    # the engine's own turn: its first phrase in the new quadrant (at a bar: transition bar)
    turns = [min((p["start_time"] for p in s["phrases"] if p["mood"] and p["start_time"] > sent
                  and _quadrant(p["mood"]) == q), default=float("nan")) for sent, q in sends]
    print(f"{len(sends)} mood messages over OSC, each into the opposite quadrant (transition bar); the "
          f"engine's first phrase in the new mood began {_figures([t - sent for t, (sent, _) in zip(turns, sends)])} "
          f"after the message (the wait for the next bar)")

    audio, rate = _read_wav(s["jack_wav"])
    zero = file_zero(s["mid"], s["bars"])
    # audio[i + lag] ~ render[i], engine time zero + i / RATE; the recorder's first cycle comes
    # within the 1.5 s after it was started (it connects its ports first)
    first = round((s["jack_rec_started"] - zero) * RATE)
    ref = render_midi(s["mid"], RATE)
    lag = best_lag(audio, ref, -first - round(1.5 * RATE), -first)
    found = _changes(audio, rate, [sent - zero + lag / RATE for sent, _ in sends])
    music = [zero + c - lag / RATE for c in found]  # the engine time of each change found
    jack = [m + s["port_delay_s"] - sent for m, (sent, _) in zip(music, sends)]
    heard = [s["port_time"](c * rate) - sent for c, (sent, _) in zip(found, sends)]
    # the engine's claim checked where each change is: the recording lined up with the render
    # in the 2 s around it (underruns shift the whole-recording match), plus the logged delay,
    # against the ports' clock
    claim = [zero + (round(c * rate) - _local_lag(audio, ref, round(c * rate), lag, rate)) / RATE
             + s["port_delay_s"] - s["port_time"](c * rate) for c in found]
    print(f"at the JACK ports (serve --audio-device jack, jackd -d dummy -p 256, recorded by a JACK "
          f"client that notes when each cycle ran): the changed sound {_figures(heard)} after the "
          f"message, when its cycle handed it to the driver (a real device adds its playback latency); "
          f"by the engine's own account (the recording lined up with its render, plus the "
          f"{s['port_delay_s'] * 1e3:.1f} ms it logs to the ports): {_figures(jack)}; where each change "
          f"sounds, the engine's account less the ports' clock: {_figures(claim)}; the change "
          f"found {_figures([m - t for m, t in zip(music, turns)])} from the engine's turn")

    g = s["godot"]
    if g is not None and "music_time" in g:
        gaudio, grate = _read_wav(s["godot_wav"])
        # (system time, music_time(), audio_time()) at each beat: the recording runs on the audio
        # clock (from the recording's first sample), music time and the system clock follow it
        pairs = np.array([(sig[4] / 1e3 - offset, sig[5], sig[6]) for sig in g["signals"]
                          if len(sig) >= 7 and sig[6] > g["audio_time"]])

        def near(col: int, value: float) -> int:  # the last pair at or before value, else the first
            return max(0, int(np.searchsorted(pairs[:, col], value, side="right")) - 1)

        starts = []  # where in the recording the music reaches each message's engine time
        for sent, _ in sends:
            i = near(1, sent)
            starts.append(pairs[i, 2] + (sent - pairs[i, 1]) - g["audio_time"])
        found = _changes(gaudio, grate, starts)
        at_godot = []
        for c, (sent, _) in zip(found, sends):
            a = g["audio_time"] + c
            i = near(2, a)
            at_godot.append(pairs[i, 0] + (a - pairs[i, 2]) - sent)
        delay = pairs[:, 0] - pairs[:, 1]
        path = [t + float(np.interp(t, pairs[:, 1], delay)) - sent for t, (sent, _) in zip(turns, sends)]
        print(f"at the Godot 3 client (headless godot3-server, MoodscoreAudio, its Master bus through "
              f"AudioEffectRecord): the changed sound {_figures(at_godot)} after the message; the engine's "
              f"turn plus Godot's delay then: {_figures(path)}; Godot played "
              f"the music {_figures(list(delay), each=False)} after its engine time (buffer_seconds 0.15); "
              f"node underruns {g.get('underruns')}, lost frames {g.get('lost_frames')}, dropped to catch "
              f"up {g.get('dropped_frames')}")
    elif godot:
        print(f"at the Godot 3 client: no result ({str(g)[:300]})")
    u = s["unity"]
    if u is not None and "music_time" in u:
        uaudio, urate = _read_wav(s["unity_wav"])
        found = _changes(uaudio, urate, [sent - u["music_time"] for sent, _ in sends])
        # sample k is read k / rate after system_ms, as Unity's audio thread would read it
        at_unity = [u["system_ms"] / 1e3 - offset + c - sent for c, (sent, _) in zip(found, sends)]
        delay = u["system_ms"] / 1e3 - offset - u["music_time"]
        print(f"at the Unity client (its .NET part under Mono: an AudioJitterBuffer of 0.2 s read in "
              f"1024-frame blocks on a real-time clock, as OnAudioFilterRead would): the changed sound "
              f"{_figures(at_unity)} after the message, when the audio thread reads it; the engine's turn "
              f"plus its {delay * 1e3:.0f} ms delay: {_figures([t + delay - sent for t, (sent, _) in zip(turns, sends)])}; "
              f"underruns "
              f"{u.get('underruns')}, lost {u.get('lost')}, dropped {u.get('dropped')}")
    elif unity:
        print(f"at the Unity client: no result ({str(u)[:300]})")
    stats = s["stats"]
    print(f"engine process: {s['cpu_per_s'] * 1e3:.0f} ms CPU per second of music (synth, model, "
          f"transports: all of it); the session's closing stats: audio {stats.get('audio')}, "
          f"audio frames dropped {stats.get('audio_frames_dropped')}, scheduler lateness "
          f"{stats.get('lateness_ms')}")


def _local_lag(audio: np.ndarray, ref: np.ndarray, at: int, lag: int, rate: int) -> int:
    """The lag (``audio[i + lag] ~ ref[i]``) in the 2 s of ``audio`` around ``at``, within 0.1 s
    of ``lag``."""
    a, b = max(0, at - rate), min(len(audio), at + rate)
    r0 = max(0, a - lag - rate // 10)
    local = best_lag(audio[a:b], ref[r0:max(r0 + 1, b - lag + rate // 10)], -(a - r0) + lag - rate // 10,
                     -(a - r0) + lag + rate // 10)
    return a - r0 + local


def _figures(values: list[float], each: bool = True) -> str:
    v = np.array(values, dtype=float) * 1e3
    listed = f"; {', '.join(f'{x:.0f}' for x in v)}" if each else ""
    return f"p50 {np.nanmedian(v):.0f} ms (min {np.nanmin(v):.0f}, max {np.nanmax(v):.0f}{listed})"
