"""Which FluidSynth library is loaded: the system's first, then pygame-ce's bundled copy; one
that is listed but does not load is passed over, and none at all is one line saying what to
install. Real ``dlopen`` calls on real files (the system's library is there: scripts/test.sh
installs libfluidsynth3; pygame-ce is a runtime dependency)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from moodscore.audio.library import LIBRARY_HINT, Library, candidates, choose
from moodscore.errors import OutputError


def test_the_system_library_comes_first_then_the_bundled_one() -> None:
    found = candidates()
    origins = [lib.origin for lib in found]
    assert origins[0] == "system", found
    assert "bundled with pygame-ce" in origins, found
    assert origins.index("bundled with pygame-ce") > max(i for i, o in enumerate(origins) if o == "system")
    bundled = next(lib for lib in found if lib.origin == "bundled with pygame-ce")
    assert Path(bundled.path).is_file() and "libfluidsynth" in Path(bundled.path).name
    chosen = choose()
    assert chosen.origin == "system" and chosen.version.startswith("2."), chosen


def test_a_library_that_does_not_load_is_passed_over(tmp_path: Path) -> None:
    broken = tmp_path / "libfluidsynth.so.3"
    broken.write_bytes(b"\x7fELF but not really")
    bundled = next(lib for lib in candidates() if lib.origin == "bundled with pygame-ce")
    not_fluidsynth = Library("libm.so.6", "system")  # loads, but is no FluidSynth
    chosen = choose([Library(str(broken), "system"), not_fluidsynth, bundled])
    assert chosen.origin == "bundled with pygame-ce" and chosen.version.startswith("2."), chosen
    assert chosen.label.startswith(f"FluidSynth {chosen.version} (bundled with pygame-ce: ")


def test_none_at_all_says_what_was_tried_and_what_to_install(tmp_path: Path) -> None:
    missing = tmp_path / "libfluidsynth.so.3"
    with pytest.raises(OutputError) as caught:
        choose([Library(str(missing), "system")])
    text = str(caught.value)
    assert text.startswith(f"the embedded synth needs the FluidSynth library (tried: {missing} (system): ")
    assert text.endswith(LIBRARY_HINT) and "\n" not in text
    with pytest.raises(OutputError, match=r"\(tried: none found\); pip install pygame-ce"):
        choose([])


def test_pyfluidsynth_is_bound_to_the_chosen_library() -> None:
    """In a fresh interpreter: the synth reports the library pyfluidsynth really loaded."""
    code = ("from moodscore.audio.synth import SoundFontSynth\n"
            "s = SoundFontSynth()\n"
            "import fluidsynth\n"
            "print(s.library.label)\n"
            "print(fluidsynth.lib)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    label, loaded = done.stdout.splitlines()
    assert label.startswith("FluidSynth 2.") and "(system: " in label and label.endswith(f"{loaded})"), done.stdout
