"""Stingers: short motifs played over the music at the next beat, as Wwise and FMOD have them.

Each motif is scale degrees of the current mode with lengths in beats, so a stinger fits the
key it lands in; its register and loudness follow the mood. Pure.

Public API: ``STINGERS``, :func:`stinger_notes`.
"""
from __future__ import annotations

from ..music import MODE_STEPS, Note
from .template import Controls

# name -> (scale degree from the tonic, octave offset, length in beats)
STINGERS: dict[str, tuple[tuple[int, int, float], ...]] = {
    "rise": ((0, 0, 0.25), (2, 0, 0.25), (4, 0, 0.25), (0, 1, 1.0)),
    "fall": ((0, 1, 0.25), (4, 0, 0.25), (2, 0, 0.25), (0, 0, 1.0)),
    "hit": ((0, 0, 1.0),),
    "victory": ((4, 0, 0.33), (4, 0, 0.33), (4, 0, 0.34), (0, 1, 1.5)),
    "defeat": ((4, 0, 0.75), (3, 0, 0.75), (2, 0, 0.75), (1, 0, 1.5)),
    "discovery": ((0, 0, 0.5), (4, 0, 0.5), (1, 1, 0.5), (2, 1, 1.0)),
}


def stinger_notes(name: str, ctl: Controls, tonic: int) -> list[Note]:
    """The motif's notes (start in beats from the stinger's beat), in the mood's mode and key.

    ``hit`` is struck as a triad; the others are melodic.
    """
    steps = MODE_STEPS[ctl.mode]
    base = 60 + tonic + ctl.octave_shift_semitones
    velocity = min(127, ctl.velocity + 10)
    notes: list[Note] = []
    t = 0.0
    for degree, octave, length in STINGERS[name]:
        pitch = base + 12 * octave + steps[degree % 7]
        if name == "hit":
            notes += [Note(base + steps[d], t, length, velocity) for d in (0, 2, 4)]
        else:
            notes.append(Note(pitch, t, length, velocity))
        t += length
    return notes
