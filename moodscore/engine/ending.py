"""A musical ending: a cadence bar and a final chord, for ``stop`` at a bar or phrase.

:func:`ending_phrase` keeps the melody of the bar that closes (the last bar before the
boundary) and adds the tonic, held through a final bar; :func:`ending_accompaniment` harmonises
the two bars with an authentic cadence (V or V7, sometimes suspended, then I on the final bar's
downbeat) and holds each chord on the pad with its root in the bass. Pure.

Public API: :func:`ending_phrase`, :func:`ending_accompaniment`, ``ENDING_BARS``.
"""
from __future__ import annotations

import random
from dataclasses import replace

from ..arranger.harmony import plan_harmony, voice_chords
from ..music import Meter, Note, Phrase
from .template import Controls

ENDING_BARS = 2  # the cadence bar and the final bar
PAD_CHANNEL, BASS_CHANNEL = 1, 2
_EPS = 1e-9


def ending_phrase(source: Phrase, index: int, meter: Meter) -> Phrase:
    """Bar ``index`` of ``source`` (C tonic) as a cadence bar, then the tonic held a bar."""
    beats = meter.beats
    lo, hi = index * beats, (index + 1) * beats
    notes = [replace(n, start=n.start - lo, duration=min(n.duration, hi - n.start))
             for n in source.notes if lo - _EPS <= n.start < hi - _EPS]
    last = notes[-1].pitch if notes else 72
    tonic = min((p for p in range(last - 12, last + 13) if p % 12 == 0), key=lambda p: (abs(p - last), p))
    velocity = notes[-1].velocity if notes else 80
    final = Note(tonic, beats, beats, velocity, notes[-1].channel if notes else 0)
    return Phrase(notes + [final], ENDING_BARS, meter, source.tonic, source.mode)


def ending_accompaniment(performed: Phrase, ctl: Controls, *, seed: int = 0) -> list[Note]:
    """Held chords over the two ending bars of ``performed`` (its melody in its key): an
    authentic cadence landing on the final bar's downbeat, a softer final chord."""
    chords = plan_harmony(performed, valence=ctl.valence, arousal=ctl.arousal, period_end=True,
                          cadences=("authentic",), rng=random.Random(seed), final_downbeat=True)
    out: list[Note] = []
    for chord, voicing in zip(chords, voice_chords(chords)):
        final = chord is chords[-1]
        vel = max(1, min(127, round(ctl.velocity * (0.7 if final else 0.8))))
        length = chord.duration
        out += [Note(p, chord.start, length, vel, PAD_CHANNEL) for p in voicing]
        out.append(Note(36 + chord.bass, chord.start, length, vel, BASS_CHANNEL))
    return sorted(out, key=lambda n: (n.start, n.channel, n.pitch))
