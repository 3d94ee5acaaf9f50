"""Sound output devices through PortAudio (``sounddevice``): list them, pick one by name.

A name picks a host API when it is part of one's name (``jack`` is PortAudio's JACK host API,
``alsa`` its ALSA one): then that host API's default output. Otherwise it picks the first output
device whose "device (host API)" name contains it. Case does not matter.

Public API: :class:`Device`, :func:`output_devices`, :func:`find_output`, :func:`listing`,
:func:`rescan`, :func:`portaudio`, ``PORTAUDIO_HINT``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import OutputError

PORTAUDIO_HINT = ("on Debian or Ubuntu: apt-get install libportaudio2 (macOS and Windows: "
                  "the sounddevice wheel brings PortAudio)")


@dataclass(frozen=True)
class Device:
    index: int
    name: str
    hostapi: str
    channels: int
    rate: float
    latency: float  # PortAudio's default low output latency, seconds
    default: bool

    @property
    def label(self) -> str:
        return f"{self.name} ({self.hostapi})"


def portaudio() -> Any:
    """The ``sounddevice`` module; :class:`OutputError` saying what to install."""
    try:
        import sounddevice
    except OSError as err:  # the wheel is there, the PortAudio library is not
        raise OutputError(f"PortAudio is not installed ({err}); {PORTAUDIO_HINT}") from err
    except ImportError as err:
        raise OutputError(f"sounddevice is not installed ({err}); pip install sounddevice") from err
    return sounddevice


def rescan() -> None:
    """Make PortAudio look for devices again (one that came back, a restarted JACK server)."""
    sd = portaudio()
    sd._terminate()  # PortAudio lists devices only when it starts; no stream may be open
    sd._initialize()


def output_devices() -> list[Device]:
    sd = portaudio()
    apis = sd.query_hostapis()
    try:
        default = int(sd.default.device[1])
    except (TypeError, ValueError):
        default = -1
    if default < 0:
        default = int(sd.query_hostapis(0)["default_output_device"]) if apis else -1
    return [Device(int(d["index"]), str(d["name"]), str(apis[d["hostapi"]]["name"]),
                   int(d["max_output_channels"]), float(d["default_samplerate"]),
                   float(d["default_low_output_latency"]), int(d["index"]) == default)
            for d in sd.query_devices() if d["max_output_channels"] > 0]


def listing(devices: list[Device] | None = None) -> str:
    devices = output_devices() if devices is None else devices
    return ", ".join(f"{d.label}{' [default]' if d.default else ''}" for d in devices) or "none"


def find_output(name: str | None = None) -> Device:
    """The output device ``name`` picks (None: the default one); :class:`OutputError` if none."""
    sd = portaudio()
    devices = output_devices()
    if not devices:
        raise OutputError("no sound output device found (PortAudio lists none; is a sound "
                          "server or JACK running?)")
    if name is None:
        return next((d for d in devices if d.default), devices[0])
    needle = name.lower()
    for api in sd.query_hostapis():
        if needle in str(api["name"]).lower():
            index = int(api["default_output_device"])
            found = next((d for d in devices if d.index == index), None)
            found = found or next((d for d in devices if d.hostapi == api["name"]), None)
            if found is not None:
                return found
    found = next((d for d in devices if needle in d.label.lower()), None)
    if found is None:
        raise OutputError(f"no sound output device matching {name!r}; devices: {listing(devices)} "
                          "(give any part of a device or host API name)")
    return found
