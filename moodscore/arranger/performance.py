"""Performance: dynamics shaped over the phrase, metric accents, humanised velocity and timing,
and swing, by the style. Pure: a random stream in, the same notes back, performed.

- Dynamics: each phrase swells to its peak (the melody's highest note) and relaxes after it;
  downbeats are accented, the middle of an even bar less so, off-beats are lighter and the
  pickup into a bar lightest.
- Humanisation: Gaussian velocity noise (``humanise.velocity_sd``) and onset noise
  (``humanise.timing_sd`` beats), plus each role's lay-back (``timing``).
- Swing: off-beat eighths in simple and triple time come late, by ``humanise.swing`` of the
  way to the triplet. A note never moves before its bar line or past the next pulse.

Public API: :func:`dynamics`, :func:`shape`, :func:`melody_factors`, :func:`peak_time`.
"""
from __future__ import annotations

import random
from collections.abc import Sequence

from ..music import Note, Phrase
from .patterns import Feel
from .styles import Humanise

_EPS = 1e-6
DOWNBEAT, MID_BAR, OFF_BEAT, PICKUP = 1.12, 1.05, 0.9, 0.82


def peak_time(phrase: Phrase) -> float:
    """When the phrase peaks: the first onset of its highest melody note (mid-phrase if none)."""
    if not phrase.notes:
        return phrase.beats / 2
    top = max(n.pitch for n in phrase.notes)
    return min(n.start for n in phrase.notes if n.pitch == top)


def dynamics(t: float, *, feel: Feel, bar_len: float, phrase_beats: float, peak: float) -> float:
    """The velocity factor at phrase time ``t``: the phrase's arc times the metric accent."""
    peak = min(max(peak, feel.beat_len), phrase_beats - _EPS)
    if t <= peak:
        arc = 0.86 + 0.2 * t / peak
    else:
        arc = 1.06 - 0.16 * (t - peak) / max(phrase_beats - peak, _EPS)
    in_bar = t % bar_len
    in_beat = in_bar % feel.beat_len
    if in_bar < _EPS or bar_len - in_bar < _EPS:
        metric = DOWNBEAT
    elif in_beat < _EPS or feel.beat_len - in_beat < _EPS:
        metric = MID_BAR if feel.beats % 2 == 0 and abs(in_bar - bar_len / 2) < _EPS else 1.0
    elif bar_len - in_bar <= feel.beat_len / 2 + _EPS:
        metric = PICKUP
    else:
        metric = OFF_BEAT
    return arc * metric


def _swing(t: float, feel: Feel, amount: float) -> float:
    if amount <= 0 or feel.name == "compound":
        return 0.0
    half = feel.beat_len / 2
    if abs(t % feel.beat_len - half) < _EPS:  # an off-beat eighth
        return amount * feel.beat_len / 6  # at 1 it sits on the last triplet
    return 0.0


def shape(notes: Sequence[Note], *, feel: Feel, bar_len: float, phrase_beats: float, peak: float,
          humanise: Humanise, lay_back: float, rng: random.Random) -> list[Note]:
    """``notes`` of one part with the phrase's dynamics, humanisation, lay-back and swing."""
    out = []
    # what depends on the onset alone: one velocity deviation (chords stay balanced), the
    # dynamics, lay-back and swing, the bar start and the latest start
    at_onset: dict[float, tuple[float, float, float, float, float]] = {}
    velocity_sd, timing_sd, swing, reach = humanise.velocity_sd, humanise.timing_sd, humanise.swing, feel.pulse * 0.45
    gauss = rng.gauss
    for n in notes:
        t = n.start
        known = at_onset.get(t)
        if known is None:
            known = at_onset[t] = (gauss(0.0, velocity_sd),
                                   dynamics(t, feel=feel, bar_len=bar_len, phrase_beats=phrase_beats, peak=peak),
                                   lay_back + _swing(t, feel, swing), int(t / bar_len + _EPS) * bar_len, t + reach)
        noise, factor, shift, bar_start, latest = known
        velocity = max(1, min(127, round(n.velocity * factor + noise)))
        if timing_sd > 0:
            shift += gauss(0.0, timing_sd)
        start = min(max(t + shift, bar_start), latest)
        end = t + n.duration
        out.append(Note(n.pitch, start, max(end - start, 0.02), velocity, n.channel))
    return out


def melody_factors(phrase: Phrase, feel: Feel, humanise: Humanise, rng: random.Random) -> list[float]:
    """A velocity factor per melody note (in ``phrase.notes`` order): the phrase's dynamics and
    humanisation relative to a velocity of 80."""
    peak = peak_time(phrase)
    bar_len = phrase.meter.beats
    return [dynamics(n.start, feel=feel, bar_len=bar_len, phrase_beats=phrase.beats, peak=peak)
            + rng.gauss(0.0, humanise.velocity_sd) / 80 for n in phrase.notes]
