"""Live MIDI output: sinks (rtmidi ports, a file recorder, memory) and the real-time scheduler.

Public API: :class:`MidiSink`, :class:`RtMidiSink`, :class:`FileRecorder`, :class:`ListSink`,
:class:`TeeSink`, :func:`available_ports`, :class:`MidiScheduler`,
:func:`install_signal_handlers`, :func:`panic_messages`.
"""
from __future__ import annotations

from .scheduler import MidiScheduler, install_signal_handlers, panic_messages
from .sinks import (
           FileRecorder,
           ListSink,
           MidiSink,
           RtMidiSink,
           TeeSink,
           available_ports,
)

__all__ = ["FileRecorder", "ListSink", "MidiScheduler", "MidiSink", "RtMidiSink", "TeeSink",
           "available_ports", "install_signal_handlers", "panic_messages"]
