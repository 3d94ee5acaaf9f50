"""Styles: the shipped presets validate and differ; user files are checked, bad ones refused in
one line with exit status 2 and no file written; intensity layers follow each style's order."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from moodscore.arranger import active_roles, arrange, programs_for
from moodscore.arranger.styles import STYLE_DIR, Style, builtin, load_style, names
from moodscore.engine.template import controls
from moodscore.errors import ConfigError
from moodscore.music import Meter, Note, Phrase


def test_shipped_styles_round_trip_and_sound_different():
    assert {"default", "orchestral", "electronic", "chiptune"} <= set(names())
    assert names()[0] == "default"
    for name, style in builtin().items():
        assert Style.model_validate_json(style.model_dump_json()) == style
        assert (STYLE_DIR / f"{name}.json").is_file()
    ctl = controls(0.6, 0.6)
    progs = {name: programs_for(ctl, s) for name, s in builtin().items()}
    assert len({tuple(p.values()) for p in progs.values()}) == len(progs)
    assert progs["orchestral"][1] == 48 and progs["orchestral"][5] == 46  # strings, harp
    assert progs["electronic"][2] == 38 and progs["electronic"][9] == 25  # synth bass, TR-808
    assert progs["chiptune"][0] == 80 and progs["chiptune"][9] == 25  # square lead, TR-808
    # per quadrant: the orchestral melody is a violin when happy, a cello when sad and calm
    orch = builtin()["orchestral"]
    assert programs_for(controls(0.8, 0.8), orch)[0] == 40 and programs_for(controls(-0.8, -0.8), orch)[0] == 42


@pytest.mark.parametrize("style", sorted(builtin()))
def test_intensity_brings_parts_in_by_the_style_order(style):
    s = builtin()[style]
    counts = [len(active_roles(s, i / 10)) for i in range(11)]
    assert counts[0] == 3 and counts[-1] == 6  # melody and two parts, then all six
    assert counts == sorted(counts)
    assert active_roles(s, 0) == ("melody",) + s.layers[:2]
    phrase = Phrase([Note(60 + 2 * i, i, 1) for i in range(8)], bars=2, meter=Meter(4, 4))
    ctl = controls(-0.5, -0.9)
    channels = [len({n.channel for n in arrange(phrase, ctl, style=s, intensity=i)}) for i in (0, 0.5, 1)]
    assert channels[0] == 2 and channels[2] == 5 and channels[0] < channels[1] < channels[2]


GOOD = json.loads((STYLE_DIR / "default.json").read_text())
CUES = Path(__file__).parents[2] / "examples" / "cue_sheet" / "reel1.json"


@pytest.mark.parametrize(("change", "fragment"), [
    ({"layers": ["pad", "bass", "drums", "counter"]}, "layers must name each of counter, pad, rhythm, bass, drums"),
    ({"bass": {"patterns": ["boogie"]}}, "bass.patterns: unknown family 'boogie'; allowed: pedal, root"),
    ({"drums": {"patterns": ["samba"]}}, "unknown drum family 'samba'; allowed: brushes, pop"),
    ({"pad": {"programs": {"q1": 128, "q2": 0, "q3": 0, "q4": 0}, "patterns": ["hold"]}}, "pad.programs"),
    ({"humanise": {"swing": 2}}, "humanise.swing"),
    ({"name": "Big Band"}, "name"),
    ({"tempo": 120}, "tempo: Extra inputs are not permitted"),
])
def test_bad_style_files_are_refused_in_one_line(tmp_path, change, fragment):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({**GOOD, **change}))
    with pytest.raises(ConfigError) as err:
        load_style(path)
    text = str(err.value)
    assert fragment in text and "\n" not in text and text.startswith(f"style {path}:")


def test_unknown_name_and_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="style must be one of default, chiptune, electronic, orchestral"):
        load_style("jazz")
    with pytest.raises(ConfigError, match="cannot read"):
        load_style(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ConfigError, match="style .*broken.json: .*JSON"):
        load_style(broken)
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps({**GOOD, "name": "mine", "bass": {**GOOD["bass"], "patterns": ["drive"]}}))
    assert load_style(mine).name == "mine" and load_style(str(mine)).bass.patterns == ("drive",)


def _cli(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "moodscore.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def test_cli_lists_styles_and_refuses_bad_ones_without_writing(tmp_path):
    listed = _cli("styles")
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(names())
    out = tmp_path / "x.mid"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**GOOD, "layers": ["pad"]}))
    for spec in ("jazz", str(bad)):
        for cmd in (["generate", "-v", "0", "-a", "0", "-o", str(out)],
                    ["demo", "--render", str(tmp_path / "j.wav"), "--seconds", "8"],
                    ["serve", "--record", str(tmp_path / "live.mid"), "--osc-port", "1", "--ws-port", "1"],
                    ["render", str(CUES), "-o", str(out), "--wav", str(tmp_path / "r.wav")]):
            done = _cli(*cmd, "--style", spec)
            assert done.returncode == 2, done.stderr
            assert len(done.stderr.strip().splitlines()) == 1 and "style" in done.stderr
            assert "default, chiptune" in done.stderr or "layers must name" in done.stderr
    assert list(tmp_path.iterdir()) == [bad]
    done = _cli("generate", "-v", "0", "-a", "0", "-o", str(out), "--intensity", "1.5")
    assert done.returncode == 2 and "--intensity must be in [0, 1]" in done.stderr and not out.exists()


def test_cli_style_and_intensity_same_seed_same_bytes(tmp_path):
    paths = []
    for i in range(2):
        path = tmp_path / f"{i}.mid"
        done = _cli("generate", "-v", "0.4", "-a", "0.3", "--bars", "8", "--seed", "7", "--style", "electronic",
                    "--intensity", "0.8", "-o", str(path))
        assert done.returncode == 0, done.stderr
        paths.append(path.read_bytes())
    assert paths[0] == paths[1]
    other = tmp_path / "o.mid"
    assert _cli("generate", "-v", "0.4", "-a", "0.3", "--bars", "8", "--seed", "7", "--style", "orchestral",
                "--intensity", "0.8", "-o", str(other)).returncode == 0
    assert other.read_bytes() != paths[0]
