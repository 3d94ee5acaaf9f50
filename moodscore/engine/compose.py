"""Offline composition: a fixed mood to a piece of whole phrases, melody and accompaniment.

The generator writes melodies in C in the corpus register; here they are performed: moved to
the template's tonic and octave, given the mood's velocity, and arranged. Pure: the caller
writes the files.

Public API: :class:`Piece`, :func:`perform`, :func:`perform_note`, :func:`compose`, ``PHRASE_BARS``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..arranger import arrange, melody_velocities
from ..arranger.styles import Style, default_style
from ..models.abc import Spelled, body_to_abc, key_field, spell_midi, transpose_tokens
from ..music import Meter, Note, Phrase
from .template import Controls, Template, controls
from .theme import Theme, ThemePlan, splice

PHRASE_BARS = 4


@dataclass
class Piece:
    phrases: list[Phrase]  # performed melody: tonic, octave and velocity applied
    accompaniment: list[list]  # notes per phrase
    controls: Controls
    meter: Meter
    tonic: int
    abc_body: str  # the melody in the key of ``key_field``
    key_field: str
    style: Style | None = None
    intensity: float | None = None  # None: from the arousal


def tonic_spelling(pc: int, mode: str) -> Spelled:
    """A readable tonic for pitch class ``pc``: sharps for sharp keys, flats for flat ones."""
    major_like = mode in ("maj", "mix", "lyd")
    flat = pc in ((1, 3, 5, 8, 10) if major_like else (0, 2, 3, 5, 7, 10))
    sp = spell_midi(60 + pc, (-1,) * 7 if flat else (0,) * 7)
    return Spelled(sp.step, 4, sp.alter)


def perform_note(note: Note, ctl: Controls, tonic: int) -> Note:
    """One C-tonic note moved to ``tonic`` and the mood's octave, at the mood's velocity."""
    shift = tonic - (12 if tonic > 6 else 0) + ctl.octave_shift_semitones
    return Note(min(127, max(0, note.pitch + shift)), note.start, note.duration, ctl.velocity, note.channel)


def perform(phrase: Phrase, ctl: Controls, tonic: int) -> Phrase:
    """Move a C-tonic phrase to ``tonic`` and the mood's octave, at the mood's velocity."""
    return replace(phrase, notes=[perform_note(n, ctl, tonic) for n in phrase.notes], tonic=tonic)


def compose(generator, valence: float, arousal: float, *, bars: int, seed: int,
            template: Template | None = None, meter: Meter = Meter(), style: Style | None = None,
            intensity: float | None = None, theme: Theme | None = None) -> Piece:
    """Generate ``bars`` bars (whole phrases of four, the last one shorter if need be), arranged
    in ``style`` at ``intensity`` (default: from the arousal). The first phrase's motif, or
    ``theme``, comes back as :class:`~.theme.ThemePlan` says, as in the conductor."""
    template = template or Template()
    style = style or default_style()
    ctl = controls(valence, arousal, template)
    rng = np.random.default_rng(seed)
    raw: list[Phrase] = []
    themes = ThemePlan(theme)
    left = bars
    while left > 0:
        n = min(PHRASE_BARS, left)
        head = themes.head(len(raw), ctl.mode, meter, n) if n == PHRASE_BARS else None
        context = head if head is not None else (raw[-1] if raw else None)
        phrase = generator.next_phrase(context, ctl.valence, ctl.arousal,
                                       mode=ctl.mode, meter=meter, bars=n, rng=rng)
        if head is not None:
            phrase = splice(head, phrase, n)
            themes.opened(head)
        themes.capture(len(raw), phrase)
        raw.append(phrase)
        left -= n
    performed = [perform(p, ctl, template.tonic) for p in raw]
    accompaniment = [arrange(p, ctl, seed=seed + i * PHRASE_BARS, style=style, intensity=intensity,
                             phrase_index=i) for i, p in enumerate(performed)]
    performed = [replace(p, notes=[replace(n, velocity=v) for n, v in zip(
        p.notes, melody_velocities(p, ctl.velocity, seed=seed + i, style=style))])
        for i, p in enumerate(performed)]
    tonic = tonic_spelling(template.tonic, ctl.mode)
    tokens = [t for p in raw for t in p.tokens]
    body = body_to_abc(transpose_tokens(tokens, meter, ctl.mode, tonic))
    return Piece(performed, accompaniment, ctl, meter, template.tonic, body, key_field(ctl.mode, tonic),
                 style, intensity)
