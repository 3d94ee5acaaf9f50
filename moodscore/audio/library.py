"""Which FluidSynth library the embedded synth loads: the system's, else the one a wheel bundles.

pyfluidsynth (the binding) finds its library only through ``ctypes.util.find_library``, so a
plain ``pip install`` on Linux, where no wheel of it carries the library, finds none unless the
system has one (Debian: ``libfluidsynth3``). The ``pygame-ce`` wheels for Linux and macOS carry
a complete FluidSynth (with libsndfile, so SF3 loads; ``auditwheel``/``delocate`` set its
search path to its own folder), which is loaded here as a plain shared library; pygame itself
is never imported.

Order: the system library (what ``find_library`` finds, as pyfluidsynth would find it), then
the copy bundled in the ``pygame-ce`` wheel, then the one in the ``pygame`` wheel. Each is
opened with ``dlopen`` before it is chosen, so a library that is listed but does not load (a
broken install, a wrong architecture) is passed over and said why. :func:`load_pyfluidsynth`
imports pyfluidsynth with ``find_library`` answering the chosen path for the names it asks:
a narrow hook on its documented look-up, for the length of that import only.

Public API: :class:`Library`, :func:`candidates`, :func:`choose`, :func:`load_pyfluidsynth`,
``LIBRARY_HINT``.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from ..errors import OutputError

LIBRARY_HINT = ("pip install pygame-ce (its Linux and macOS wheels carry FluidSynth; moodscore "
                "depends on it there), or install the system's: apt-get install libfluidsynth3, "
                "brew install fluidsynth, or FluidSynth's Windows release in C:\\tools\\fluidsynth")
# the names pyfluidsynth 1.3-1.4 asks find_library for
SYSTEM_NAMES = ("fluidsynth", "fluidsynth-3", "libfluidsynth", "libfluidsynth-3", "libfluidsynth-2")
BUNDLES = ("pygame-ce", "pygame")  # wheels that carry libfluidsynth, in order of preference


@dataclass(frozen=True)
class Library:
    path: str  # as given to dlopen: a file, or a name the system resolves
    origin: str  # "system" or "bundled with <distribution>"
    version: str = ""

    @property
    def label(self) -> str:
        return f"FluidSynth {self.version} ({self.origin}: {self.path})"


def _bundled(dist: str) -> Iterator[str]:
    try:
        found = metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        return
    for f in found.files or []:
        name = Path(str(f)).name
        if name.startswith("libfluidsynth") and (".so" in name or name.endswith(".dylib")):
            yield str(Path(str(found.locate_file(f))).resolve())


def candidates() -> list[Library]:
    """Every FluidSynth library there is, in the order they are tried (not yet opened)."""
    found: list[Library] = []
    for name in SYSTEM_NAMES:
        path = ctypes.util.find_library(name)
        if path and all(c.path != path for c in found):
            found.append(Library(path, "system"))
    for dist in BUNDLES:
        found.extend(Library(path, f"bundled with {dist}") for path in _bundled(dist))
    return found


def _open(lib: Library) -> Library:
    handle = ctypes.CDLL(lib.path)
    handle.fluid_version_str.restype = ctypes.c_char_p
    return Library(lib.path, lib.origin, handle.fluid_version_str().decode())


def choose(options: list[Library] | None = None) -> Library:
    """The first of ``options`` (default: :func:`candidates`) that opens, with its version;
    :class:`OutputError` saying what was tried and what to install if none does."""
    options = candidates() if options is None else options
    failed: list[str] = []
    for lib in options:
        try:
            return _open(lib)
        except (OSError, AttributeError) as err:  # AttributeError: not a FluidSynth library
            failed.append(f"{lib.path} ({lib.origin}): {err}")
    tried = "; ".join(failed) if failed else "none found"
    raise OutputError(f"the embedded synth needs the FluidSynth library (tried: {tried}); "
                      f"{LIBRARY_HINT}")


def load_pyfluidsynth() -> tuple[Any, Library]:
    """pyfluidsynth's module, bound to :func:`choose`'s library, and that library.

    Already imported (by this process, earlier): that module and the library it loaded."""
    if "fluidsynth" in sys.modules:
        module = sys.modules["fluidsynth"]
        return module, _open(Library(str(module.lib), "loaded before"))
    lib = choose()
    real = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        return lib.path if name in SYSTEM_NAMES else real(name)

    ctypes.util.find_library = find_library
    try:
        # pyfluidsynth prints where it found the library to stdout when CI is set; a command's
        # stdout is its output, so that goes nowhere
        with contextlib.redirect_stdout(io.StringIO()):
            import fluidsynth
    except (ImportError, OSError) as err:
        raise OutputError(f"pyfluidsynth could not load {lib.label}: {err}; {LIBRARY_HINT}") from err
    finally:
        ctypes.util.find_library = real
    return fluidsynth, lib
