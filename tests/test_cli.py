"""The command line: generation end to end, determinism, and bad input at the edge."""
from __future__ import annotations

import subprocess
import sys

import mido
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moodscore.cli import main


def _gen(tmp_path, name, *extra):
    out = tmp_path / name
    code = main(["generate", "-v", "0.6", "-a", "-0.3", "--bars", "8", "--seed", "5", "-o", str(out), *extra])
    return code, out


@pytest.mark.parametrize("model", ["abc", "lstm"])
def test_generate_writes_a_type1_midi_and_abc(tmp_path, model, capsys):
    code, out = _gen(tmp_path, "a.mid", "--model", model, "--abc", str(tmp_path / "a.abc"))
    assert code == 0
    mid = mido.MidiFile(out)
    assert mid.type == 1
    metas = {m.type for m in mid.tracks[0] if m.is_meta}
    assert {"set_tempo", "time_signature", "key_signature", "track_name"} <= metas
    names = [next(m.name for m in t if m.type == "track_name") for t in mid.tracks[1:]]
    assert names[0] == "Melody"
    melody_channels = {m.channel for m in mid.tracks[1] if m.type == "note_on"}
    assert melody_channels == {0}
    abc = (tmp_path / "a.abc").read_text()
    assert "M:4/4" in abc and "L:1/8" in abc and "\nK:" in abc
    assert str(out) in capsys.readouterr().out


def test_same_seed_same_bytes(tmp_path):
    _, a = _gen(tmp_path, "a.mid")
    _, b = _gen(tmp_path, "b.mid")
    assert a.read_bytes() == b.read_bytes()
    main(["generate", "-v", "0.6", "-a", "-0.3", "--bars", "8", "--seed", "6", "-o", str(tmp_path / "c.mid")])
    assert (tmp_path / "c.mid").read_bytes() != a.read_bytes()


@pytest.mark.parametrize("args, message", [
    (["-v", "1.5", "-a", "0"], "--valence must be in [-1, 1]"),
    (["-v", "0", "-a", "-2"], "--arousal must be in [-1, 1]"),
    (["-v", "inf", "-a", "0"], "--valence must be in [-1, 1]"),
    (["-v", "x", "-a", "0"], "--valence must be a number"),
    (["-v", "0", "-a", "0", "--bars", "0"], "--bars must be an integer >= 1"),
    (["-v", "0", "-a", "0", "--model", "gpt"], "choose from 'abc', 'lstm'"),
    (["-v", "0", "-a", "0", "--meter", "5/7"], "meter must look like"),
])
def test_bad_input_is_one_line_exit_2_and_no_file(tmp_path, capsys, args, message):
    out = tmp_path / "x.mid"
    assert main(["generate", *args, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_unwritable_path(tmp_path, capsys):
    out = tmp_path / "missing" / "x.mid"
    assert main(["generate", "-v", "0", "-a", "0", "-o", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not out.parent.exists()


def test_bad_preset_is_reported(tmp_path, capsys):
    preset = tmp_path / "p.json"
    preset.write_text('{"q1": {"tempo_min": 500, "tempo_max": 600, "octave_shift": 0, "volume_db": 0}}')
    assert main(["generate", "-v", "0", "-a", "0", "--preset", str(preset), "-o", str(tmp_path / "x.mid")]) == 2
    err = capsys.readouterr().err
    assert "tempo_min" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == [preset]


def test_generation_needs_neither_torch_nor_music21(tmp_path):
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['music21'] = None\n"
        "from moodscore.cli import main\n"
        f"rc = main(['generate', '-v', '-0.8', '-a', '0.8', '--bars', '4', '-o', {str(tmp_path / 'n.mid')!r}])\n"
        f"rc |= main(['generate', '--model', 'lstm', '-v', '0.8', '-a', '-0.8', '--bars', '4', '-o', {str(tmp_path / 'l.mid')!r}])\n"
        "assert 'torch' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "sys.exit(rc)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "n.mid").stat().st_size > 100 and (tmp_path / "l.mid").stat().st_size > 100


# --- themes (--theme on generate, serve and render) -------------------------------------------

ODE = "X:1\nM:4/4\nL:1/4\nK:G\nBBcd|dcBA|GGAB|B3/2A/2 A2|\n"


def test_generate_opens_with_the_theme_in_the_moods_key_and_brings_it_back(tmp_path):
    theme = tmp_path / "ode.abc"
    theme.write_text(ODE)
    code, out = _gen(tmp_path, "t.mid", "--theme", str(theme), "--bars", "16")
    assert code == 0
    ons = [m.note for m in mido.merge_tracks(mido.MidiFile(out).tracks)
           if m.type == "note_on" and m.velocity and m.channel == 0]
    assert [p % 12 for p in ons[:4]] == [4, 4, 5, 7]  # E E F G: the theme moved to C major
    again = main(["generate", "-v", "0.6", "-a", "-0.3", "--bars", "16", "--seed", "5",
                  "--theme", str(theme), "-o", str(tmp_path / "u.mid")])
    assert again == 0 and (tmp_path / "u.mid").read_bytes() == out.read_bytes()


@pytest.mark.parametrize("text, extra, message", [
    ("K:H\nabc|\n", [], "K: must name"),
    ("M:3/4\nK:C\nC2D2E2|\n", ["--meter", "4/4"], "the theme is in 3/4, the music in 4/4")])
def test_a_bad_theme_is_one_line_exit_2_and_no_file(tmp_path, capsys, text, extra, message):
    theme = tmp_path / "bad.abc"
    theme.write_text(text)
    code = main(["generate", "-v", "0", "-a", "0", "-o", str(tmp_path / "x.mid"), "--theme", str(theme), *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "\n" not in err
    assert not (tmp_path / "x.mid").exists()
    code = main(["generate", "-v", "0", "-a", "0", "-o", str(tmp_path / "x.mid"),
                 "--theme", str(tmp_path / "theme.wav")])
    assert code == 2 and "MIDI file (.mid, .midi) or ABC (.abc)" in capsys.readouterr().err


def test_render_refuses_a_theme_in_another_meter(tmp_path, capsys):
    import json

    sheet = tmp_path / "cues.json"
    sheet.write_text(json.dumps({"frame_rate": "25", "cues": [
        {"cue": "1M01", "in": "00:00:01:00", "out": "00:00:09:00", "mood": "calm"}]}))
    theme = tmp_path / "waltz.abc"
    theme.write_text("M:3/4\nK:C\nC2D2E2|\n")
    code = main(["render", str(sheet), "-o", str(tmp_path / "r.mid"), "--theme", str(theme)])
    assert code == 2 and "the theme is in 3/4, the music in 4/4" in capsys.readouterr().err
    assert not (tmp_path / "r.mid").exists()


@pytest.mark.parametrize("grid", ["1,x", "0.5", "0,0", "-2,0,1", "nan,0"])
def test_evaluate_refuses_a_bad_grid_in_one_line(capsys, grid):
    assert main(["evaluate", f"--grid={grid}"]) == 2
    err = capsys.readouterr().err
    assert "--grid must be two or more different numbers in [-1, 1]" in err and err.count("\n") == 1


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=12), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                 st.floats(-2, 2).map(str)))
def test_a_range_option_takes_a_finite_number_in_its_range_or_says_what_is_allowed(text):
    import argparse
    import math

    from moodscore.cli import _level, _share, _unit
    for parse, low, high, above_low, span in ((_unit("--valence"), -1, 1, False, "[-1, 1]"),
                                              (_level("--level"), 0, 1, False, "[0, 1]"),
                                              (_share("--max-load"), 0, 1, True, "(0, 1]")):
        try:
            value = parse(text)
        except argparse.ArgumentTypeError as err:
            assert span in str(err)
            continue
        assert math.isfinite(value) and value <= high and (value > low if above_low else value >= low)
