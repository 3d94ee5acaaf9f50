"""The Godot binding (``bindings/godot``) against a real engine.

The Godot 3 addon runs headless in Debian's ``godot3-server`` (3.2.3), in the project
``tests/bindings/godot_project`` with ``bindings/godot/godot3/addons`` copied beside it. Its
``main.gd`` drives the autoload ``Moodscore``: calls with bad values, then over OSC ``play``, a
mood and the stinger "rise", then over the WebSocket another mood, a theme, a tempo, the stinger
"victory" and a stop at the phrase, then over OSC another theme, ``play`` and a stop at the
phrase. It prints each step and each signal it gets as one JSON line; the tests here check the
engine's side (``support.Engine``: its phrases, beats, recording and reject counts).

No Godot 4 runs here (Debian has none), so its scripts are parse-checked with gdtoolkit 4
(PyPI ``gdtoolkit>=4,<5``, whose grammar is Godot 4's) and linted with its gdlint rules; the
Godot 3 scripts are compiled by ``godot3-server --check-only``, and its plugin is switched on
and off in a headless Godot 3 editor.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import mido
import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from support import Engine, free_port

ROOT = Path(__file__).resolve().parents[2]
BINDING = ROOT / "bindings" / "godot"
PROJECT = Path(__file__).parent / "godot_project"
OSC_MOOD, WS_MOOD, TEMPO = (0.75, 0.875), (-0.5, 0.625), 150.0  # as in main.gd
STINGER_CHANNEL = 3
AUTOLOAD = 'Moodscore="*res://addons/moodscore/moodscore.gd"'  # what enabling the plugin writes
WS_THEME, OSC_THEME = "M:4/4\nL:1/4\nK:C\nccGG|EEC2|", "M:4/4\nL:1/4\nK:C\ncGEG|cGEC|"  # as in main.gd
GODOT_TIMEOUT_S = 150  # main.gd quits itself after this; the test waits a little longer
CLIENT_DEFAULTS = {"host": "127.0.0.1", "osc_port": 9000, "ws_port": 8765, "transport": "osc",
                   "listen": True, "max_send_rate": 30, "default_glide": -1, "reconnect_delay": 2}
REFUSED = {  # main.gd's bad calls -> what the client's message must say is allowed
    ("set_mood", "[2, 0]"): "valence must be a finite number in [-1, 1], got 2",
    ("set_valence", "[-1.5]"): "valence must be a finite number in [-1, 1], got -1.5",
    ("set_arousal", "[nan]"): "arousal must be a finite number in [-1, 1], got nan",
    ("set_mood", "[0.5, 0.5, 99]"): "glide must be -1 (default_glide) or a number of seconds in [0, 60]",
    ("stinger", "[no way!]"): "stinger name must be 1 to 64 characters from A-Z a-z 0-9 _ -",
    ("transition", "[sometimes]"): "transition mode must be one of immediate, beat, bar, phrase",
    ("tempo", "[10]"): "tempo must be 0 (back to the mood's tempo) or a number of BPM in [20, 300]",
    ("intensity", "[1.5]"): "intensity must be a finite number in [0, 1], got 1.5",
    ("style", "[Big Band]"): "style name must be 1 to 32 characters, a-z first, then a-z 0-9 _ -",
    ("stop", "[later]"): "at must be now (or absent): at once; bar or phrase: close on a cadence and a final "
                         "chord at the next bar or phrase boundary, then stop, got \"later\"",
    ("theme", "[]"): "theme abc must be 1 to 4000 characters of ABC: M:, L:, K: lines, then notes, rests "
                     "and bar lines, got 0 characters",
    # 3000 euro signs: the address (12 bytes), ",s" (4), 9000 bytes of UTF-8 and 4 NULs
    ("theme", "[" + "\u20ac" * 39): "a theme sent over OSC must fit one datagram of at most 8192 bytes, got 9020",
}


def godot3() -> str:
    path = shutil.which("godot3-server")
    if path is None:
        pytest.fail("godot3-server is not on PATH; the Godot binding tests run the Godot 3 addon "
                    "in it: apt-get install -y godot3-server", pytrace=False)
    return path


def godot_env(home: Path) -> dict[str, str]:
    """A writable HOME for Godot's user data, and a locale it knows (it warns about C)."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(home), LANG="en_US.UTF-8", LC_ALL="en_US.UTF-8")
    return env


def make_project(folder: Path) -> Path:
    """The test project with the Godot 3 addon as a game would have it: res://addons/moodscore."""
    shutil.copytree(PROJECT, folder)
    shutil.copytree(BINDING / "godot3" / "addons", folder / "addons")
    return folder


def make_bare_project(folder: Path) -> Path:
    """The test project without the Moodscore autoload and its settings: for ``-s`` scripts
    that make their own client."""
    project = make_project(folder)
    config = (project / "project.godot").read_text()
    for line in (AUTOLOAD, "[moodscore]\n\nclient/max_send_rate=20.0\n"):
        assert line in config, line
        config = config.replace(line, "")
    (project / "project.godot").write_text(config)
    return project


@dataclass
class Run:
    """What one run of main.gd printed (arrival time, JSON line), and the engine it drove."""

    engine: Engine | None  # None: main.gd ran with no engine to reach
    code: int | None = None
    engine_exit: int | None = None
    lines: list[tuple[float, dict]] = field(default_factory=list)
    stderr: str = ""

    def steps(self, step: str) -> list[tuple[float, dict]]:
        return [(at, line) for at, line in self.lines if line.get("step") == step]

    def signals(self, name: str) -> list[dict]:
        return [line for _, line in self.lines if line.get("signal") == name]

    def sent(self, transport: str, key: str) -> float:
        """When main.gd said it sent ``key`` (mood, tempo or stinger) over ``transport``."""
        found = [at for at, line in self.steps("sent") if line["transport"] == transport and key in line]
        assert found, f"main.gd never sent a {key} over {transport}:\n{self.why()}"
        return found[0]

    def why(self) -> str:
        shown = "\n".join(json.dumps(line) for _, line in self.lines if line.get("signal") != "beat")
        return f"main.gd exited with {self.code}; its lines:\n{shown}\nstderr:\n{self.stderr[-3000:]}"


def run_main(folder: Path, engine: Engine | None, *args: str) -> Run:
    """Run the test project's main scene headless until it quits (or GODOT_TIMEOUT_S + 30 s)."""
    binary, project = godot3(), make_project(folder / "project")
    result = Run(engine)
    cmd = [binary, "--path", str(project), "--", f"timeout={GODOT_TIMEOUT_S}", *args]
    with open(folder / "godot.err", "w+b") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                env=godot_env(folder / "home"), start_new_session=True)
        reader = threading.Thread(target=read_lines, args=(proc, result.lines), daemon=True)
        reader.start()
        try:
            result.code = proc.wait(GODOT_TIMEOUT_S + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        reader.join(10)
        err.seek(0)
        result.stderr = err.read().decode(errors="replace")
    return result


def read_lines(proc: subprocess.Popen[bytes], into: list[tuple[float, dict]]) -> None:
    assert proc.stdout is not None
    for raw in proc.stdout:
        at, text = time.perf_counter(), raw.decode(errors="replace").strip()
        if text.startswith("{"):
            into.append((at, json.loads(text)))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    godot3()  # missing: fail before starting an engine
    tmp = tmp_path_factory.mktemp("godot")
    engine = Engine(tmp / "engine")
    try:
        result = run_main(tmp, engine, f"osc-port={engine.osc_port}", f"ws-port={engine.ws_port}")
    finally:
        exit_code = engine.close()
    result.engine_exit = exit_code
    return result


def test_main_gd_ran_to_the_end(run: Run) -> None:
    assert run.code == 0, run.why()
    assert [line["why"] for _, line in run.steps("finish")] == ["done"], run.why()
    assert run.engine_exit == 0, run.engine.log()
    # Godot's only complaints are the client's push_error for main.gd's bad calls
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == len(REFUSED) and all("Moodscore: " in line for line in errors), run.stderr


def test_client_reads_its_project_settings(run: Run) -> None:
    """project.godot sets moodscore/client/max_send_rate=20.0; the rest are the defaults."""
    [(_, line)] = run.steps("settings")
    assert line["settings"] == {**CLIENT_DEFAULTS, "max_send_rate": 20}, line


def test_bad_values_are_refused_by_the_client_and_never_sent(run: Run) -> None:
    refused = {(line["call"], line["args"]): line for _, line in run.steps("refused")}
    assert set(refused) == set(REFUSED), run.why()
    for call, allowed in REFUSED.items():
        line = refused[call]
        assert line["returned"] is False, f"{call} was not refused: {line}"
        assert len(line["errors"]) == 1 and line["errors"][0].startswith(allowed), \
            f"{call}: error signals {line['errors']}, wanted one starting {allowed!r}"
    # the only error signals were these, and the engine refused nothing: nothing bad was sent
    assert len(run.signals("error")) == len(REFUSED), run.why()
    assert run.engine.summary()["rejected"] == {}, run.engine.log()


def moods_between(run: Run, start: float, end: float = float("inf")) -> list[tuple[float, float]]:
    return [tuple(e["mood"]) for at, e in run.engine.of("phrase", start) if at < end and e["mood"]]


def test_osc_mood_is_applied(run: Run) -> None:
    osc, ws = run.sent("osc", "mood"), run.sent("websocket", "mood")
    assert OSC_MOOD not in moods_between(run, 0.0, osc)
    moods = moods_between(run, osc, ws)
    assert moods and moods[-1] == OSC_MOOD, \
        f"phrases after the OSC /mood/va: {moods}, wanted the last in {OSC_MOOD}\n{run.why()}"


def test_websocket_mood_is_applied(run: Run) -> None:
    ws = run.sent("websocket", "mood")
    assert WS_MOOD not in moods_between(run, 0.0, ws)
    moods = moods_between(run, ws)
    assert moods and moods[-1] == WS_MOOD, \
        f"phrases after the WebSocket va: {moods}, wanted the last in {WS_MOOD}\n{run.why()}"


def test_tempo_is_applied(run: Run) -> None:
    beats = [e for _, e in run.engine.of("beat", run.sent("websocket", "tempo"))]
    at_tempo = [i for i, e in enumerate(beats) if e["tempo"] == TEMPO]
    assert at_tempo, f"beat tempos after the tempo message: {[e['tempo'] for e in beats]}"
    assert all(e["tempo"] == TEMPO for e in beats[at_tempo[0]:]), [e["tempo"] for e in beats]


def test_both_stingers_are_in_the_recording(run: Run) -> None:
    notes = [msg.note for msg in mido.merge_tracks(mido.MidiFile(run.engine.record).tracks)
             if msg.type == "note_on" and msg.velocity > 0 and msg.channel == STINGER_CHANNEL]
    # "rise" (OSC): tonic, third, fifth, octave; "victory" (WebSocket): three fifths, the octave
    assert len(notes) == 8, f"stinger notes on channel {STINGER_CHANNEL + 1}: {notes}"
    rise, victory = notes[:4], notes[4:]
    assert rise == sorted(set(rise)) and rise[3] - rise[0] == 12, notes
    assert victory[0] == victory[1] == victory[2] != victory[3], notes


def test_intensity_and_style_are_applied(run: Run) -> None:
    """After intensity 1 and the style "orchestral": the orchestra kit on channel 10 and every
    part playing, in the recording."""
    messages = list(mido.merge_tracks(mido.MidiFile(run.engine.record).tracks))
    kits = [m.program for m in messages if m.type == "program_change" and m.channel == 9]
    assert kits and kits[-1] == 48, kits
    at = next(i for i, m in enumerate(messages) if m.type == "program_change" and m.channel == 9
              and m.program == 48)
    channels = {m.channel for m in messages[at:] if m.type == "note_on" and m.velocity > 0}
    assert {0, 1, 2, 4, 5, 9} <= channels, channels


def test_client_gets_beat_bar_and_phrase_signals(run: Run) -> None:
    beats, bars, phrases = run.signals("beat"), run.signals("bar"), run.signals("phrase")
    assert len(beats) >= 8 and len(bars) >= 2 and len(phrases) >= 2, run.why()
    assert len(run.signals("connected")) == 1, run.why()
    engine_beats = {(e["bar"], e["beat"], e["tempo"]) for _, e in run.engine.of("beat")}
    engine_bars = {(e["bar"], e["tempo"]) for _, e in run.engine.of("bar")}
    engine_phrases = {(e["index"], tuple(e["mood"]) if e["mood"] else None, e["abc"])
                      for _, e in run.engine.of("phrase")}
    for s in beats:
        assert (s["bar"], s["beat"], s["tempo"]) in engine_beats, s
    for s in bars:
        assert (s["bar"], s["tempo"]) in engine_bars, s
    # Moodscore.event_time: the engine-clock time of the beat or bar being signalled (bars count
    # from 0 again after each stop, so a bar's number may have several times)
    beat_times, bar_times = defaultdict(list), defaultdict(list)
    for _, e in run.engine.of("beat"):
        beat_times[e["bar"], e["beat"]].append(e["time"])
    for _, e in run.engine.of("bar"):
        bar_times[e["bar"]].append(e["time"])
    for s in beats:
        assert min(abs(s["time"] - t) for t in beat_times[s["bar"], s["beat"]]) < 1e-3, s
    for s in bars:
        assert min(abs(s["time"] - t) for t in bar_times[s["bar"]]) < 1e-3, s
    for s in phrases:  # the endings of the stops at the phrase have no mood
        assert (s["index"], tuple(s["mood"]) if s["mood"] else None, s["abc"]) in engine_phrases, s
    assert any(s["tempo"] == TEMPO for s in beats), "the client never saw a beat at the new tempo"


def _opens_with(phrase: dict, intervals: tuple[int, ...]) -> bool:
    """The phrase's first notes, as intervals from the first: the theme in any key and mode."""
    first = [n["pitch"] for n in phrase["notes"][:len(intervals)]]
    return len(first) == len(intervals) and tuple((p - first[0]) % 12 for p in first) == intervals


@pytest.mark.parametrize("transport, theme, intervals, until", [
    ("websocket", WS_THEME, ((0, 0, 7, 7),), "osc"),
    ("osc", OSC_THEME, ((0, 7, 4, 7), (0, 7, 3, 7)), None),
])
def test_theme_and_stop_at_the_phrase_are_applied(run: Run, transport: str, theme: str,
                                                  intervals: tuple, until: str | None) -> None:
    """A phrase opens with the theme; after the stop at the phrase the music closes on a final
    bar, the first of a phrase (4 bars), and the beats stop until the next play."""
    sent, stopped = run.sent(transport, "theme"), run.sent(transport, "stop")
    end = run.sent(until, "theme") if until else float("inf")
    log = run.engine.log()
    assert f"applied {json.dumps({'type': 'theme', 'abc': theme}, separators=(',', ':'))}" in log, log
    assert log.count('applied {"type":"stop","at":"phrase"}') == 2, log
    heard = [e for at, e in run.engine.of("phrase", sent) if at < stopped]
    assert any(_opens_with(e, iv) for e in heard for iv in intervals), \
        [[n["pitch"] for n in e["notes"][:4]] for e in heard]
    beats = [e for at, e in run.engine.of("beat", stopped) if at < end]
    last = beats[-1]
    assert last["bar"] % 4 == 0 and last["bar"] > beats[0]["bar"] and last["beat"] == 3, beats[-6:]
    assert [b["bar"] for b in beats[-4:]] == [last["bar"]] * 4, beats[-6:]
    ending = [e for at, e in run.engine.of("phrase", stopped) if at < end][-1]
    assert ending["mood"] is None and ending["start_time"] == beats[-4]["time"], ending  # the final chord


def test_unreachable_engine_is_said_once_and_retried_quietly(tmp_path: Path) -> None:
    """No engine on the port: one error signal, however many retries, and no crash."""
    port = free_port(socket.SOCK_STREAM)
    result = run_main(tmp_path, None, f"osc-port={free_port(socket.SOCK_DGRAM)}", f"ws-port={port}",
                      "connect-timeout=3", "reconnect-delay=0.2")
    assert result.code == 3 and [line["why"] for _, line in result.steps("finish")] == \
        ["no connected signal"], result.why()
    errors = [s["message"] for s in result.signals("error")]
    assert errors == [f"cannot reach the engine at ws://127.0.0.1:{port} (is `moodscore serve` "
                      f"running?); retrying every 0.2 s"], result.why()
    assert "freed or unreferenced while a signal is being emitted" not in result.stderr, result.stderr


def test_editor_plugin_adds_and_removes_the_autoload(tmp_path: Path) -> None:
    """Switch the plugin on, then off, in a headless editor, as the Plugins tab does."""
    project = make_bare_project(tmp_path / "project")
    shutil.move(project / "editor_probe", project / "addons" / "editor_probe")
    for name in ("main.gd", "main.tscn"):  # main.gd needs the autoload, missing while "off"
        (project / name).unlink()
    with open(project / "project.godot", "a") as config:
        config.write('\n[editor_plugins]\n\nenabled=PoolStringArray( "editor_probe" )\n')
    for switch in ("on", "off"):
        env = {**godot_env(tmp_path / "home"), "MOODSCORE_PLUGIN": switch}
        done = subprocess.run([godot3(), "-e", "--path", str(project)], capture_output=True,
                              text=True, timeout=60, env=env)
        probe = [json.loads(line)["probe"] for line in done.stdout.splitlines()
                 if line.startswith('{"probe"')]
        assert done.returncode == 0 and len(probe) == 1, f"{done.stdout}\n{done.stderr}"
        assert probe[0]["enabled"] is (switch == "on"), probe
        assert "SCRIPT ERROR" not in done.stderr, done.stderr
        saved = (project / "project.godot").read_text()
        if switch == "on":
            assert probe[0]["settings"] == CLIENT_DEFAULTS, probe
            assert f"[autoload]\n\n{AUTOLOAD}" in saved, saved
        else:
            assert AUTOLOAD not in saved, saved


def test_godot3_scripts_compile(tmp_path: Path) -> None:
    """``godot3-server --check-only`` compiles each addon script in a project, as the editor would."""
    binary, project = godot3(), make_project(tmp_path / "project")
    (project / "broken.gd").write_text("extends Node\nfunc f(:\n\tpass\n")
    scripts = sorted(p.relative_to(project).as_posix()
                     for p in (project / "addons").rglob("*.gd")) + ["broken.gd"]
    assert len(scripts) == 4, scripts  # moodscore.gd, moodscore_audio.gd, plugin.gd, broken.gd
    for script in scripts:
        done = subprocess.run([binary, "--path", str(project), "--check-only", "-s", script],
                              capture_output=True, text=True, timeout=60,
                              env=godot_env(tmp_path / "home"))
        failed = done.returncode != 0 or "SCRIPT ERROR" in done.stdout + done.stderr
        assert failed == (script == "broken.gd"), \
            f"{script}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"


def test_godot3_osc_packets_are_byte_exact(tmp_path: Path) -> None:
    """The addon's OSC encoder against python-osc's: NUL padding at every length, big-endian."""
    cases = [["/mood/va", [0.75, -0.5]], ["/mood/va", [0.1, -1.0, 2.5]],
             ["/mood/valence", [0.3]], ["/mood/tempo", [150.0]], ["/mood/play", []],
             ["/mood/stinger", ["abc"]], ["/mood/stinger", ["abcd"]], ["/mood/stinger", ["victory"]],
             ["/mood/transition", ["phrase"]], ["/ab", ["a_b-c12345"]],
             ["/mood/stop", ["phrase"]], ["/mood/stop", []], ["/mood/theme", ["M:4/4\nL:1/4\nK:G\nBBcd|"]],
             ["/mood/theme", ["K:D\n% d\u00e9j\u00e0\nd|"]]]
    project = make_bare_project(tmp_path / "project")
    done = subprocess.run([godot3(), "--path", str(project), "-s", "osc_bytes.gd", "--",
                           "cases=" + json.dumps(cases)], capture_output=True, text=True,
                          timeout=60, env=godot_env(tmp_path / "home"))
    got = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("osc ")]
    assert done.returncode == 0 and len(got) == len(cases), f"{done.stdout}\n{done.stderr}"
    for (address, args), packet in zip(cases, got):
        builder = OscMessageBuilder(address)
        for arg in args:
            builder.add_arg(arg, "s" if isinstance(arg, str) else "f")
        assert bytes.fromhex(packet) == builder.build().dgram, (address, args, packet)


def test_godot3_mood_bursts_coalesce_to_the_send_rate(tmp_path: Path) -> None:
    """100 set_mood calls in one frame at max_send_rate 10: the first goes out at once, the
    newest (with a later set_valence folded in) 0.1 s later, and nothing else."""
    project = make_bare_project(tmp_path / "project")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(0.1)
        proc = subprocess.Popen([godot3(), "--path", str(project), "-s", "rate_limit.gd", "--",
                                 f"osc-port={receiver.getsockname()[1]}"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=godot_env(tmp_path / "home"))
        packets: list[tuple[float, OscMessage]] = []
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                data = receiver.recv(65536)
            except socket.timeout:
                continue
            packets.append((time.perf_counter(), OscMessage(data)))
        if proc.poll() is None:
            proc.kill()
        output = proc.communicate(timeout=10)[0].decode(errors="replace")
    assert proc.returncode == 0 and "burst sent" in output, output
    got = [(m.address, [round(p, 6) for p in m.params]) for _, m in packets]
    assert got == [("/mood/va", [0.0, 0.0]), ("/mood/va", [0.5, -0.99])], got
    gap = packets[1][0] - packets[0][0]
    assert 0.09 <= gap <= 0.5, f"{gap:.3f} s between the two mood messages"


def test_godot4_scripts_parse() -> None:
    """gdtoolkit 4's grammar is Godot 4's: it takes the Godot 4 scripts and refuses Godot 3's."""
    try:
        version = metadata.version("gdtoolkit")
        from gdtoolkit.parser import parser
    except (metadata.PackageNotFoundError, ImportError):
        pytest.fail("gdtoolkit is missing; the Godot 4 scripts are parse-checked with it: "
                    "pip install 'gdtoolkit>=4,<5'", pytrace=False)
    if not version.startswith("4."):
        pytest.fail(f"gdtoolkit {version} parses Godot 3 syntax; this needs gdtoolkit>=4,<5",
                    pytrace=False)
    scripts = sorted((BINDING / "godot4").rglob("*.gd"))
    assert [p.name for p in scripts] == ["moodscore.gd", "moodscore_audio.gd", "plugin.gd"], scripts
    from gdtoolkit.linter import lint_code

    for path in scripts:
        parser.parse(path.read_text(), gather_metadata=True)  # raises on a syntax error
        assert lint_code(path.read_text()) == [], path  # gdlint's default rules
    readme = (BINDING / "README.md").read_text()
    snippets = re.findall(r"```gdscript\n(.*?)```", readme, re.DOTALL)
    assert len(snippets) == 5, snippets
    for snippet in snippets:  # the Godot 3 one uses no syntax that Godot 4 lacks
        parser.parse(snippet)
    with pytest.raises(Exception, match="Unexpected"):
        parser.parse((BINDING / "godot3" / "addons" / "moodscore" / "moodscore.gd").read_text())


@pytest.mark.parametrize("version", ["godot3", "godot4"])
def test_plugin_cfg_names_the_plugin_script(version: str) -> None:
    import configparser

    cfg = configparser.ConfigParser()
    addon = BINDING / version / "addons" / "moodscore"
    cfg.read(addon / "plugin.cfg")
    script = cfg["plugin"]["script"].strip('"')
    assert (addon / script).is_file() and cfg["plugin"]["name"] == '"Moodscore"'


def test_both_versions_of_the_audio_node_offer_the_same_api() -> None:
    """MoodscoreAudio in Godot 3 and Godot 4: the same methods, signals, settings and counts."""
    def api(version: str) -> dict[str, list[str]]:
        text = (BINDING / version / "addons" / "moodscore" / "moodscore_audio.gd").read_text()
        return {kind: re.findall(rf"^{pattern}", text, re.MULTILINE) for kind, pattern in
                {"func": r"func ([a-z]\w*)\((.*)\)", "signal": r"signal (\w+)",
                 "export": r"@?export.*? var (\w+)", "const": r"const (\w+)",
                 "public": r"var ([a-z]\w*)"}.items()}
    godot3, godot4 = api("godot3"), api("godot4")
    assert godot3 == godot4
    assert {name for name, _ in godot3["func"]} == {"start", "stop", "music_time", "audio_time",
                                                   "heard_at", "is_playing"}
    assert godot3["signal"] == ["started", "error", "beat", "bar", "phrase"]


def test_both_versions_offer_the_same_api() -> None:
    """The Godot 3 and Godot 4 clients have the same public methods, signals and settings."""
    def api(version: str) -> dict[str, list[str]]:
        text = (BINDING / version / "addons" / "moodscore" / "moodscore.gd").read_text()
        return {kind: re.findall(rf"^{pattern}", text, re.MULTILINE) for kind, pattern in
                {"func": r"func ([a-z]\w*)\((.*)\)", "signal": r"signal (\w+)",
                 "export": r"@?export.*? var (\w+)", "const": r"const (\w+)"}.items()}
    godot3, godot4 = api("godot3"), api("godot4")
    assert godot3["func"] == godot4["func"]  # names and parameters
    for kind in ("signal", "export", "const"):
        assert godot3[kind] == godot4[kind], kind
    assert {name for name, _ in godot3["func"]} >= {
        "set_mood", "set_valence", "set_arousal", "stinger", "transition", "tempo", "play", "stop"}
    assert godot3["signal"] == ["beat", "bar", "phrase", "error", "connected", "disconnected"]
