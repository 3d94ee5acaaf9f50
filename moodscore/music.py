"""Plain musical values shared by the models, the engine and the writers.

Times are in quarter-note beats (floats), pitches are MIDI numbers. Nothing here does I/O.

Public API: :class:`Meter`, :class:`Note`, :class:`Phrase`, :func:`notes_to_steps`, ``MODES``,
``MODE_STEPS``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .compiled import mypyc_attr

# Church modes by brightness (most sharps first); semitone steps of each scale from its tonic.
MODE_STEPS: dict[str, tuple[int, ...]] = {
    "lyd": (0, 2, 4, 6, 7, 9, 11),
    "maj": (0, 2, 4, 5, 7, 9, 11),
    "mix": (0, 2, 4, 5, 7, 9, 10),
    "dor": (0, 2, 3, 5, 7, 9, 10),
    "min": (0, 2, 3, 5, 7, 8, 10),
    "phr": (0, 1, 3, 5, 7, 8, 10),
    "loc": (0, 1, 3, 5, 6, 8, 10),
}
MODES: tuple[str, ...] = tuple(MODE_STEPS)


@dataclass(frozen=True)
class Meter:
    """A time signature such as 4/4 or 6/8."""

    numerator: int = 4
    denominator: int = 4

    @classmethod
    def parse(cls, text: str) -> "Meter":
        num, _, den = text.strip().partition("/")
        if not (num.isdigit() and den.isdigit()) or int(den) not in (2, 4, 8, 16) or int(num) < 1:
            raise ValueError(f"meter must look like 4/4, 3/4 or 6/8, got {text!r}")
        return cls(int(num), int(den))

    @property
    def beats(self) -> float:
        """Bar length in quarter-note beats."""
        return self.numerator * 4.0 / self.denominator

    @property
    def ticks(self) -> int:
        """Bar length in thirty-second notes (the grid every model works on)."""
        return self.numerator * 32 // self.denominator

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}"


@mypyc_attr(acyclic=True)
@dataclass(unsafe_hash=True, init=False)
class Note:
    """One note: MIDI pitch, onset and length in beats, velocity and MIDI channel (0-15).

    A value: compared and hashed by its fields, never changed once made (the engine shares
    notes between phrases; ``dataclasses.replace`` makes a changed copy). Not frozen, and with
    its own ``__init__``, because a compiled build makes one natively (0.09 us against 0.9 for a
    frozen dataclass's) and keeps it out of the garbage collector, which a host's phrases make
    tens of thousands of a second."""

    pitch: int
    start: float
    duration: float
    velocity: int
    channel: int

    def __init__(self, pitch: int, start: float, duration: float, velocity: int = 80, channel: int = 0) -> None:
        self.pitch = pitch
        self.start = start
        self.duration = duration
        self.velocity = velocity
        self.channel = channel


@dataclass
class Phrase:
    """A span of whole bars of melody, as generated: notes relative to the phrase start."""

    notes: list[Note]
    bars: int
    meter: Meter = field(default_factory=Meter)
    tonic: int = 0  # pitch class of the tonic the notes are written in
    mode: str = "maj"
    abc: str = ""  # the phrase body in ABC, when the model produced ABC
    tokens: list[str] = field(default_factory=list)

    @property
    def beats(self) -> float:
        return self.bars * self.meter.beats


def notes_to_steps(notes: list[Note]) -> np.ndarray:
    """(pitch, step, duration) rows, step being beats since the previous onset (0 for the first):
    the note representation of the LSTM."""
    rows = np.zeros((len(notes), 3), dtype=np.float32)
    prev = notes[0].start if notes else 0.0
    for i, n in enumerate(notes):
        rows[i] = (n.pitch, n.start - prev, n.duration)
        prev = n.start
    return rows
