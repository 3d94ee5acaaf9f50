"""Fixtures for the demo tests: ``moodscore demo --no-browser`` in a process of its own, and the
checks that the Debian parts are there (FluidSynth, a GM SoundFont, Chromium), which fail, not
skip, naming the package when one is missing.
"""
from __future__ import annotations

import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from support import ServerProcess, free_port

CHROMIUM = Path("/usr/bin/chromium")


def missing(what: str, install: str) -> NoReturn:
    pytest.fail(f"{what} is missing. {install}", pytrace=False)


def need_fluidsynth() -> None:
    if shutil.which("fluidsynth") is None:
        missing("FluidSynth (fluidsynth on PATH)", "On Debian or Ubuntu: apt-get install -y fluidsynth")
    from moodscore.export.audio import SOUNDFONT_PATHS

    if not any(Path(p).is_file() for p in SOUNDFONT_PATHS):
        missing("A General MIDI SoundFont", "On Debian or Ubuntu: apt-get install -y fluid-soundfont-gm")


def need_chromium() -> None:
    if not CHROMIUM.is_file():
        missing(f"Chromium ({CHROMIUM})", "On Debian or Ubuntu: apt-get install -y chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing("The Python package playwright", "pip install playwright (it drives the installed "
                "Chromium; no browser download is needed)")


class DemoServer(ServerProcess):
    """``moodscore demo --no-browser`` on a free port; ``url``, ``log()``, ``close()``."""

    def __init__(self, folder: Path, *extra: str, model: str = "lstm") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port(socket.SOCK_STREAM)
        self.url = f"http://127.0.0.1:{self.port}/"
        super().__init__([sys.executable, "-m", "moodscore.cli", "demo", "--no-browser", "--port",
                          str(self.port), "--model", model, *extra], folder / "demo.log",
                         "playing; page and WebSocket", "moodscore demo")


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[DemoServer]:
    server = DemoServer(tmp_path / "demo")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def fluidsynth() -> None:
    """FluidSynth and a GM SoundFont are installed (else the test fails, naming the packages)."""
    need_fluidsynth()


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium and the playwright package are installed (else the test fails)."""
    need_chromium()
    return CHROMIUM
