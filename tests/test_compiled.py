"""The compiled build's list and its checks (scripts/check_compiled.sh runs these tests, with the
arranger's, the engine's and the host's, on a compiled install too)."""
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from moodscore.compiled import MODULES, compiled_modules, describe

ROOT = Path(__file__).resolve().parents[1]


def test_every_listed_module_is_a_module_of_the_package_with_its_source_in_the_tree():
    for name in MODULES:
        module = importlib.import_module(name)
        assert module.__name__ == name and name.startswith("moodscore.")
        parts = name.split(".")
        source = ROOT.joinpath(*parts).with_suffix(".py")
        assert source.is_file() or ROOT.joinpath(*parts, "__init__.py").is_file(), name


def test_an_install_runs_all_of_the_list_compiled_or_none_of_it():
    found = compiled_modules()
    assert found in ([], list(MODULES)), describe()  # part of it: a broken or stale build
    if found:
        assert describe() == f"compiled with mypyc ({len(MODULES)} modules)"
        assert all(Path(importlib.import_module(n).__file__).suffix == ".so" for n in MODULES)
    else:
        assert describe().startswith("pure Python (MOODSCORE_COMPILE=1 pip install .")


def test_notes_and_midi_events_are_values_and_compiled_the_collector_never_sees_them():
    import gc
    from dataclasses import replace

    from moodscore.engine.conductor import MidiEvent
    from moodscore.music import Note

    note, event = Note(60, 1.5, 0.5), MidiEvent(0.25, "note_on", 2, 60, 90)
    assert note == Note(60, 1.5, 0.5, 80, 0) and hash(note) == hash(Note(60, 1.5, 0.5))
    assert replace(note, velocity=30) == Note(60, 1.5, 0.5, 30) and note.velocity == 80
    assert {event, MidiEvent(0.25, "note_on", 2, 60, 90)} == {event} and event.data2 == 90
    held = (1.0, 3, event)  # as a host session's queue holds it
    gc.collect()
    if compiled_modules():
        assert not gc.is_tracked(note) and not gc.is_tracked(event) and not gc.is_tracked(held)
    else:  # plain classes are tracked, and so is the tuple
        assert gc.is_tracked(note) and gc.is_tracked(event) and gc.is_tracked(held)


@pytest.mark.parametrize("value", ["maybe", "2", "yes please"])
def test_setup_refuses_a_compile_setting_it_does_not_know_and_says_what_it_takes(value):
    result = subprocess.run([sys.executable, "setup.py", "--name"], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "MOODSCORE_COMPILE": value}, timeout=120)
    assert result.returncode != 0
    assert f"MOODSCORE_COMPILE must be 1 (compile with mypyc) or 0 (plain Python), not {value!r}" in result.stderr


@pytest.mark.parametrize("value", ["", "0", "off"])
def test_setup_without_compiling_is_the_plain_build(value):
    result = subprocess.run([sys.executable, "setup.py", "--name"], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "MOODSCORE_COMPILE": value}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "moodscore"
