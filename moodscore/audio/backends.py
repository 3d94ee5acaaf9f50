"""Which sound output backend plays the embedded synth: PortAudio first, miniaudio without it.

PortAudio (``sounddevice``) is the first choice: its host APIs report the output latency and
underflows, and its JACK ports are ``PortAudio:out_*``. On Linux no wheel carries the PortAudio
library (Debian: ``libportaudio2``); there the ``miniaudio`` wheel, which has miniaudio compiled
in and opens PulseAudio, ALSA or JACK when it plays, is the fallback, so that ``pip install``
alone is heard. ``auto`` takes the first backend whose library loads; a named one is that one
or a one-line error.

Public API: ``CHOICES``, :func:`order`, :func:`load`, :func:`pick`.
"""
from __future__ import annotations

from typing import Any

from ..errors import OutputError
from .devices import miniaudio, portaudio

CHOICES = ("auto", "portaudio", "miniaudio")
_LOADERS = {"portaudio": portaudio, "miniaudio": miniaudio}


def order(requested: str) -> tuple[str, ...]:
    """The backends ``requested`` tries, in order."""
    if requested not in CHOICES:
        raise OutputError(f"unknown audio backend {requested!r}; choose one of {', '.join(CHOICES)}")
    return ("portaudio", "miniaudio") if requested == "auto" else (requested,)


def load(name: str) -> Any:
    """The module of backend ``name`` (``sounddevice`` or ``miniaudio``); OutputError if it cannot load."""
    return _LOADERS[name]()


def pick(requested: str = "auto") -> tuple[str, Any]:
    """(name, module) of the first backend in :func:`order` that loads; an OutputError that says
    why each failed if none does."""
    failed: list[str] = []
    for name in order(requested):
        try:
            return name, load(name)
        except OutputError as err:
            failed.append(str(err))
    raise OutputError("no sound output backend can load: " + "; ".join(failed))
