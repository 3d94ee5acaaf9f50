"""Fixtures shared by every test folder: a private JACK server (dummy driver).

The JACK tests run against a real ``jackd`` and fail, not skip, when it is missing: CI installs
it with ``apt-get install -y jackd2``.
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest


def _fail(why: str) -> NoReturn:
    pytest.fail(f"{why}\nThe JACK tests need a JACK server: apt-get install -y jackd2", pytrace=False)


class JackServer:
    """A ``jackd -d dummy`` under a name of its own, so parallel test runs never share one."""

    def __init__(self, name: str, jackd: str, jack_lsp: str, log_path: Path) -> None:
        self.name, self.jackd, self.jack_lsp, self.log_path = name, jackd, jack_lsp, log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.realtime = False
        self._since = 0

    def start(self) -> None:
        """Start realtime where the machine allows it, else with ``--no-realtime``.

        Without realtime scheduling a busy machine makes jackd miss cycles (xruns), and JACK
        drops the MIDI of a missed cycle: measured here, 1-2 messages in 2000 under load.
        ``MOODSCORE_TEST_JACK_REALTIME=0`` forces ``--no-realtime``.
        """
        self.realtime = os.environ.get("MOODSCORE_TEST_JACK_REALTIME", "1") != "0"
        self._launch("-R" if self.realtime else "--no-realtime")
        if self.realtime and "Cannot use real-time scheduling" in self.log()[self._since:]:
            self.stop()
            self.realtime = False
            self._launch("--no-realtime")

    def _launch(self, mode: str) -> None:
        self._since = len(self.log()) if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([self.jackd, "-n", self.name, mode, "-d", "dummy",
                                          "-r", "48000", "-p", "256"],
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                _fail(f"jackd exited with {self.proc.returncode}:\n{self.log()}")
            ports = subprocess.run([self.jack_lsp], capture_output=True, text=True, timeout=10)
            if ports.returncode == 0 and "system:" in ports.stdout:
                return
            if time.monotonic() > deadline:
                _fail(f"jackd did not come up in 15 s:\n{self.log()}")
            time.sleep(0.05)

    def xruns(self) -> int:
        """How many missed cycles jackd has reported this session."""
        return self.log().count("XRun")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="session")
def jack_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JackServer]:
    """A private JACK server for this session; every JACK client here connects to it."""
    jackd, jack_lsp = shutil.which("jackd"), shutil.which("jack_lsp")
    if jackd is None or jack_lsp is None:
        _fail("jackd or jack_lsp is not on PATH.")
    import rtmidi

    if rtmidi.API_UNIX_JACK not in rtmidi.get_compiled_api():
        pytest.fail("python-rtmidi was built without JACK support; reinstall it from a wheel "
                    "or build it against libjack-jackd2-dev", pytrace=False)
    name = f"moodscore-test-{os.getpid()}-{secrets.token_hex(3)}"
    env = {"JACK_DEFAULT_SERVER": name,  # every client in this process talks to our server
           "JACK_NO_START_SERVER": "1",  # and never starts another one by itself
           "JACK_NO_AUDIO_RESERVATION": "1"}  # no D-Bus device reservation in containers
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    server = JackServer(name, jackd, jack_lsp, tmp_path_factory.mktemp("jack") / "jackd.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
