"""The Unity binding's pure .NET client (``bindings/unity/Runtime/Client``), compiled with Mono.

Mono's ``mcs`` builds the client together with a console harness
(``tests/bindings/unity_harness/Harness.cs``) that reads commands on stdin and writes JSON
lines; ``mono`` runs it. Every part is real: the OSC bytes are checked against python-osc's own
builder and parser; the rate limit the Unity component uses is fed 1.5 s of 60 fps frames; a real
``moodscore serve`` (``support.Engine``) receives the OSC and WebSocket messages and must apply
them (phrases carry the mood, beats carry the tempo, the stinger is in the recording; a phrase
opens with the theme sent, and a stop at the phrase closes on a final bar at a phrase boundary,
over each transport); and a websockets server stands in for an engine that fragments frames,
refuses a message and drops the connection. The MonoBehaviour on top needs Unity, so only the
package's shape (meta files, asmdefs, manifest) is checked for it.

Needs Debian's mono-mcs and mono-runtime; fails (never skips) without them.
"""
from __future__ import annotations

import json
import queue
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import mido
import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from websockets.sync.server import ServerConnection, serve

from support import Engine, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "bindings" / "unity"
CLIENT = PACKAGE / "Runtime" / "Client"
HARNESS = Path(__file__).parent / "unity_harness" / "Harness.cs"
STINGER_CHANNEL = 3  # MIDI channel 4
ODE = "M:4/4\nL:1/4\nK:G\nBBcd|dcBA|"  # in the neutral mood's C mixolydian it opens E E F G
ACCENTED = "K:D\n% d\u00e9j\u00e0\nd|"  # UTF-8 in an OSC string: padded by its bytes
ARPEGGIO = "M:4/4\nL:1/4\nK:C\ncGEG|cGEC|"  # opens C G E G


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not on PATH: the Unity binding's tests build and run the C# client "
                    f"with Mono: apt-get install -y mono-mcs mono-runtime (missing: {package})",
                    pytrace=False)
    return path


@pytest.fixture(scope="module")
def harness_exe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mcs, _ = _tool("mcs", "mono-mcs"), _tool("mono", "mono-runtime")
    out = tmp_path_factory.mktemp("unity") / "Harness.exe"
    # C# 7.2 at most, as Mono 6.8's mcs takes it; warnings are errors, so the client stays clean.
    # ClientWebSocket is in System.dll of Mono's 4.5 profile: no other references are needed.
    cmd = [mcs, "-langversion:7.2", "-warn:4", "-warnaserror+", "-target:exe", f"-out:{out}",
           "-r:System.dll", *map(str, sorted(CLIENT.glob("*.cs"))), str(HARNESS)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"mcs failed:\n{done.stdout}\n{done.stderr}"
    return out


class Harness:
    """``mono Harness.exe``: commands in, JSON lines out, each stamped with its arrival time."""

    def __init__(self, exe: Path, osc_port: int, ws_port: int) -> None:
        self.proc = subprocess.Popen(["mono", str(exe), str(osc_port), str(ws_port)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines: list[tuple[float, dict]] = []
        self.stderr: list[str] = []
        self.done: queue.Queue[dict] = queue.Queue()
        self.count = 0
        self._readers = [threading.Thread(target=self._read, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for reader in self._readers:
            reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                data = json.loads(line)
            except ValueError:
                data = {"unparsed": line}  # kept, to show in a failure
            self.lines.append((time.perf_counter(), data))
            if "done" in data:
                self.done.put(data)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        self.stderr.extend(self.proc.stderr)

    def __call__(self, command: str, timeout: float = 15) -> dict:
        """Run one command; its result (``exception`` and ``message`` if it threw)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        self.count += 1
        try:
            result = self.done.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"harness gave no result for {command!r}; it said {self.lines[-5:]}, "
                                 f"stderr: {''.join(self.stderr)[-2000:]}") from None
        assert result["done"] == self.count, (command, result)
        return result

    def ok(self, command: str) -> dict:
        result = self(command)
        assert "exception" not in result, (command, result)
        return result

    def events(self, kind: str, since: float = 0.0) -> list[dict]:
        return [e for at, e in list(self.lines) if e.get("event") == kind and at >= since]

    def quit(self) -> int:
        """Close cleanly; the exit code."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            return self.proc.wait(15)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
            for reader in self._readers:
                reader.join(5)


@pytest.fixture
def udp() -> Iterator[socket.socket]:
    """A UDP socket standing in for the engine's OSC port."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        yield sock


def built(address: str, *args: tuple[str, object]) -> bytes:
    builder = OscMessageBuilder(address)
    for osc_type, value in args:
        builder.add_arg(value, osc_type)
    return builder.build().dgram


# --- OSC bytes --------------------------------------------------------------------------------

ENCODINGS = [  # address, types, arguments as the harness reads them, python-osc's typed arguments
    ("/mood/va", "ff", "0.5 -0.25", [("f", 0.5), ("f", -0.25)]),
    ("/mood/va", "fff", "-0.7 0.9 2", [("f", -0.7), ("f", 0.9), ("f", 2.0)]),
    ("/mood/valence", "f", "0.3", [("f", 0.3)]),
    ("/mood/tempo", "f", "96", [("f", 96.0)]),
    ("/mood/stinger", "s", "hit", [("s", "hit")]),  # 3 characters: one NUL makes 4
    ("/mood/stinger", "s", "rise", [("s", "rise")]),  # 4 characters: four NULs
    ("/mood/stinger", "s", "victory", [("s", "victory")]),
    ("/mood/transition", "s", "phrase", [("s", "phrase")]),
    ("/mood/play", "-", "", []),  # type tag "," alone
    ("/mood/intensity", "ff", "0.7 2", [("f", 0.7), ("f", 2.0)]),
    ("/mood/style", "s", "orchestral", [("s", "orchestral")]),
    ("/a", "if", "-2 1e-3", [("i", -2), ("f", 1e-3)]),
    ("/mood/some_longer_address", "isf", "2147483647 x_y-z -1", [("i", 2**31 - 1), ("s", "x_y-z"), ("f", -1.0)]),
]


@pytest.mark.parametrize("address, types, args, expected", ENCODINGS)
def test_osc_encoding_is_byte_exact_with_python_osc(harness_exe, address, types, args, expected):
    harness = Harness(harness_exe, 9, 9)
    try:
        dgram = bytes.fromhex(harness.ok(f"encode {address} {types} {args}")["hex"])
    finally:
        assert harness.quit() == 0
    assert dgram == built(address, *expected)
    assert len(dgram) % 4 == 0
    message = OscMessage(dgram)
    assert message.address == address
    assert message.params == pytest.approx([value for _, value in expected], rel=1e-7)


def test_osc_client_sends_each_message_as_python_osc_builds_it(harness_exe, udp):
    harness = Harness(harness_exe, udp.getsockname()[1], 9)
    calls = [
        ("va 0.5 -0.25", built("/mood/va", ("f", 0.5), ("f", -0.25))),
        ("va 0.5 -0.25 1.5", built("/mood/va", ("f", 0.5), ("f", -0.25), ("f", 1.5))),
        ("valence -1", built("/mood/valence", ("f", -1.0))),
        ("arousal 1", built("/mood/arousal", ("f", 1.0))),
        ("stinger victory", built("/mood/stinger", ("s", "victory"))),
        ("transition immediate", built("/mood/transition", ("s", "immediate"))),
        ("tempo 0", built("/mood/tempo", ("f", 0.0))),
        ("tempo 140", built("/mood/tempo", ("f", 140.0))),
        ("play", built("/mood/play")),
        ("stop", built("/mood/stop")),
        ("intensity 0.7", built("/mood/intensity", ("f", 0.7))),
        ("intensity 1 2", built("/mood/intensity", ("f", 1.0), ("f", 2.0))),
        ("style chiptune", built("/mood/style", ("s", "chiptune"))),
        ("stop phrase", built("/mood/stop", ("s", "phrase"))),
        ("stop bar", built("/mood/stop", ("s", "bar"))),
        ("stop now", built("/mood/stop", ("s", "now"))),
        ("stop null", built("/mood/stop")),
        (f"theme {quote(ODE, safe='')}", built("/mood/theme", ("s", ODE))),
        (f"theme {quote(ACCENTED, safe='')}", built("/mood/theme", ("s", ACCENTED))),
    ]
    try:
        for call, expected in calls:
            harness.ok(f"osc {call}")
            assert udp.recv(2048) == expected, call
    finally:
        assert harness.quit() == 0


# --- the rate limit MoodscoreEmitter uses -----------------------------------------------------

def test_throttle_sends_changes_at_most_n_per_second_and_always_the_last(harness_exe):
    # 1.5 s at 60 fps: valence ramps for 0.5 s (a change every frame), then holds at 0
    frames = [(i / 60, -1 + i / 30 if i < 30 else 0.0, 0.2) for i in range(90)]
    words = [f"{t:.6f},{v:.6f},{a}" for t, v, a in frames] + ["reset", "1.6,0,0.2"]  # the same mood again
    harness = Harness(harness_exe, 9, 9)
    try:
        sent = harness.ok(f"throttle 10 {' '.join(words)}")["sent"]
    finally:
        assert harness.quit() == 0
    *throttled, after_reset = sent
    assert throttled[0] == 0 and after_reset == len(words) - 1, sent
    times = [frames[i][0] for i in throttled]
    assert all(b - a >= 0.1 - 1e-9 for a, b in zip(times, times[1:], strict=False)), times  # at most 10 a second
    assert 5 <= len(throttled) <= 7, times  # but no fewer than the rate allows while it changes
    assert frames[throttled[-1]][1:] == frames[-1][1:] and times[-1] <= 0.5 + 0.1 + 1 / 60, times  # the last, soon
    assert all(frames[i][1] != frames[j][1] for i, j in zip(throttled, throttled[1:], strict=False))  # only changes


# --- bad input --------------------------------------------------------------------------------

BAD = [  # call, exception, words its message must hold
    ("va 2 0", "ArgumentOutOfRangeException", "valence must be a finite number in [-1, 1]"),
    ("va 0 -1.01", "ArgumentOutOfRangeException", "arousal must be a finite number in [-1, 1]"),
    ("va NaN 0", "ArgumentOutOfRangeException", "valence must be a finite number in [-1, 1]"),
    ("va 0 0 61", "ArgumentOutOfRangeException", "glide must be a finite number of seconds in [0, 60]"),
    ("valence Infinity", "ArgumentOutOfRangeException", "valence must be a finite number in [-1, 1]"),
    ("stinger no.dots", "ArgumentException", "1 to 64 characters from A-Z a-z 0-9 _ -"),
    ("stinger " + "x" * 65, "ArgumentException", "1 to 64 characters from A-Z a-z 0-9 _ -"),
    ("transition soon", "ArgumentException", "one of immediate, beat, bar, phrase, got \"soon\""),
    ("tempo 10", "ArgumentOutOfRangeException", "0 (back to the mood's tempo) or a finite number in [20, 300]"),
    ("intensity 1.5", "ArgumentOutOfRangeException", "intensity must be a finite number in [0, 1]"),
    ("intensity NaN", "ArgumentOutOfRangeException", "intensity must be a finite number in [0, 1]"),
    ("style Big_Band", "ArgumentException", "style name must be 1 to 32 characters, a-z first"),
    ("stop later", "ArgumentException", "at must be now (or absent): at once; bar or phrase: close on a cadence"),
    ("stop Phrase", "ArgumentException", "bar or phrase boundary, then stop, got \"Phrase\""),
    ("theme -", "ArgumentException", "theme abc must be 1 to 4000 characters of ABC: M:, L:, K: lines"),
    ("theme " + "a" * 4001, "ArgumentException", "1 to 4000 characters of ABC: M:, L:, K: lines, then notes, "
                                                  "rests and bar lines, got 4001 characters"),
    ("theme K:C%00c|", "ArgumentException", "got a NUL character"),
]
EURO = quote("\u20ac" * 3000, safe="")  # 3000 characters, 9000 bytes as UTF-8
CONTROL = quote("\x01" * 3000, safe="")  # 3000 characters, 18000 bytes escaped in JSON


def test_bad_input_throws_with_what_is_allowed_and_sends_nothing(harness_exe, udp):
    # the WebSocket client is not connected: a check that passed would fail with "not connected"
    harness = Harness(harness_exe, udp.getsockname()[1], free_port(socket.SOCK_STREAM))
    try:
        for transport in ("osc", "ws"):
            for call, exception, allowed in BAD:
                result = harness(f"{transport} {call}")
                assert result.get("exception") == exception, (transport, call, result)
                assert allowed in result["message"], (transport, call, result)
        # what fits one message depends on the transport: a datagram is 8192 bytes, a JSON message 16384
        datagram = built("/mood/theme", ("s", "\u20ac" * 3000))
        result = harness(f"osc theme {EURO}")
        assert result.get("exception") == "ArgumentException", result
        assert (f"a theme sent over OSC must fit one datagram of at most 8192 bytes, got {len(datagram)}"
                in result["message"]), result
        result = harness(f"ws theme {CONTROL}")
        assert result.get("exception") == "ArgumentException", result
        as_json = json.dumps({"type": "theme", "abc": "\x01" * 3000}, separators=(",", ":"))
        assert f"a theme message must be at most 16384 bytes of JSON, got {len(as_json)}" in result["message"], \
            result
        assert harness(f"ws theme {EURO}")["exception"] == "MoodscoreConnectionException"  # fits: sent
        assert harness("ws va 0 0")["exception"] == "MoodscoreConnectionException"
        harness.ok("osc play")
        assert udp.recv(2048) == built("/mood/play")  # the first datagram: nothing bad went out
    finally:
        assert harness.quit() == 0


# --- against the engine -----------------------------------------------------------------------

def test_engine_receives_and_applies_what_the_client_sends(harness_exe, tmp_path):
    engine = Engine(tmp_path / "engine")
    harness = Harness(harness_exe, engine.osc_port, engine.ws_port)
    try:
        # OSC: new material at the next eighth, then a mood with no glide
        harness.ok("osc transition immediate")
        t_osc = time.perf_counter()
        harness.ok("osc va 0.5 0.75 0")
        wait_until(lambda: (0.5, 0.75) in engine.moods(t_osc), 15, "a phrase for the OSC mood",
                   lambda: f"moods: {engine.moods(t_osc)}")

        # WebSocket: subscribe, another mood, a tempo, a stinger, a transition, each acked
        assert harness.ok("connect")["reply"] == "ack"
        t_ws = time.perf_counter()
        assert harness.ok("ws va -0.5 -0.25 0")["reply"] == "ack"
        wait_until(lambda: (-0.5, -0.25) in engine.moods(t_ws), 15, "a phrase for the WebSocket mood",
                   lambda: f"moods: {engine.moods(t_ws)}")
        t_tempo = time.perf_counter()
        assert harness.ok("ws tempo 150")["reply"] == "ack"
        wait_until(lambda: [e for e in harness.events("beat", t_tempo) if e["tempo"] == 150], 10,
                   "a beat at 150 BPM at the harness")
        t_stinger = time.perf_counter()
        assert harness.ok("ws stinger victory")["reply"] == "ack"
        assert harness.ok("ws transition bar")["reply"] == "ack"
        assert harness.ok("ws intensity 1 0")["reply"] == "ack"
        t_style = time.perf_counter()
        assert harness.ok("ws style orchestral")["reply"] == "ack"
        refused = harness.ok("ws style polka")  # a well-formed name the engine does not know
        assert refused["reply"] == "error" and "style must be one of default" in refused["error"], refused
        wait_until(lambda: len(harness.events("bar", t_style)) >= 2, 10, "a bar in the new style")
        # victory lasts 2.5 beats: 1 s at 150 BPM; wait for the bar after it
        wait_until(lambda: len(harness.events("beat", t_stinger)) >= 6, 10, "beats after the stinger")
        harness.ok("close")
        # the client's CloseAsync finished the handshake itself: nothing dropped
        assert not harness.events("disconnected") and not harness.events("problem"), harness.lines
    finally:
        try:
            harness_code = harness.quit()
        finally:
            code = engine.close()
    assert harness_code == 0, harness.stderr
    assert code == 0, engine.log()

    assert engine.moods(t_ws)[-1] == (-0.5, -0.25)  # phrases made since carry the mood sent
    engine_beats = [e for _, e in engine.of("beat", t_tempo)]
    assert engine_beats[-1]["tempo"] == 150.0 and all(e["tempo"] == 150.0 for e in engine_beats[-4:])
    assert engine.summary()["rejected"] == {"schema": 1}, engine.summary()  # the unknown style only
    kits = [m.program for m in mido.MidiFile(engine.record) if m.type == "program_change" and m.channel == 9]
    assert kits and kits[-1] == 48, kits  # the orchestra kit: the style switched at a bar

    # what the harness received over its own subscription, read with its own JSON parser
    beats, bars, phrases = (harness.events(kind) for kind in ("beat", "bar", "phrase"))
    assert len(beats) >= 6 and len(bars) >= 2, harness.lines
    assert all(b["is_bar"] and b["beat"] == 0 for b in bars)
    assert {b["time"] for b in bars} <= {b["time"] for b in beats if b["beat"] == 0}
    # the same beats as the engine's own subscriber saw, field for field (bars count within a phrase)
    theirs = {e["time"]: (e["bar"], e["beat"], e["tempo"]) for _, e in engine.of("beat")}
    assert all(theirs.get(b["time"]) == (b["bar"], b["beat"], b["tempo"]) for b in beats), (beats, theirs)
    assert any(b["tempo"] == 150.0 for b in beats)
    assert any(p["mood"] == [-0.5, -0.25] and p["notes"] > 0 and p["abc_chars"] > 0 for p in phrases)

    # the stinger's notes, on their own channel: victory is the fifth three times, then the tonic an octave up
    stinger = [m.note for m in mido.MidiFile(engine.record)
               if m.type == "note_on" and m.velocity > 0 and m.channel == STINGER_CHANNEL]
    assert len(stinger) == 4 and stinger[0] == stinger[1] == stinger[2] != stinger[3], stinger


def _opens_with(engine: Engine, since: float, pitch_classes: list[int]) -> bool:
    return any([n["pitch"] % 12 for n in e["notes"][:4]] == pitch_classes for _, e in engine.of("phrase", since))


def _closed_at_a_phrase(engine: Engine, since: float) -> dict:
    """Waits for the beats to stop (3 s without one); the music must have closed at a phrase
    boundary: a final bar, the first of a phrase (4 bars), complete, announced as an ending."""
    def stopped() -> bool:
        beats = engine.of("beat", since)
        return bool(beats) and time.perf_counter() - beats[-1][0] > 3.0
    wait_until(stopped, 40, "the music to stop", lambda: f"beats: {engine.of('beat', since)[-3:]}")
    beats = [e for _, e in engine.of("beat", since)]
    last = beats[-1]
    assert last["bar"] % 4 == 0 and last["bar"] > beats[0]["bar"] and last["beat"] == 3, beats[-6:]
    assert [b["bar"] for b in beats[-4:]] == [last["bar"]] * 4, beats[-6:]
    ending = engine.of("phrase", since)[-1][1]
    assert ending["mood"] is None and ending["start_time"] == beats[-4]["time"], ending  # the final chord
    return last


def test_engine_applies_a_theme_and_a_stop_at_the_phrase_from_each_transport(harness_exe, tmp_path):
    engine = Engine(tmp_path / "engine")
    harness = Harness(harness_exe, engine.osc_port, engine.ws_port)
    try:
        assert harness.ok("connect")["reply"] == "ack"
        t_ws = time.perf_counter()
        assert harness.ok(f"ws theme {quote(ODE, safe='')}")["reply"] == "ack"
        wait_until(lambda: _opens_with(engine, t_ws, [4, 4, 5, 7]), 40,
                   "a phrase opening with the WebSocket theme")
        t_stop_ws = time.perf_counter()
        assert harness.ok("ws stop phrase")["reply"] == "ack"
        _closed_at_a_phrase(engine, t_stop_ws)

        harness.ok(f"osc theme {quote(ARPEGGIO, safe='')}")
        t_osc = time.perf_counter()
        harness.ok("osc play")
        wait_until(lambda: _opens_with(engine, t_osc, [0, 7, 4, 7]), 40, "a phrase opening with the OSC theme")
        t_stop_osc = time.perf_counter()
        harness.ok("osc stop phrase")
        _closed_at_a_phrase(engine, t_stop_osc)
        harness.ok("close")
    finally:
        try:
            harness_code = harness.quit()
        finally:
            code = engine.close()
    assert harness_code == 0 and code == 0, engine.log()
    log = engine.log()
    for transport, abc in (("ws", ODE), ("osc", ARPEGGIO)):
        applied = json.dumps({"type": "theme", "abc": abc}, separators=(",", ":"))
        assert f"applied {applied}" in log, (transport, log)
    assert log.count('applied {"type":"stop","at":"phrase"}') == 2, log
    assert engine.summary()["rejected"] == {}, engine.summary()
    melody = [m.note for m in mido.MidiFile(engine.record)
              if m.type == "note_on" and m.velocity and m.channel == 0]
    assert melody and melody[-1] % 12 == 0, melody[-8:]  # the last phrase closed on the tonic


# --- against a misbehaving server -------------------------------------------------------------

def test_fragments_refusals_drops_and_close(harness_exe):
    """A websockets server that fragments a message, sends a long one, garbage and an unknown
    type, refuses a message, then drops the connection: the client must read it all, surface
    the refusal, reconnect, subscribe again, and close with 1000."""
    seen: list[tuple[int, object]] = []
    closed: list[tuple[int | None, str | None]] = []
    notes = [{"pitch": 60 + i % 12, "start": i / 4, "duration": 0.25, "velocity": 80, "channel": 0}
             for i in range(200)]
    phrase = {"type": "phrase", "index": 3, "bars": 4, "start_time": 10.0, "tempo": 120.0,
              "abc": "c2e2 \\\"q\\\" \u00e9", "notes": notes, "variation": False, "mood": [0.25, -0.5]}
    connections = iter(range(1, 3))

    def handler(ws: ServerConnection) -> None:
        number = next(connections)
        seen.append((number, json.loads(ws.recv(timeout=10))))  # the subscription
        ws.send('{"type":"ack"}')
        if number == 1:
            ws.send(['{"type":"beat",', '"bar":7,"beat":2,', '"tempo":120.0,"time":1.5}'])  # 3 frames
            ws.send(json.dumps(phrase))  # over the client's 4 KiB buffer: read in pieces
            ws.send("{not json")
            ws.send('{"type":"cue","name":"x"}')
            seen.append((number, json.loads(ws.recv(timeout=10))))
            ws.send('{"type":"error","error":"valence must be a finite number in [-1, 1], got 0.1 (test)"}')
            ws.close(1001, "going away")
        else:
            ws.send('{"type":"bar","bar":8,"beat":0,"tempo":120.0,"time":2.0}')
            for _ in ws:  # until the client closes
                pass
        closed.append((ws.close_code, ws.close_reason))

    port = free_port(socket.SOCK_STREAM)
    with serve(handler, "127.0.0.1", port) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        harness = Harness(harness_exe, 9, port)
        try:
            harness.ok("connect Beat,Bar,Phrase")
            wait_until(lambda: harness.events("beat") and harness.events("phrase"), 10, "the first events",
                       lambda: str(harness.lines))
            result = harness.ok("ws va 0.1 0.2")
            assert result["reply"] == "error" and "in [-1, 1]" in result["error"]
            # the Refused event is raised on the reader's task: it may print after the reply
            refused = wait_until(lambda: harness.events("refused"), 10, "the Refused event",
                                 lambda: str(harness.lines))
            assert refused[0]["error"] == result["error"]
            wait_until(lambda: harness.events("bar"), 10, "a bar after reconnecting", lambda: str(harness.lines))
            harness.ok("close")
        finally:
            try:
                harness_code = harness.quit()
            finally:
                server.shutdown()
                thread.join(5)
    assert harness_code == 0, harness.stderr

    assert harness.events("beat") == [{"event": "beat", "is_bar": False, "bar": 7, "beat": 2, "tempo": 120.0,
                                       "time": 1.5}]
    [got] = harness.events("phrase")
    assert (got["index"], got["bars"], got["notes"], got["mood"]) == (3, 4, 200, [0.25, -0.5])
    assert got["abc_chars"] == len(phrase["abc"])
    problems = [p["message"] for p in harness.events("problem")]
    assert len(problems) == 2 and "bad JSON at character 1" in problems[0] and '"cue"' in problems[1], problems
    [dropped] = harness.events("disconnected")
    assert "1001" in dropped["message"] and "going away" in dropped["message"]
    assert len(harness.events("connected")) == 2
    subscribe = {"type": "subscribe", "events": ["beat", "bar", "phrase"]}
    assert seen == [(1, subscribe), (1, {"type": "va", "valence": 0.1, "arousal": 0.2}), (2, subscribe)], seen
    assert closed[-1] == (1000, "bye")


# --- the UPM package --------------------------------------------------------------------------

def test_package_is_a_unity_package_with_a_meta_file_for_every_asset():
    manifest = json.loads((PACKAGE / "package.json").read_text())
    assert re.fullmatch(r"com\.[a-z0-9-]+\.[a-z0-9.-]+", manifest["name"]), manifest["name"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"]) and manifest["unity"] == "2021.3"
    assert manifest["displayName"] and manifest["description"]

    # Unity ignores assets without .meta files in packages from git (they are read-only)
    assets = [p for p in PACKAGE.rglob("*") if p.suffix != ".meta" and not any(
        part.endswith("~") or part.startswith(".") for part in p.relative_to(PACKAGE).parts)]
    guids = {}
    for asset in assets:
        meta = asset.with_name(asset.name + ".meta")
        assert meta.is_file(), f"{meta.relative_to(ROOT)} is missing"
        match = re.search(r"^guid: ([0-9a-f]{32})$", meta.read_text(), re.M)
        assert match, f"{meta} has no guid"
        guids[match.group(1)] = asset
    assert len(guids) == len(assets), "two assets share a guid"
    orphans = [m for m in PACKAGE.rglob("*.meta") if not m.with_name(m.name[:-5]).exists()]
    assert not orphans, orphans

    # the pure client has no engine references; the component's assembly uses it
    client = json.loads((CLIENT / "Moodscore.Client.asmdef").read_text())
    unity = json.loads((PACKAGE / "Runtime" / "Unity" / "Moodscore.Unity.asmdef").read_text())
    assert client["noEngineReferences"] is True
    assert client["name"] in unity["references"]
    for source in CLIENT.glob("*.cs"):
        assert "UnityEngine" not in source.read_text(), source
