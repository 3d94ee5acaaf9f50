"""Harmony for one phrase: functional chords fitted to the melody, ending on a cadence.

The knowledge is data (``data/progressions.json``, validated by :class:`HarmonyData`): a
vocabulary of roman-numeral chords per mode with mood ranges and priors, progression templates
chosen by mood (I-V-vi-IV, i-bVI-bVII-i, ...), and the chords of each cadence. The planner

1. cuts the phrase into chord slots; the harmonic rhythm rises with arousal, about 0.5
   changes a bar when very calm, 1 at neutral, up to 2 when driving, and the last bar keeps one
   chord so the cadence lands;
2. lays a mood-chosen progression over the slots and finds the best chord sequence with a
   Viterbi pass: melody fit (chord tones on strong beats count more, melody notes clashing with
   a chromatic chord tone count against), the progression, functional grammar (T -> S -> D -> T)
   and a change at every slot;
3. ends the phrase on a cadence: every second phrase (the end of an 8-bar period) closes with an
   authentic V-I; the others pick, of the style's ``cadences``, the one that fits the melody
   (half, plagal, deceptive), and a calm authentic cadence may suspend its V (Vsus4 - V7).

:func:`voice_chords` voices the chords for a pad or comping part with the least movement and no
parallel fifths or octaves between the outer voices where it can.

Pure and deterministic: the same phrase, mood, phrase index and rng seed give the same chords.

The chord type and roman-numeral parser live in :mod:`.chords`, the data models in
:mod:`.harmony_data`, the voicing in :mod:`.voicing`; this module plans, and re-exports them.

Public API: :func:`plan_harmony`, :func:`changes_per_bar`; re-exported :class:`Chord`,
:func:`voice_chords`, :func:`parse_symbol`, :class:`HarmonyData`, :func:`load_harmony`,
``CADENCES``.
"""
from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple, Sequence

import numpy as np

from ..errors import ConfigError
from ..music import MODE_STEPS, Meter, Phrase
from .chords import Chord, ParsedSymbol, parse_symbol
from .harmony_data import CADENCES, MODE_FALLBACK, HarmonicRhythm, HarmonyData, Progression, load_harmony
from .voicing import voice_chords

__all__ = ["CADENCES", "Chord", "HarmonyData", "changes_per_bar", "load_harmony", "parse_symbol",
           "plan_harmony", "voice_chords"]

_MINOR_LIKE = frozenset({"dor", "min", "phr", "loc"})
_EPS = 1e-9

# Scoring weights of the Viterbi pass (log-score units).
_FIT_WEIGHT = 2.0  # melody fit in [-1, 1]
_TEMPLATE_BONUS = 0.4  # the chord the mood's progression puts in this slot
_REPEAT_PENALTY = 0.7  # the same chord in two slots in a row: no change where one was planned
_OPENING_TONIC = 0.5  # the phrase opens on the tonic chord
_OTHER_CADENCE_BONUS = 0.1  # a phrase inside a period prefers a half (or plagal...) cadence
_SPLIT_LAST_PENALTY = 0.25  # a cadence on the final downbeat is stronger than one inside the bar
_FUNCTION_MOVE = {  # functional grammar: tonic, subdominant (pre-dominant), dominant
    ("T", "T"): 0.0, ("T", "S"): 0.5, ("T", "D"): 0.3,
    ("S", "T"): 0.1, ("S", "S"): 0.1, ("S", "D"): 0.6,
    ("D", "T"): 0.6, ("D", "S"): -0.4, ("D", "D"): 0.1,
}
_STRONG = {"downbeat": 2.0, "beat": 1.3}


# --- planning ---------------------------------------------------------------------------------


def _beat_grid(meter: Meter) -> tuple[float, int]:
    """(beat length in quarter notes, beats per bar); compound meters beat in dotted quarters."""
    if meter.denominator == 8 and meter.numerator % 3 == 0 and meter.numerator > 3:
        return 1.5, meter.numerator // 3
    return 4.0 / meter.denominator, meter.numerator


def changes_per_bar(arousal: float, rhythm: HarmonicRhythm | None = None) -> float:
    """The harmonic rhythm the mood asks for: calm at arousal -1, neutral at 0, driving at +1."""
    r = rhythm or load_harmony().harmonic_rhythm
    if arousal <= 0:
        return float(r.neutral * (r.calm / r.neutral) ** (-arousal))
    return float(r.neutral * (r.driving / r.neutral) ** arousal)


def _slots(bars: int, meter: Meter, rate: float, split_last: bool = False,
           extra: int = 0) -> list[tuple[float, float]]:
    """(start, duration) of each chord slot: about ``rate * bars + extra`` of them.

    Fewer slots than bars merge bars from the start (a long opening tonic); more split bars at
    the half bar, the one before the last first (a pre-dominant before the cadence's V). The
    last bar keeps one chord (the cadence lands on its downbeat) unless ``split_last``, which
    puts the cadence's two chords in the last bar.
    """
    bar_len = meter.beats
    beat_len, beats = _beat_grid(meter)
    half = beat_len * ((beats + 1) // 2) if beats > 1 else bar_len / 2
    last = [(half, bar_len - half)] if split_last else [(bar_len,)]
    last_slots = 2 if split_last else 1
    if bars < 2:
        lengths = last[0] if split_last else (bar_len * max(bars, 1),)
        return _laid_out([list(lengths)])
    wanted = max(min(bars, 3), min(2 * bars - 1, round(rate * bars) + extra))
    others = bars - 1
    k = max(1, min(2 * others, wanted - last_slots))
    per_bar: list[list[float]]
    if k < others:
        first = others - k + 1  # bars the opening slot holds
        per_bar = [[first * bar_len]] + [[bar_len] for _ in range(first, others)]
    else:
        per_bar = [[bar_len] for _ in range(others)]
        for bar in list(range(others - 1, -1, -1))[: k - others]:
            per_bar[bar] = [half, bar_len - half]
    return _laid_out(per_bar + [list(last[0])])


def _laid_out(per_bar: list[list[float]]) -> list[tuple[float, float]]:
    out, t = [], 0.0
    for bar_slots in per_bar:
        for d in bar_slots:
            out.append((t, d))
            t += d
    return out


class _Onsets(NamedTuple):
    """What :func:`_weights` needs of a phrase's melody, worked out once a phrase rather than
    once a slot: (start, end, metric factor, pitch class) of each note in order; the latest end
    so far at each note; whether the starts are in order (then a slot looks only at the notes
    that can reach into it)."""

    notes: list[tuple[float, float, float, int]]
    reach: list[float]
    ordered: bool


def _onsets(phrase: Phrase) -> _Onsets:
    bar_len = phrase.meter.beats
    beat_len, _ = _beat_grid(phrase.meter)
    out = []
    for note in phrase.notes:
        pos = note.start % bar_len
        if pos < _EPS or bar_len - pos < _EPS:
            factor = _STRONG["downbeat"]
        elif abs(pos / beat_len - round(pos / beat_len)) < _EPS:
            factor = _STRONG["beat"]
        else:
            factor = 1.0
        out.append((note.start, note.start + note.duration, factor, note.pitch % 12))
    reach = list(itertools.accumulate((n[1] for n in out), max))
    return _Onsets(out, reach, all(a[0] <= b[0] for a, b in zip(out, out[1:])))


def _weights(onsets: _Onsets, start: float, end: float) -> tuple[dict[int, float], float]:
    """Melody weight per pitch class inside [start, end): overlap, more on strong beats. The
    notes skipped (all ending by ``start``, or starting at ``end`` or later, in order) are
    exactly those whose overlap would be <= 0."""
    weights: dict[int, float] = {}
    notes = onsets.notes
    first = bisect.bisect_right(onsets.reach, start) if onsets.ordered else 0
    for i in range(first, len(notes)):
        n_start, n_end, factor, pc = notes[i]
        if n_start >= end and onsets.ordered:
            break
        overlap = min(end, n_end) - max(start, n_start)
        if overlap <= _EPS:
            continue
        weights[pc] = weights.get(pc, 0.0) + overlap * factor
    return weights, sum(weights.values())


@dataclass(frozen=True)
class _Cand:
    symbol: str
    parsed: ParsedSymbol
    pcs: frozenset[int]
    clash: frozenset[int]  # scale tones a semitone from one of the chord's chromatic tones
    prior: float


def _candidate(symbol: str, tonic: int, scale: frozenset[int], prior: float = 0.0) -> _Cand:
    base = _candidate_of(symbol, tonic, scale)
    return _Cand(symbol, base.parsed, base.pcs, base.clash, prior)


@lru_cache(maxsize=4096)
def _candidate_of(symbol: str, tonic: int, scale: frozenset[int]) -> _Cand:
    """The chord of ``symbol`` on ``tonic`` in ``scale`` (prior 0), worked out once."""
    p = parse_symbol(symbol)
    root = (tonic + p.offset) % 12
    pcs = frozenset((root + i) % 12 for i in p.intervals)
    chromatic = pcs - scale
    clash = frozenset(pc for c in chromatic for pc in ((c + 1) % 12, (c - 1) % 12)
                      if pc in scale and pc not in pcs)
    return _Cand(symbol, p, pcs, clash, 0.0)


def _colour(symbol: str, valence: float, weight: float) -> float:
    """Major chords brighten, minor and diminished ones darken: a prior that follows valence."""
    third = parse_symbol(symbol).intervals[1]
    return weight * valence * (1.0 if third == 4 else -1.0 if third == 3 else 0.0)


def _fit(c: _Cand, weights: dict[int, float], total: float) -> float:
    if total <= _EPS:
        return 0.0
    good = bad = 0.0  # (summed in the weights' order, as sum() would)
    pcs, clash = c.pcs, c.clash
    for pc, w in weights.items():
        if pc in pcs:
            good += w
        if pc in clash:
            bad += w
    return (good - bad) / total


def _pick_progression(data: HarmonyData, mode: str, valence: float, arousal: float,
                      rng: random.Random) -> Progression | None:
    fits = [p for p in data.progressions if p.suits(mode, valence, arousal)]
    if not fits:
        return None
    total = sum(p.weight for p in fits)
    x = rng.random() * total
    for p in fits:
        x -= p.weight
        if x <= 0:
            return p
    return fits[-1]


def _transition(a: ParsedSymbol, b: ParsedSymbol) -> float:
    """The grammar's score of chord ``a`` moving to ``b`` (of one key: the same chord when their
    intervals over the tonic agree)."""
    if a.secondary_target is not None:  # an applied chord resolves to its target
        return 0.3 if b.offset == a.secondary_target and b.secondary_target is None else float("-inf")
    if _degrees(a) == _degrees(b):
        return -_REPEAT_PENALTY
    fb = "T" if b.function == "X" else b.function  # approaching an applied chord
    return _FUNCTION_MOVE[(a.function, fb)]


def _degrees(p: ParsedSymbol) -> frozenset[int]:
    return frozenset((p.offset + i) % 12 for i in p.intervals)


@lru_cache(maxsize=512)
def _moves(before: tuple[ParsedSymbol, ...], after: tuple[ParsedSymbol, ...]) -> np.ndarray:
    """The transition table from one pool of chords to the next, ``[after, before]``: the same
    pools meet in every phrase of a mood, so it is worked out once (read only)."""
    table = np.array([[_transition(a, b) for a in before] for b in after], dtype=np.float64)
    table.flags.writeable = False
    return table


def _viterbi(slot_scores: list[list[float]], cands: list[list[_Cand]],
             moves: dict[tuple[int, int], np.ndarray]) -> tuple[float, list[int]]:
    """Best path; ``moves`` caches transition tables by pool (most slots share one). In float64,
    so each sum is the one Python's floats make; ties go to the first candidate (argmax)."""
    n = len(slot_scores)
    score = np.array(slot_scores[0], dtype=np.float64)
    back: list[np.ndarray] = []
    for k in range(1, n):
        pair = (id(cands[k - 1]), id(cands[k]))
        table = moves.get(pair)
        if table is None:
            table = moves[pair] = _moves(tuple(c.parsed for c in cands[k - 1]), tuple(c.parsed for c in cands[k]))
        sums = table + score  # [b, a]: the best way into b is from argmax over a
        back.append(sums.argmax(axis=1))
        score = sums.max(axis=1) + np.array(slot_scores[k], dtype=np.float64)
    j = int(score.argmax())
    path = [j]
    for k in range(len(back) - 1, -1, -1):  # (not reversed(back): mypyc cannot type it)
        j = int(back[k][j])
        path.append(j)
    return float(score[path[0]]), path[::-1]


def plan_harmony(phrase: Phrase, *, valence: float, arousal: float, phrase_index: int = 0,
                 cadences: Sequence[str] = ("authentic", "half"), rng: random.Random | None = None,
                 period_end: bool | None = None, final_downbeat: bool = False) -> list[Chord]:
    """The chords of ``phrase`` (a performed melody): contiguous spans covering it, sorted.

    ``phrase_index`` counts the phrases of the piece; an odd one (or ``period_end=True``) ends
    an 8-bar period and closes with an authentic cadence, the others choose among ``cadences``
    the one that fits the melody best (a half cadence when allowed, preferably).
    ``final_downbeat`` keeps the last chord on the last bar's downbeat (an ending's final chord).
    """
    bad = [c for c in cadences if c not in CADENCES]
    if bad or not cadences:
        raise ConfigError(f"cadences must be some of {', '.join(CADENCES)}, got {list(cadences)}")
    data = load_harmony()
    rng = rng if rng is not None else random.Random(phrase_index * 7919 + phrase.bars)
    mode = MODE_FALLBACK.get(phrase.mode, phrase.mode)
    tonic = phrase.tonic % 12
    scale = frozenset((tonic + s) % 12 for s in MODE_STEPS.get(phrase.mode, MODE_STEPS["maj"]))
    family = "minor" if phrase.mode in _MINOR_LIKE else "major"
    closes = period_end if period_end is not None else phrase_index % 2 == 1
    centre = data.valence_colour_centre.get(phrase.mode, 0.0)
    vocab = [_candidate(e.symbol, tonic, scale, e.prior + _colour(e.symbol, valence - centre, data.valence_colour))
             for e in data.vocabulary if e.suits(mode, valence, arousal)]
    rate = changes_per_bar(arousal, data.harmonic_rhythm)
    progression = _pick_progression(data, mode, valence, arousal, rng)
    template = [_candidate(s, tonic, scale).pcs for s in progression.chords] if progression else []

    options = ["authentic"] if closes and "authentic" in cadences else list(cadences)
    best: tuple[float, list[_Cand], str, list[tuple[float, float]]] | None = None
    seen: dict[tuple[float, float], tuple[dict[int, float], float]] = {}  # slot -> melody weights
    fits: dict[tuple[float, float], dict[tuple[frozenset[int], frozenset[int]], float]] = {}  # slot -> chord -> fit
    moves: dict[tuple[int, int], np.ndarray] = {}
    onsets = _onsets(phrase)
    ends: dict[str, tuple[list[_Cand], list[_Cand]]] = {}  # cadence -> (penultimate, final) pools
    for split_last, cadence in itertools.product((False,) if final_downbeat else (False, True), options):
        # a phrase ending on the tonic runs into the next one's opening tonic without a change:
        # one more chord inside keeps the changes per bar at the rate
        extra = 1 if cadence in ("authentic", "plagal") else 0
        slots = _slots(phrase.bars, phrase.meter, rate, split_last, extra)
        for s, d in slots:
            if (s, d) not in seen:
                seen[(s, d)] = _weights(onsets, s, s + d)
        weights = [seen[slot] for slot in slots]
        # the progression is laid over the phrase's time, one chord per its share of the bars
        at = [min(len(template) - 1, int(s / phrase.beats * len(template) + _EPS)) for s, _ in slots] \
            if template else []
        spec = getattr(data.cadences[cadence], family)
        cands: list[list[_Cand]] = []
        scores: list[list[float]] = []
        n = len(slots)
        for k in range(n):
            if cadence not in ends:
                ends[cadence] = ([_candidate(s, tonic, scale) for s in spec.penultimate],
                                 [_candidate(s, tonic, scale) for s in spec.final])
            if k == n - 1:
                pool = ends[cadence][1]
            elif k == n - 2:
                pool = ends[cadence][0]
            else:
                pool = vocab
            row = []
            slot_fits = fits.setdefault(slots[k], {})  # a slot's fits, shared by the layouts that have it
            for c in pool:
                fit = slot_fits.get((c.pcs, c.clash))
                if fit is None:
                    fit = slot_fits[(c.pcs, c.clash)] = _fit(c, *weights[k])
                s = _FIT_WEIGHT * fit + c.prior
                if template and k < n - 2 and c.pcs == template[at[k]]:
                    s += _TEMPLATE_BONUS
                if k == 0 and n > 2 and c.parsed.offset == 0 and c.parsed.function == "T":
                    s += _OPENING_TONIC
                if k >= n - 2 and c.parsed.secondary_target is not None and k == n - 1:
                    s = float("-inf")  # never end on an unresolved applied chord
                row.append(s)
            cands.append(pool)
            scores.append(row)
        total, path = _viterbi(scores, cands, moves)
        total /= len(slots)  # layouts differ in slots: compare the mean score of a slot
        if cadence != "authentic" and not closes:
            total += _OTHER_CADENCE_BONUS
        if split_last:
            total -= _SPLIT_LAST_PENALTY
        if best is None or total > best[0] + _EPS:
            best = (total, [cands[k][j] for k, j in enumerate(path)], cadence, slots)
    assert best is not None
    _, chosen, cadence, slots = best
    chords = [_chord(c, tonic, s, d) for c, (s, d) in zip(chosen, slots)]
    chords[-1] = _with_cadence(chords[-1], cadence)
    return _suspend(chords, phrase, data, arousal, cadence, tonic, scale, rng)


def _chord(c: _Cand, tonic: int, start: float, duration: float) -> Chord:
    root = (tonic + c.parsed.offset) % 12
    return Chord(start, duration, root, c.parsed.intervals, (root + c.parsed.bass_interval) % 12, c.symbol)


def _with_cadence(chord: Chord, cadence: str | None) -> Chord:
    return Chord(chord.start, chord.duration, chord.root, chord.intervals, chord.bass, chord.symbol, cadence)


def _suspend(chords: list[Chord], phrase: Phrase, data: HarmonyData, arousal: float, cadence: str,
             tonic: int, scale: frozenset[int], rng: random.Random) -> list[Chord]:
    """A calm authentic cadence may delay its V's third: Vsus4 for the first half, then V7."""
    sus = data.suspension
    if cadence != "authentic" or len(chords) < 2 or not sus.arousal[0] <= arousal <= sus.arousal[1]:
        return chords
    pen = chords[-2]
    if pen.duration + _EPS < phrase.meter.beats or rng.random() >= sus.chance:
        return chords
    half = pen.duration / 2
    weights, total = _weights(_onsets(phrase), pen.start, pen.start + half)
    sus4 = _candidate("Vsus4", tonic, scale)
    v7 = _candidate("V7", tonic, scale)
    if weights.get((pen.root + 4) % 12, 0.0) > _EPS or \
            _fit(sus4, weights, total) < _fit(_candidate("V", tonic, scale), weights, total):
        return chords  # the melody sings the third, or the suspension fits it worse
    return chords[:-2] + [_chord(sus4, tonic, pen.start, half),
                          _chord(v7, tonic, pen.start + half, pen.duration - half), chords[-1]]
