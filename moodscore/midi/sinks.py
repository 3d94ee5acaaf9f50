"""MIDI sinks: where scheduled messages go.

All follow the :class:`~moodscore.midi.base.MidiSink` contract (``open``/``send``/``close``,
context manager, ``poll`` to get a lost endpoint back):

- :class:`RtMidiSink`: a hardware or software port through python-rtmidi, chosen by API
  (``alsa``, ``jack``, ``coremidi``, ``winmm``) with mido's backend names, or a virtual port
  other programs connect to.
- :class:`FileRecorder`: every message at its scheduled (else send) time into a Standard MIDI
  File (type 0, 120 bpm, 480 ticks per beat), written atomically on close.
- :class:`ListSink`: ``(time, message)`` pairs in memory, for offline renders and tests.
- :class:`TeeSink`: the same messages to several sinks.

Public API: :class:`MidiSink`, :class:`RtMidiSink`, :class:`FileRecorder`, :class:`ListSink`,
:class:`TeeSink`, :func:`available_ports`, ``APIS``.
"""
from __future__ import annotations

import io
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import mido

from ..errors import ConfigError, OutputError
from ..export.atomic import atomic_write_bytes
from .base import MidiSink

__all__ = ["APIS", "FileRecorder", "ListSink", "MidiSink", "RtMidiSink", "TeeSink",
           "available_ports"]

log = logging.getLogger(__name__)

# Our short names -> mido's rtmidi API names ('mido.backends.rtmidi/<name>').
APIS = {"alsa": "LINUX_ALSA", "jack": "UNIX_JACK", "coremidi": "MACOSX_CORE", "winmm": "WINDOWS_MM"}
TICKS_PER_BEAT = 480
TEMPO_BPM = 120


def _backend(api: str | None) -> mido.Backend:
    if api is not None and api not in APIS:
        raise ConfigError(f"api must be one of {', '.join(APIS)} or None, got {api!r}")
    backend = mido.Backend("mido.backends.rtmidi" + (f"/{APIS[api]}" if api else ""),
                           use_environ=False)
    try:
        compiled = backend.module.get_api_names()
    except ImportError as err:
        raise OutputError(f"python-rtmidi is not importable ({err}); pip install python-rtmidi") from err
    if api is not None and APIS[api] not in compiled:
        have = ", ".join(k for k, v in APIS.items() if v in compiled) or "none"
        raise OutputError(f"python-rtmidi was built without {api} support (it has: {have})")
    return backend


def available_ports(api: str | None = None) -> list[str]:
    """Names of the MIDI outputs that ``api`` (None: rtmidi's default) can open now."""
    backend = _backend(api)
    try:
        return list(backend.get_output_names())
    except Exception as err:  # rtmidi raises its own SystemError when e.g. JACK is not running
        raise OutputError(f"cannot list MIDI outputs ({api or 'default API'}): {err}") from err


def _match(pattern: str, names: list[str]) -> str | None:
    """The first name containing ``pattern``, case-insensitively."""
    needle = pattern.lower()
    return next((n for n in names if needle in n.lower()), None)


class RtMidiSink(MidiSink):
    """An rtmidi output: the first port whose name contains ``port``, or a new ``virtual`` one.

    With neither, the first available output is used. A port opened by name is watched: when
    it vanishes the sink is lost (messages are dropped and counted) and :meth:`poll` reopens
    the first port matching ``port`` once one exists again. A virtual port is ours, so it only
    goes away with the MIDI server; call :meth:`reconnect` after restarting the server.
    """

    def __init__(self, port: str | None = None, *, virtual: str | None = None,
                 api: str | None = None, client_name: str = "moodscore") -> None:
        super().__init__()
        if port is not None and virtual is not None:
            raise ConfigError("give port (an existing output) or virtual (a new one), not both")
        if api is not None and api not in APIS:
            raise ConfigError(f"api must be one of {', '.join(APIS)} or None, got {api!r}")
        if virtual is not None and (api == "winmm" or (api is None and sys.platform == "win32")):
            raise OutputError("virtual ports are not supported by Windows MultiMedia (winmm); "
                              "create a loopback port (e.g. loopMIDI) and pass port= instead")
        self.port, self.virtual, self.api, self.client_name = port, virtual, api, client_name
        self.name = virtual or port or "first output"
        self.port_name: str | None = None  # the full name of what was opened
        self._port: mido.ports.BaseOutput | None = None

    def _open(self) -> None:
        backend = _backend(self.api)
        label = self.api or "default API"
        if self.virtual is not None:
            target, kwargs = self.virtual, {"client_name": self.client_name}
        else:
            names = available_ports(self.api)
            found = names[0] if self.port is None and names else _match(self.port or "", names)
            if found is None:
                wanted = f"matching {self.port!r} " if self.port is not None else ""
                raise OutputError(f"no MIDI output {wanted}on {label}; available: "
                                  f"{', '.join(names) or 'none'}")
            target, kwargs = found, {}
        try:
            self._port = backend.open_output(target, **kwargs)
        except Exception as err:
            try:
                names = available_ports(self.api)
            except OutputError:
                names = []
            kind = "virtual MIDI output" if self.virtual is not None else "MIDI output"
            hint = ("; with no MIDI system here, try --midi-api jack (with a JACK server running) "
                    "or only --record out.mid") if not names else ""
            raise OutputError(f"cannot open {kind} {target!r} on {label}: {err}; available: "
                              f"{', '.join(names) or 'none'}{hint}") from err
        self.port_name = self._port.name

    def _send(self, msg: mido.Message) -> None:
        assert self._port is not None
        self._port.send(msg)

    def _close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            port.close()

    def _check(self) -> bool:
        if self.virtual is not None or self._port is None:
            return True
        # Ask the client we already have: the public listing would start two new clients.
        rt = getattr(self._port, "_rt", None)
        return rt is None or self.port_name in rt.get_ports()

    def _probe(self) -> bool:
        if self.virtual is not None:
            return True
        names = available_ports(self.api)
        return bool(names) if self.port is None else _match(self.port, names) is not None


class ListSink(MidiSink):
    """Keeps ``(time, message)`` in :attr:`messages`; ``clock`` gives the time."""

    name = "list"

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__()
        self.clock = clock
        self.messages: list[tuple[float, mido.Message]] = []

    def _send(self, msg: mido.Message) -> None:
        self.messages.append((self.clock(), msg.copy()))


class TeeSink(MidiSink):
    """Sends every message to each of ``sinks``; each one handles losing its endpoint."""

    def __init__(self, *sinks: MidiSink) -> None:
        super().__init__()
        if not sinks:
            raise ConfigError("TeeSink needs at least one sink")
        self.sinks = sinks
        self.name = "tee(" + ", ".join(s.name for s in sinks) + ")"

    @property
    def connected(self) -> bool:
        return super().connected and all(s.connected for s in self.sinks)

    def _open(self) -> None:
        opened: list[MidiSink] = []
        try:
            for sink in self.sinks:
                opened.append(sink.open())
        except BaseException:
            for sink in opened:
                sink.close()
            raise

    def _send(self, msg: mido.Message) -> None:
        self._send_at(msg, None)

    def _send_at(self, msg: mido.Message, at: float | None) -> None:
        for sink in self.sinks:
            sink.send(msg, at)

    def _close(self) -> None:
        errors = []
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as err:
                errors.append(err)
        if errors:
            raise errors[0]

    def poll(self) -> bool:
        # Each child polls on its own lock, so a slow probe never holds up the others.
        if not self.is_open:
            return False
        return all([sink.poll() for sink in self.sinks])  # a list: poll every one


class FileRecorder(MidiSink):
    """Records each message at its scheduled time (its send time when it has none); writes a
    type 0 SMF at ``path`` on close.

    Times are seconds from :meth:`open` by ``clock``, stored as ticks at 120 bpm and 480 ticks
    per beat (960 per second). Realtime and system common messages (MIDI clock, start, stop,
    ...) have no place in a file and are counted in :attr:`skipped`.
    """

    def __init__(self, path: str | os.PathLike[str], *,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__()
        self.path = Path(path)
        self.name = str(self.path)
        self.clock = clock
        self.events: list[tuple[float, mido.Message]] = []
        self.skipped = 0
        self._t0 = 0.0

    def _open(self) -> None:
        folder = self.path.absolute().parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise OutputError(f"cannot record to {self.path}: {folder} is not a writable folder")
        self.events, self.skipped, self._t0 = [], 0, self.clock()

    def _send(self, msg: mido.Message) -> None:
        self._send_at(msg, None)

    def _send_at(self, msg: mido.Message, at: float | None) -> None:
        # the time it was scheduled for, when known: the file then has no send jitter
        if hasattr(msg, "channel") or msg.type == "sysex":
            self.events.append(((self.clock() if at is None else at) - self._t0, msg.copy()))
        else:
            self.skipped += 1

    def _close(self) -> None:
        atomic_write_bytes(self.path, self.to_bytes())
        log.info("recorded %d MIDI messages to %s", len(self.events), self.path)

    def to_bytes(self) -> bytes:
        """The Standard MIDI File of what was recorded so far."""
        ticks_per_second = TICKS_PER_BEAT * TEMPO_BPM / 60.0
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(TEMPO_BPM), time=0))
        previous = 0
        # From absolute ticks, so rounding never accumulates over a long session.
        for seconds, msg in sorted(self.events, key=lambda item: item[0]):
            tick = max(0, round(seconds * ticks_per_second))
            track.append(msg.copy(time=tick - previous))
            previous = tick
        track.append(mido.MetaMessage("end_of_track", time=0))
        midi = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
        midi.tracks.append(track)
        buffer = io.BytesIO()
        midi.save(file=buffer)
        return buffer.getvalue()
