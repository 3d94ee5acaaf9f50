"""``moodscore serve`` end to end, as the issue's "Done when" describes it.

A new user starts ``moodscore serve`` against a synth, sends ``/mood/va`` from another terminal
and hears the music turn, calm and slow then tense and fast, within a bar, with no stuck notes on
Ctrl-C. Every part here is real: a private JACK server (dummy driver, ``jack_server`` in
``tests/conftest.py``), FluidSynth with the GM soundfont as the synth, ``moodscore serve`` in a
process of its own, liblo's ``oscsend`` as the OSC client, a websockets client subscribed to the
events, a python-osc server for ``--osc-reply``, a JACK MIDI receiver in its own process
(``tests/midi/jack_receiver.py``) that stamps every message it gets, and ``jack_rec`` (jackd2's
recorder) capturing FluidSynth's audio.

The tests share one running server and run in file order: the mood change, bad input, then
Ctrl-C, which ends it (a test that finds it ended starts a new one). Times are
``time.perf_counter`` (CLOCK_MONOTONIC), the clock of the engine's event times too.
Run with ``pytest -s`` to see the measured figures.
"""
from __future__ import annotations

import itertools
import json
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import wave
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import mido
import numpy as np
import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import ThreadingOSCUDPServer
from moodscore.engine.template import controls
from support import START_S, JackReceiver, ServerProcess, WsClient, free_port, wait_until

if TYPE_CHECKING:
    from conftest import JackServer

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
CALM, TENSE = (-0.7, -0.8), (-0.8, 0.9)
LOOKAHEAD_S = 0.2  # the conductor's default: events are scheduled this far ahead
STINGER_CHANNEL, PANIC_CCS = 3, (123, 120, 121, 64)


def jack_ports(kind: str | None = None) -> list[str]:
    """Port names on the test's JACK server; ``kind`` 'midi' or 'audio' filters by type."""
    out = subprocess.run(["jack_lsp", "-t"], check=False, capture_output=True, text=True, timeout=10).stdout
    ports, current = [], None
    for line in out.splitlines():
        if not line.startswith("\t"):
            current = line.strip()
        elif current and (kind is None or kind in line):
            ports.append(current)
    return ports


def jack_connect(source: str, destination: str) -> None:
    done = subprocess.run(["jack_connect", source, destination], check=False, capture_output=True, text=True,
                          timeout=10)
    assert done.returncode == 0, f"jack_connect {source} {destination}: {done.stderr}"


def oscsend(port: int, address: str, types: str, *args: object) -> float:
    """Send with liblo's command-line client; return when it was sent."""
    cmd = ["oscsend", "localhost", str(port), address, types, *map(str, args)]
    started = time.perf_counter()
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, f"{' '.join(cmd)}: {done.stderr}"
    return started  # the earliest it could have been sent


def rms(path: Path, skip: float = 0.0) -> float:
    """Root mean square of a 16-bit WAV file's samples after its first ``skip`` seconds."""
    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2, "jack_rec writes 16-bit PCM unless told otherwise"
        w.setpos(min(w.getnframes(), round(skip * w.getframerate())))
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    assert samples.size, f"{path} holds no audio"
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


class Recording:
    """``jack_rec`` capturing ``ports`` for ``seconds`` in the background."""

    def __init__(self, ports: list[str], seconds: int, path: Path) -> None:
        self.path, self.started = path, time.perf_counter()
        self.proc = subprocess.Popen(["jack_rec", "-f", str(path), "-d", str(seconds), *ports],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def rms(self, skip: float = 0.0, timeout: float = 30.0) -> float:
        out, _ = self.proc.communicate(timeout=timeout)
        assert self.proc.returncode == 0, f"jack_rec failed ({self.proc.returncode}): {out}"
        return rms(self.path, skip)


def stuck_notes(messages: list[mido.Message]) -> dict[tuple[int, int], int]:
    """(channel, pitch) -> note-ons never ended, in order; note-offs of notes struck before the
    capture began are ignored rather than allowed to cancel later ones."""
    count: dict[tuple[int, int], int] = {}
    for m in messages:
        if m.type in ("note_on", "note_off"):
            key = (m.channel, m.note)
            if m.type == "note_on" and m.velocity > 0:
                count[key] = count.get(key, 0) + 1
            else:
                count[key] = max(0, count.get(key, 0) - 1)
    return {k: n for k, n in count.items() if n}


def notes_sounding(got: list[tuple[float, mido.Message]], lo: float, hi: float) -> int:
    """How many notes sounded at some time between ``lo`` and ``hi`` (by arrival times)."""
    started: dict[tuple[int, int], list[float]] = {}
    count = 0
    for at, m in got:
        if m.type in ("note_on", "note_off"):
            ons = started.setdefault((m.channel, m.note), [])
            if m.type == "note_on" and m.velocity > 0:
                ons.append(at)
            elif ons:
                count += ons.pop(0) < hi and at > lo
    return count + sum(on < hi for ons in started.values() for on in ons)


def panic_missing(messages: list[mido.Message]) -> set[tuple[int, int]]:
    """(channel, cc) of the panic (CC 123, 120, 121 and 64, value 0, on 16 channels) not seen."""
    seen = {(m.channel, m.control) for m in messages
            if m.type == "control_change" and m.value == 0}
    return {(ch, cc) for ch in range(16) for cc in PANIC_CCS} - seen


def rejects_logged(log: str) -> Counter[str]:
    """How many rejects of each kind ``moodscore serve`` logged (its first ten of each kind)."""
    return Counter(re.findall(r"rejected (\w+) input #\d+", log))


# --- real parts around the server ----------------------------------------------------------

class FluidSynth:
    """FluidSynth in server mode (``-i`` alone would exit at once) on JACK, MIDI in and audio out."""

    def __init__(self, log_path: Path) -> None:
        self.name = f"fluidsynth-{secrets.token_hex(3)}"
        self.log_path = log_path
        self.shell_port = free_port(socket.SOCK_STREAM)
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                ["fluidsynth", "-s", "-i", "-o", f"shell.port={self.shell_port}", "-a", "jack",
                 "-m", "jack", "-o", f"midi.jack.id={self.name}", "-o", f"audio.jack.id={self.name}",
                 "-o", "audio.jack.autoconnect=0", "-r", "48000", "-g", "0.8", str(SOUNDFONT)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        try:  # the JACK ports come after the soundfont has loaded, the shell port after them
            self.midi_in = wait_until(lambda: self._ports("midi"), START_S,
                                      "FluidSynth MIDI input", self.why)[0]
            self.audio_out = wait_until(lambda: self._ports("audio"), START_S,
                                        "FluidSynth audio outputs", self.why)
            wait_until(self._shell_answers, START_S, "FluidSynth shell", self.why)
        except BaseException:
            self.close()
            raise

    def _ports(self, kind: str) -> list[str]:
        if self.proc.poll() is not None:
            raise AssertionError(f"FluidSynth exited with {self.proc.returncode}. {self.why()}")
        return [p for p in jack_ports(kind) if p.startswith(f"{self.name}:")]

    def _shell_answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.shell_port), timeout=5) as s:
                s.sendall(b"fonts\n")
                return SOUNDFONT.name.encode() in s.recv(4096)
        except OSError:
            return False

    def why(self) -> str:
        return f"FluidSynth's log:\n{self.log_path.read_text(errors='replace')}"

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class OscReplies:
    """A python-osc server on a free port: what ``--osc-reply`` sends, as (arrival, address, args)."""

    def __init__(self) -> None:
        self.got: list[tuple[float, str, tuple]] = []
        dispatcher = Dispatcher()
        dispatcher.set_default_handler(
            lambda address, *args: self.got.append((time.perf_counter(), address, args)))
        self.server = ThreadingOSCUDPServer(("127.0.0.1", 0), dispatcher)
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(10)


class Served(ServerProcess):
    """``moodscore serve`` on a virtual JACK port, played into FluidSynth and a receiver."""

    def __init__(self, synth: FluidSynth, folder: Path, logs: Path) -> None:
        self.folder, self.record = folder, folder / "rec.mid"
        self.log_path = logs / f"serve-{secrets.token_hex(3)}.log"
        self.virtual = f"moodscore-test-{secrets.token_hex(3)}"
        self.osc_port, self.ws_port = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
        self.osc_replies = OscReplies()
        cmd = [sys.executable, "-m", "moodscore.cli", "serve", "--midi-api", "jack",
               "--virtual-port", self.virtual, "--record", str(self.record),
               "--osc-port", str(self.osc_port), "--ws-port", str(self.ws_port),
               "--osc-reply", f"127.0.0.1:{self.osc_replies.port}"]
        self.receiver: JackReceiver | None = None
        self.ws: WsClient | None = None
        self.started = time.perf_counter()
        super().__init__(cmd, self.log_path, "playing;", "moodscore serve")
        try:
            self.ready_s = time.perf_counter() - self.started
            port = wait_until(lambda: [p for p in jack_ports("midi")
                                       if p.endswith(f":{self.virtual}")],
                              10, "the virtual JACK port", lambda: str(jack_ports()))[0]
            jack_connect(port, synth.midi_in)
            self.receiver = JackReceiver(connect=port, start_s=START_S)
            self.ws = WsClient(self.ws_port)
        except BaseException:
            self.close()
            raise

    def close(self) -> int | None:
        code = super().close()
        for part in (self.ws, self.receiver, self.osc_replies):
            if part is not None:
                part.close()
        return code


class Stage:
    """FluidSynth for the module, and one ``moodscore serve`` at a time on top of it."""

    def __init__(self, jack: JackServer, folder: Path) -> None:
        self.jack, self.folder = jack, folder
        (folder / "logs").mkdir()
        self.synth = FluidSynth(folder / "logs" / "fluidsynth.log")
        # Nothing plays into FluidSynth yet: this is what silence sounds like. Measure it before
        # any engine starts (serve is ready within a second, sooner than the recording ends).
        self.silence = Recording(self.synth.audio_out, 1, folder / "logs" / "silence.wav")
        self.silence_rms = self.silence.rms()
        self.served: Served | None = None
        self.runs = 0

    def serve(self) -> Served:
        if self.served is None or self.served.proc.poll() is not None:
            if self.served is not None:
                self.served.close()
            self.runs += 1
            run = self.folder / f"run{self.runs}"
            run.mkdir()
            self.served = Served(self.synth, run, self.folder / "logs")
        return self.served

    def close(self) -> None:
        if self.served is not None:
            self.served.close()
        if self.silence.proc.poll() is None:
            self.silence.proc.kill()
            self.silence.proc.communicate()
        self.synth.close()


@pytest.fixture(scope="module")
def stage(jack_server: JackServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    for tool in ("fluidsynth", "jack_rec", "jack_connect", "oscsend"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not on PATH: apt-get install -y jackd2 fluidsynth liblo-tools",
                        pytrace=False)
    if not SOUNDFONT.exists():
        pytest.fail(f"{SOUNDFONT} is missing: apt-get install -y fluid-soundfont-gm", pytrace=False)
    s = Stage(jack_server, tmp_path_factory.mktemp("serve"))
    try:
        yield s
    finally:
        s.close()


# --- the tests -----------------------------------------------------------------------------

def bpm_between(beats: list[tuple[float, dict]]) -> list[float]:
    """Tempo measured from consecutive beat events' engine times."""
    times = [e["time"] for _, e in beats]
    return [60.0 / (b - a) for a, b in itertools.pairwise(times)]


def test_the_music_turns_from_calm_and_slow_to_tense_and_fast_within_a_bar(stage: Stage) -> None:
    served = stage.serve()
    ws, receiver = served.ws, served.receiver
    assert ws is not None and receiver is not None
    print(f"\nmoodscore serve ready in {served.ready_s:.1f} s (jackd realtime: {stage.jack.realtime})")
    xruns = stage.jack.xruns()

    calm, tense = controls(*CALM), controls(*TENSE)  # what the template says they sound like
    t_calm = oscsend(served.osc_port, "/mood/va", "ff", *CALM)

    def calm_bars(count: int) -> list[dict]:
        # Bars at the calm tempo began after the glide (1 s by default) was over.
        bars = [e for _, e in ws.of("bar", t_calm)
                if e["tempo"] == pytest.approx(calm.tempo_bpm, abs=0.01)]
        return bars if len(bars) >= count else []

    first_calm_bar = wait_until(lambda: calm_bars(1), 20, "a calm bar",
                                lambda: str(ws.events[-5:]))[0]
    calm_sound = Recording(stage.synth.audio_out, 2, served.folder.parent / "logs" / "calm.wav")
    second = wait_until(lambda: calm_bars(2), 20, "a second calm bar")[1]
    # Send the tense mood a beat into the second calm bar: mid-bar, as a game would.
    wait_until(lambda: [e for _, e in ws.of("beat", t_calm) if e["bar"] == second["bar"]
                        and e["beat"] == 1], 10, "beat 1 of the second calm bar")
    t_tense = oscsend(served.osc_port, "/mood/va", "ff", *TENSE)

    def tense_phrase() -> tuple[float, dict] | None:
        return next(((at, e) for at, e in ws.of("phrase", t_tense)
                     if e["mood"] == pytest.approx(list(TENSE), abs=1e-6)), None)

    at_phrase, phrase = wait_until(tense_phrase, 15, "phrase for the tense mood",
                                   lambda: str([e for _, e in ws.events[-8:]]))
    tense_sound = Recording(stage.synth.audio_out, 2, served.folder.parent / "logs" / "tense.wav")
    wait_until(lambda: len([1 for _, e in ws.of("beat") if e["time"] >= phrase["start_time"]]) >= 5,
               10, "five beats of the tense phrase")
    calm_rms, tense_rms, silence_rms = calm_sound.rms(), tense_sound.rms(), stage.silence_rms

    # Calm and slow: the beats' tempo and the time between them, and the phrase's mood.
    calm_beats = [(at, e) for at, e in ws.of("beat", t_calm)
                  if first_calm_bar["time"] <= e["time"] < t_tense]
    calm_bpm = calm_beats[-1][1]["tempo"]
    assert calm_bpm < 100 and len(calm_beats) >= 5, calm_beats
    assert all(e["tempo"] == calm_bpm for _, e in calm_beats), calm_beats
    assert max(bpm_between(calm_beats)) < 100
    calm_phrases = [e for _, e in ws.of("phrase", t_calm) if e["start_time"] < t_tense]
    assert any(e["mood"] == pytest.approx(list(CALM), abs=1e-6) for e in calm_phrases)

    # Tense and fast within one calm bar plus a beat of sending.
    bar_s, beat_s = 4 * 60 / calm_bpm, 60 / calm_bpm
    after = ws.of("beat", t_tense)
    first_fast = next(i for i, (_, e) in enumerate(after) if e["tempo"] > 150)
    at_fast, fast = after[first_fast]
    fast_beats = after[first_fast:]
    assert at_fast - t_tense <= bar_s + beat_s, (at_fast - t_tense, bar_s + beat_s)
    assert min(e["tempo"] for _, e in fast_beats) > 150
    assert fast_beats[-1][1]["tempo"] == pytest.approx(tense.tempo_bpm, abs=0.01)
    assert min(bpm_between(fast_beats)) > 150, bpm_between(fast_beats)
    # The new material: made for the tense mood, at a bar line, within a bar and the lookahead.
    assert at_phrase - t_tense <= bar_s + LOOKAHEAD_S, (at_phrase - t_tense, bar_s)
    assert not phrase["variation"] and phrase["tempo"] > 150
    assert phrase["start_time"] in [e["time"] for _, e in ws.of("bar", t_tense)]

    # What the synth was sent: louder notes (velocity) once the tense phrase sounds.
    def velocities(lo: float, hi: float, channels: set[int]) -> list[int]:
        return [m.velocity for at, m in receiver.got if lo <= at < hi and m.type == "note_on"
                and m.velocity > 0 and m.channel in channels]

    melody_and_chords = {0, 1}
    calm_vel = velocities(first_calm_bar["time"], t_tense, melody_and_chords)
    tense_vel = velocities(phrase["start_time"], time.perf_counter(), melody_and_chords)
    assert calm_vel and tense_vel, (calm_vel, tense_vel)
    # performed (a swell over the phrase, accents, humanisation) around each mood's velocity
    assert np.median(tense_vel) > np.percentile(calm_vel, 90), (calm_vel, tense_vel)
    assert np.mean(tense_vel) > np.mean(calm_vel) + 15, (calm_vel, tense_vel)
    for vel, mood in ((velocities(first_calm_bar["time"], t_tense, {0}), calm),
                      (velocities(phrase["start_time"], time.perf_counter(), {0}), tense)):
        assert abs(np.median(vel) - mood.velocity) <= 0.15 * mood.velocity, (vel, mood.velocity)

    # ... other instruments, and drums only once tense.
    def programs(lo: float, hi: float) -> dict[int, int]:
        return {m.channel: m.program for at, m in receiver.got
                if lo <= at < hi and m.type == "program_change"}

    calm_programs = programs(t_calm, t_tense)
    tense_programs = programs(t_tense, time.perf_counter())
    assert calm_programs.get(0) == calm.programs.melody, calm_programs
    assert tense_programs.get(0) == tense.programs.melody, tense_programs
    drums = [at for at, m in receiver.got if at >= first_calm_bar["time"] and m.type == "note_on"
             and m.channel == 9 and m.velocity]
    assert drums and min(drums) >= t_tense, "drums are for excited moods only"

    # FluidSynth sounded: silent before anything was connected to it, sounding while notes
    # played, and louder once tense (+10 dB in the template, and overdriven guitars).
    assert silence_rms < 1.0, silence_rms
    assert notes_sounding(receiver.got, calm_sound.started, calm_sound.started + 2)
    assert calm_rms > 100 and tense_rms > calm_rms, (calm_rms, tense_rms)

    # --osc-reply: every beat and bar the WebSocket client saw came by OSC too, at the same time.
    osc_beats = {tuple(args): at for at, addr, args in served.osc_replies.got if addr == "/mood/beat"}
    osc_bars = {args[0]: at for at, addr, args in served.osc_replies.got if addr == "/mood/bar"}
    for at, e in ws.of("beat", t_calm)[:-1]:
        assert (e["bar"], e["beat"]) in osc_beats, f"no /mood/beat {e['bar']} {e['beat']}"
        assert abs(osc_beats[(e["bar"], e["beat"])] - at) < 0.1
    assert {e["bar"] for _, e in ws.of("bar", t_calm)[:-1]} <= set(osc_bars)

    print(f"calm {calm_bpm:.0f} BPM (measured {min(bpm_between(calm_beats)):.1f}-"
          f"{max(bpm_between(calm_beats)):.1f}), velocities {sorted(set(calm_vel))}; tense: first "
          f"fast beat at {fast['tempo']:.0f} BPM (measured {min(bpm_between(fast_beats)):.1f}-"
          f"{max(bpm_between(fast_beats)):.1f}), velocities {sorted(set(tense_vel))}, "
          f"{len(drums)} drum hits after the change; programs {calm_programs} -> {tense_programs}")
    print(f"tense /mood/va -> first fast beat {1e3 * (at_fast - t_tense):.0f} ms, -> tense phrase "
          f"event {1e3 * (at_phrase - t_tense):.0f} ms (it starts "
          f"{1e3 * (phrase['start_time'] - t_tense):.0f} ms after sending); bound: one calm bar "
          f"{1e3 * bar_s:.0f} ms (+ a beat {1e3 * beat_s:.0f} ms / + lookahead)")
    print(f"FluidSynth RMS (16-bit): unconnected {silence_rms:.1f}, calm {calm_rms:.0f}, tense "
          f"{tense_rms:.0f} ({notes_sounding(receiver.got, calm_sound.started, calm_sound.started + 2)}"
          f" notes sounded in the calm recording); OSC replies {len(osc_beats)} beats, {len(osc_bars)} bars; "
          f"jackd xruns during the test {stage.jack.xruns() - xruns}")


def test_bad_input_is_answered_and_the_music_carries_on(stage: Stage) -> None:
    served = stage.serve()
    ws, receiver = served.ws, served.receiver
    assert ws is not None and receiver is not None

    # Raw garbage over UDP, and an OSC message with bytes that are not UTF-8: counted, logged.
    garbage = [b"garbage", b"\xff" * 16, b"/\xff\x00\x00,\x00\x00\x00",
               b"#bundle\x00" + b"\x00" * 8 + b"\x00\x00\x00\x08" + b"/\xff\x00\x00,\x00\x00\x00"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for datagram in garbage:
            udp.sendto(datagram, ("127.0.0.1", served.osc_port))
    # The OSC input still works: a stinger sent after the garbage is played.
    t_osc = oscsend(served.osc_port, "/mood/stinger", "s", "hit")
    wait_until(lambda: [m for _, m in receiver.since(t_osc)
                        if m.type == "note_on" and m.channel == STINGER_CHANNEL],
               10, "stinger notes after an OSC stinger sent after garbage",
               lambda: served.log()[-3000:])
    rejected = rejects_logged(served.log())["osc"]
    assert rejected == len(garbage), served.log()[-3000:]
    assert "Traceback" not in served.log(), served.log()[-3000:]

    bad = {
        "out of range": ('{"type":"va","valence":2,"arousal":0}',
                         "valence must be a finite number in [-1, 1], got 2"),
        "not JSON": ("not json", "not JSON"),
        "unknown type": ('{"type":"nope"}', "allowed: va, valence, arousal, stinger"),
        "oversized": (json.dumps({"type": "va", "valence": 0, "arousal": 0, "pad": "x" * 20000}),
                      "at most 16384 allowed"),
        "NaN": ('{"type":"va","valence":NaN,"arousal":0}',
                "valence must be a finite number in [-1, 1], got nan"),
    }
    logged_before = rejects_logged(served.log())
    for what, (text, says) in bad.items():
        reply = ws.request(text)
        assert reply["type"] == "error" and says in reply["error"], (what, reply)
    logged = rejects_logged(served.log()) - logged_before
    assert logged == Counter({"schema": 3, "json": 1, "size": 1}), logged  # counted and logged
    t_after = time.perf_counter()
    wait_until(lambda: len(ws.of("beat", t_after)) >= 2, 10, "beats after the bad input")

    # A stinger is acknowledged (once the OSC one has cooled down); a second one is refused.
    time.sleep(max(0.0, t_osc + 2.1 - time.perf_counter()))
    t_ws = time.perf_counter()
    assert ws.request({"type": "stinger", "name": "hit"}) == {"type": "ack"}
    refused = ws.request({"type": "stinger", "name": "hit"})
    assert refused["type"] == "error" and "cooling down" in refused["error"], refused
    wait_until(lambda: [m for _, m in receiver.since(t_ws)
                        if m.type == "note_on" and m.channel == STINGER_CHANNEL],
               10, "stinger notes after the WebSocket stinger")
    assert served.proc.poll() is None and ws.closed is None
    print(f"\nreplies: {refused['error']!r}; rejected OSC packets logged: {rejected}")


def test_ctrl_c_ends_every_note_and_keeps_the_recording(stage: Stage) -> None:
    served = stage.serve()
    receiver = served.receiver
    assert receiver is not None
    wait_until(lambda: [m for _, m in receiver.got if m.type == "note_on" and m.velocity], 20,
               "a note played")
    t_int = time.perf_counter()
    served.proc.send_signal(signal.SIGINT)
    try:
        code = served.proc.wait(5)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running 5 s after SIGINT:\n{served.log()[-3000:]}") from None
    exit_s = time.perf_counter() - t_int
    assert code == 0, served.log()[-3000:]
    time.sleep(0.2)  # the receiver drains what JACK delivered in the last cycles
    got = [m for _, m in receiver.got]
    after = [m for _, m in receiver.since(t_int)]
    assert stuck_notes(got) == {}, f"{stuck_notes(got)}; jackd xruns: {stage.jack.xruns()}"
    assert panic_missing(after) == set(), sorted(panic_missing(after))
    last_panic = max(i for i, m in enumerate(got) if m.type == "control_change")
    assert not [m for m in got[last_panic:] if m.type == "note_on" and m.velocity]
    # No note left sounding in the synth either: once the reverb has died away (half a second;
    # measured here: RMS 80 just after the panic, under 3 half a second on) it is silent, where
    # one held note (strings, clarinet, bass, piano) measured 80 to 1400 a second after it began.
    quiet = Recording(stage.synth.audio_out, 1, served.folder.parent / "logs" / "after.wav")
    after_rms = quiet.rms(skip=0.5)
    assert after_rms < 10, after_rms

    recorded = mido.MidiFile(served.record)
    messages = [m for m in recorded if not m.is_meta]
    notes = [m for m in messages if m.type == "note_on" and m.velocity]
    assert notes and stuck_notes(messages) == {}
    assert panic_missing(messages) == set()
    assert sorted(p.name for p in served.folder.iterdir()) == ["rec.mid"]  # no temporary files
    summary = served.summary()
    print(f"\nSIGINT -> exit 0 in {exit_s:.2f} s; {len(notes)} notes recorded, "
          f"{len(got)} MIDI messages received; FluidSynth RMS after: {after_rms:.1f}; "
          f"server: {summary}")


def test_serve_without_a_midi_output_says_which_exist(stage: Stage) -> None:
    cmd = [sys.executable, "-m", "moodscore.cli", "serve", "--midi-api", "jack",
           "--osc-port", str(free_port(socket.SOCK_DGRAM)),
           "--ws-port", str(free_port(socket.SOCK_STREAM))]
    started = time.perf_counter()
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    took = time.perf_counter() - started
    assert done.returncode == 2, done
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0] == "moodscore: no MIDI output chosen. Outputs that exist now:", done.stderr
    assert f"  {stage.synth.midi_in}" in lines  # FluidSynth's input is one to pick
    assert "--midi-port NAME" in lines[-1] and "--virtual-port NAME" in lines[-1] \
        and "--record out.mid" in lines[-1]
    listed = [line.strip() for line in lines[1:-1]]
    assert listed and set(listed) <= set(jack_ports("midi")), (listed, jack_ports("midi"))
    print(f"\n{done.stderr.strip()}\n(status 2 after {took:.1f} s)")


def test_serve_opens_with_a_theme_and_a_stop_at_the_phrase_closes_on_the_tonic(tmp_path: Path) -> None:
    """``serve --theme`` (recording only, no synth needed); ``/mood/stop s phrase`` from oscsend
    ends on a cadence and a final tonic chord at the phrase boundary, then the panic and exit."""
    theme = tmp_path / "ode.abc"
    theme.write_text("M:4/4\nL:1/4\nK:G\nBBcd|dcBA|GGAB|B3/2A/2 A2|\n")
    record, osc = tmp_path / "rec.mid", free_port(socket.SOCK_DGRAM)
    cmd = [sys.executable, "-m", "moodscore.cli", "serve", "--record", str(record), "--theme", str(theme),
           "--osc-port", str(osc), "--ws-port", str(free_port(socket.SOCK_STREAM)), "--exit-on-stop"]
    served = ServerProcess(cmd, tmp_path / "serve.log", "playing;", "moodscore serve")
    try:
        time.sleep(3.0)
        t_stop = oscsend(osc, "/mood/stop", "s", "phrase")
        code = served.proc.wait(40)  # at most one phrase and the final bar at the neutral tempo
        took = time.perf_counter() - t_stop
    finally:
        served.close()
    assert code == 0, served.log()[-2000:]
    mid = mido.MidiFile(record)
    messages = [m for m in mid if not m.is_meta]
    assert stuck_notes(messages) == {} and panic_missing(messages) == set()
    melody = [m.note for m in messages if m.type == "note_on" and m.velocity and m.channel == 0]
    assert [p % 12 for p in melody[:4]] == [4, 4, 5, 7]  # the theme, moved to C
    assert melody[-1] % 12 == 0  # it ends on the tonic
    t, last_on, pad_at_end = 0.0, 0.0, set()
    for m in mid:
        t += m.time
        if m.type == "note_on" and m.velocity:
            last_on = t
    t = 0.0
    for m in mid:
        t += m.time
        if m.type == "note_on" and m.velocity and m.channel == 1 and abs(t - last_on) < 0.05:
            pad_at_end.add(m.note % 12)
    assert {0, 4, 7} <= pad_at_end, pad_at_end  # the final chord is the tonic triad
    print(f"\nstop at phrase -> closed and exited {took:.1f} s later; {len(melody)} melody notes")
