"""Sound output devices of a backend, PortAudio (``sounddevice``) or miniaudio: list, pick by name.

A name picks a host API when it is part of one's name (``jack`` is PortAudio's JACK host API,
``alsa`` its ALSA one; miniaudio's backends, JACK, ALSA, PulseAudio, count as host APIs here):
then that host API's default output. Otherwise it picks the first output device whose "device
(host API)" name contains it. Case does not matter.

miniaudio lists ALSA's ``null`` device (it discards what it plays); it is left out, as
PortAudio leaves it out, so that it is never the default.

Public API: :class:`Device`, :func:`output_devices`, :func:`find_output`, :func:`listing`,
:func:`rescan`, :func:`portaudio`, :func:`miniaudio`, ``PORTAUDIO_HINT``, ``MINIAUDIO_HINT``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import OutputError

_LIBRARY = {"portaudio": "PortAudio", "miniaudio": "miniaudio"}

PORTAUDIO_HINT = ("on Debian or Ubuntu: apt-get install libportaudio2 (macOS and Windows: "
                  "the sounddevice wheel brings PortAudio), or --audio-backend miniaudio")
MINIAUDIO_HINT = "pip install miniaudio (its wheels carry miniaudio; moodscore depends on it on Linux x86-64)"


@dataclass(frozen=True)
class Device:
    index: int
    name: str
    hostapi: str
    channels: int
    rate: float
    latency: float  # PortAudio's default low output latency, seconds (miniaudio: 0, not known)
    default: bool
    backend: str = "portaudio"
    handle: Any = field(default=None, compare=False, repr=False)  # miniaudio: (backend, device id)

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


def miniaudio() -> Any:
    """The ``miniaudio`` module; :class:`OutputError` saying what to install."""
    try:
        import miniaudio as module
    except (ImportError, OSError) as err:
        raise OutputError(f"miniaudio is not installed ({err}); {MINIAUDIO_HINT}") from err
    return module


def rescan() -> None:
    """Make PortAudio look for devices again (one that came back, a restarted JACK server)."""
    sd = portaudio()
    sd._terminate()  # PortAudio lists devices only when it starts; no stream may be open
    sd._initialize()


def output_devices(backend: str = "portaudio") -> list[Device]:
    if backend == "miniaudio":
        return _miniaudio_devices()
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


def _miniaudio_devices() -> list[Device]:
    ma = miniaudio()
    found: list[Device] = []
    for api in ma.Backend:  # miniaudio's own order of preference
        if api in (ma.Backend.CUSTOM, ma.Backend.NULL) or not ma.is_backend_enabled(api):
            continue
        try:
            context = ma.Devices([api])  # a backend whose server or library is not there fails
            playbacks = context.get_playbacks()
        except ma.MiniaudioError:
            continue
        for info in playbacks:
            if api == ma.Backend.ALSA and bytes(ma.ffi.buffer(info["id"])).split(b"\0")[0] == b"null":
                continue
            formats = info.get("formats") or []
            rate = next((f["samplerate"] for f in formats if f["samplerate"]), 48000)
            channels = max([f["channels"] for f in formats] + [2]) if formats else 2
            found.append(Device(len(found), str(info["name"]), str(context.backend), channels,
                                float(rate), 0.0, not found, "miniaudio", (api, info["id"])))
    return found


def listing(devices: list[Device] | None = None, backend: str = "portaudio") -> str:
    devices = output_devices(backend) if devices is None else devices
    return ", ".join(f"{d.label}{' [default]' if d.default else ''}" for d in devices) or "none"


def find_output(name: str | None = None, backend: str = "portaudio") -> Device:
    """The output device ``name`` picks (None: the default one); :class:`OutputError` if none."""
    devices = output_devices(backend)
    if not devices:
        raise OutputError(f"no sound output device found ({_LIBRARY[backend]} lists none; is a "
                          "sound server or JACK running?)")
    if name is None:
        return next((d for d in devices if d.default), devices[0])
    needle = name.lower()
    if backend == "miniaudio":
        found = next((d for d in devices if needle in d.hostapi.lower()), None)
        found = found or next((d for d in devices if needle in d.label.lower()), None)
        if found is None:
            raise OutputError(f"no sound output device matching {name!r}; devices: {listing(devices)} "
                              "(give any part of a device or host API name)")
        return found
    for api in portaudio().query_hostapis():
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
