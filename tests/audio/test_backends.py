"""The output backend: the order ``auto`` tries, a named one, a bad name; miniaudio's devices on a
real JACK server (dummy driver): listed, picked by any part of a name, lost and reopened."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from moodscore.audio.backends import CHOICES, order
from moodscore.audio.devices import find_output, output_devices
from moodscore.errors import OutputError
from support import Engine, free_port, wait_until
from test_pip_only import record
from test_serve_audio import read_wav

if TYPE_CHECKING:
    from conftest import JackServer


def test_auto_tries_portaudio_then_miniaudio_and_a_named_backend_alone() -> None:
    assert CHOICES == ("auto", "portaudio", "miniaudio")
    assert order("auto") == ("portaudio", "miniaudio")
    assert order("miniaudio") == ("miniaudio",) and order("portaudio") == ("portaudio",)
    with pytest.raises(OutputError, match=r"^unknown audio backend 'pulse'; choose one of auto, portaudio, miniaudio$"):
        order("pulse")


def test_auto_picks_portaudio_where_it_loads() -> None:
    # this machine has libportaudio2 (scripts/test.sh installs it): the first choice stays first.
    # In a process of its own: PortAudio started in the test process joins the tests' JACK
    # server, and its exit-time Pa_Terminate aborts the process once that server is gone
    script = ("from moodscore.audio.backends import pick\n"
              "print([(name, module.__name__) for name, module in (pick('auto'), pick('miniaudio'))])")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[('portaudio', 'sounddevice'), ('miniaudio', 'miniaudio')]", done.stdout


def test_a_bad_backend_name_is_one_line_at_the_command_line() -> None:
    done = subprocess.run([sys.executable, "-m", "moodscore.cli", "serve", "--audio-backend", "pulse"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "moodscore serve: argument --audio-backend: invalid choice: 'pulse' (choose from "
        "'auto', 'portaudio', 'miniaudio')"], done.stderr


def test_miniaudio_lists_and_picks_jack_and_says_an_unknown_device_in_one_line(jack_server: JackServer) -> None:
    devices = output_devices("miniaudio")
    # ALSA's "null" device (it discards what it plays) is left out, so JACK's is the default here
    assert [d.label for d in devices if d.default] == ["Default Playback Device (JACK)"], devices
    assert find_output("jack", "miniaudio").hostapi == "JACK"
    assert find_output("default playback", "miniaudio").hostapi == "JACK"
    with pytest.raises(OutputError, match=r"^no sound output device matching 'no-such-card'; devices: "
                       r"Default Playback Device \(JACK\) \[default\] \(give any part"):
        find_output("no-such-card", "miniaudio")
    listed = subprocess.run([sys.executable, "-m", "moodscore.cli", "serve", "--audio-device", "list",
                             "--audio-backend", "miniaudio"], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and "Default Playback Device (JACK)" in listed.stdout, listed
    unknown = subprocess.run([sys.executable, "-m", "moodscore.cli", "serve", "--audio-backend", "miniaudio",
                              "--audio-device", "no-such-card", "--osc-port", str(free_port(socket.SOCK_DGRAM)),
                              "--ws-port", str(free_port(socket.SOCK_STREAM))],
                             capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines() == [
        "moodscore: no sound output device matching 'no-such-card'; devices: Default Playback Device "
        "(JACK) [default] (give any part of a device or host API name)"], unknown.stderr
