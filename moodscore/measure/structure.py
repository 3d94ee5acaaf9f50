"""Structure and arrangement measures of a Standard MIDI File, read from the MIDI alone.

The same measures are taken of generated pieces and of real music (see
:mod:`moodscore.measure.references`), so the two can be set side by side:

- **harmony**: the chords of the accompaniment (every note that is neither the melody,
  channel 1, nor drums, channel 10), recognised beat by beat by :mod:`.chords`. From them:
  *harmonic rhythm* (chord changes per bar; a seventh added to the same triad is no change),
  *cadence rate* (share of 4-bar phrase ends whose chord is V (a half cadence) or a tonic
  reached from V (authentic); the tonic is where the phrases come to rest, see ``_tonic``),
  and the
  *chord-tone share* (melody duration on a tone of the chord sounding with it);
- **rhythm-pattern variety** per channel: distinct onset patterns of its bars over the bars it
  plays in;
- **sounding parts**: channels with notes;
- **melodic recurrence** at 1, 2, 4 and 8 bars: the mean similarity (Jaccard index of the
  (onset, pitch) sets) of melody bars that far apart;
- **velocity spread**: the standard deviation of velocity within a part, averaged over parts.

Bars come from the first time signature (4/4 when there is none), counted from tick 0.

Public API: :class:`Structure`, :func:`measure`, :func:`recognise_chords`, :func:`summarise`,
``LAGS``, ``SUMMARY_KEYS``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ..analysis import DRUM_CHANNEL, MidiSource, _load, _Note, _timeline
from ..errors import DataError
from .chords import _TRIAD, RecognisedChord, bar_length, beat_length, recognise_chords

__all__ = ["LAGS", "SUMMARY_KEYS", "RecognisedChord", "Structure", "measure", "recognise_chords",
           "summarise"]

MELODY_CHANNEL = 0
LAGS = (1, 2, 4, 8)
PHRASE_BARS = 4
_GRID = 24  # onset grid, per quarter note (sixteenth triplets and thirty-seconds both fit)
_EPS = 1e-9


@dataclass
class Structure:
    """The measures of one piece (see the module docstring); None where there is nothing to
    measure (no accompaniment, no melody, too short for a lag)."""

    bars: float
    harmonic_rhythm: float | None
    cadence_rate: float | None
    cadences: list[str]  # per 4-bar phrase end: authentic | half | other
    chord_tone_share: float | None
    pattern_variety: dict[int, float]  # channel -> distinct bar patterns / bars played
    accompaniment_variety: float | None  # mean over pitched non-melody channels
    drum_variety: float | None
    parts: int
    recurrence: dict[int, float | None] = field(default_factory=dict)  # lag (bars) -> similarity
    velocity_spread: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _chord_at(chords: list[RecognisedChord], t: float) -> RecognisedChord | None:
    for c in chords:
        if c.start - _EPS <= t < c.end - _EPS:
            return c
    return None


def _cadences(chords: list[RecognisedChord], bar: float, bars: int) -> list[str]:
    if not chords:
        return []
    tonic = _tonic(chords, bar, bars)
    dominant = (tonic + 7) % 12
    out = []
    for end_bar in range(PHRASE_BARS, bars + 1, PHRASE_BARS):
        starting = [c for c in chords if c.start < end_bar * bar - _EPS]
        if not starting:
            out.append("other")
            continue
        final = starting[-1]  # the last chord to begin inside the phrase
        i = len(starting) - 1
        while i > 0 and starting[i - 1].triad == final.triad:  # C7 then C: one chord, the tonic
            i -= 1
        before = chords[i - 1] if i > 0 else None
        major = _TRIAD[final.quality] == "maj"
        if final.root == dominant and major:
            out.append("half")
        elif final.root == tonic and before is not None and before.root == dominant \
                and _TRIAD[before.quality] == "maj":
            out.append("authentic")
        else:
            out.append("other")
    return out


def _tonic(chords: list[RecognisedChord], bar: float, bars: int) -> int:
    """Where the music comes to rest: the root sounding longest over the last bars of its
    4-bar phrases, the piece's last chord counted twice (it breaks ties)."""
    weight = [0.0] * 12
    for end_bar in range(PHRASE_BARS, bars + 1, PHRASE_BARS):
        lo, hi = (end_bar - 1) * bar, end_bar * bar
        for c in chords:
            overlap = min(hi, c.end) - max(lo, c.start)
            if overlap > _EPS and _TRIAD[c.quality] in ("maj", "min"):
                weight[c.root] += overlap
    last = chords[-1]
    weight[last.root] += 2 * min(bar, last.end - last.start)
    return int(np.argmax(weight))


def _chord_tone_share(melody: list[_Note], chords: list[RecognisedChord]) -> float | None:
    on = total = 0.0
    for n in melody:
        for c in chords:
            overlap = min(n.end_beat, c.end) - max(n.start_beat, c.start)
            if overlap > _EPS:
                total += overlap
                on += overlap * (n.pitch % 12 in c.pitch_classes)
    return on / total if total > _EPS else None


def _bar_patterns(notes: list[_Note], bar: float) -> dict[int, frozenset[int]]:
    patterns: dict[int, set[int]] = {}
    for n in notes:
        b = int(n.start_beat // bar + _EPS)
        patterns.setdefault(b, set()).add(round((n.start_beat - b * bar) * _GRID))
    return {b: frozenset(p) for b, p in patterns.items()}


def _variety(notes: list[_Note], bar: float) -> float | None:
    patterns = _bar_patterns(notes, bar)
    return len(set(patterns.values())) / len(patterns) if patterns else None


def _recurrence(melody: list[_Note], bar: float, bars: int) -> dict[int, float | None]:
    content: dict[int, set[tuple[int, int]]] = {b: set() for b in range(bars)}
    for n in melody:
        b = int(n.start_beat // bar + _EPS)
        if b in content:
            content[b].add((round((n.start_beat - b * bar) * _GRID), n.pitch))
    out: dict[int, float | None] = {}
    for lag in LAGS:
        sims = []
        for b in range(bars - lag):
            x, y = content[b], content[b + lag]
            if x or y:
                sims.append(len(x & y) / len(x | y))
        out[lag] = float(np.mean(sims)) if sims else None
    return out


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def measure(source: MidiSource) -> Structure:
    """All the structure measures of one MIDI file; :class:`DataError` when it has no notes."""
    mid = _load(source)
    notes, _ = _timeline(mid)
    if not notes:
        raise DataError("the MIDI file has no notes to measure")
    bar = bar_length(mid)
    end = max(n.end_beat for n in notes)
    bars = max(1, int(round(end / bar)))
    melody = [n for n in notes if n.channel == MELODY_CHANNEL]
    accomp = [n for n in notes if n.channel not in (MELODY_CHANNEL, DRUM_CHANNEL)]
    chords = recognise_chords(accomp, beat_length(bar), bars * bar) if accomp else []
    changes = sum(a.triad != b.triad for a, b in zip(chords, chords[1:]))
    cadences = _cadences(chords, bar, bars)
    by_channel: dict[int, list[_Note]] = {}
    for n in notes:
        by_channel.setdefault(n.channel, []).append(n)
    variety = {ch: v for ch, ns in sorted(by_channel.items()) if (v := _variety(ns, bar)) is not None}
    spreads = [float(np.std([n.velocity for n in ns])) for ns in by_channel.values() if len(ns) > 1]
    return Structure(
        bars=float(bars),
        harmonic_rhythm=changes / bars if chords else None,
        cadence_rate=(sum(c != "other" for c in cadences) / len(cadences)) if cadences else None,
        cadences=cadences,
        chord_tone_share=_chord_tone_share(melody, chords) if chords and melody else None,
        pattern_variety=variety,
        accompaniment_variety=_mean([v for ch, v in variety.items()
                                     if ch not in (MELODY_CHANNEL, DRUM_CHANNEL)]),
        drum_variety=variety.get(DRUM_CHANNEL),
        parts=len(by_channel),
        recurrence=_recurrence(melody, bar, bars) if melody else {lag: None for lag in LAGS},
        velocity_spread=_mean(spreads),
    )


SUMMARY_KEYS = ("harmonic_rhythm", "cadence_rate", "chord_tone_share", "melody_variety",
                "accompaniment_variety", "drum_variety", "parts", "recurrence_1", "recurrence_2",
                "recurrence_4", "recurrence_8", "velocity_spread")


def summarise(pieces: list[Structure]) -> dict[str, float | None]:
    """The mean of each measure over ``pieces`` (those that have it), by ``SUMMARY_KEYS``."""
    rows: dict[str, list[float]] = {k: [] for k in SUMMARY_KEYS}
    for s in pieces:
        values: dict[str, float | None] = {
            "harmonic_rhythm": s.harmonic_rhythm, "cadence_rate": s.cadence_rate,
            "chord_tone_share": s.chord_tone_share,
            "melody_variety": s.pattern_variety.get(MELODY_CHANNEL),
            "accompaniment_variety": s.accompaniment_variety, "drum_variety": s.drum_variety,
            "parts": float(s.parts), "velocity_spread": s.velocity_spread,
            **{f"recurrence_{lag}": s.recurrence.get(lag) for lag in LAGS}}
        for k, v in values.items():
            if v is not None:
                rows[k].append(float(v))
    return {k: (round(float(np.mean(v)), 4) if v else None) for k, v in rows.items()}
