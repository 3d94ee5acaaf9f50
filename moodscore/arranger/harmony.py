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

Public API: :class:`Chord`, :func:`plan_harmony`, :func:`voice_chords`, :func:`parse_symbol`,
:class:`HarmonyData`, :func:`load_harmony`, ``CADENCES``.
"""
from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import ConfigError
from ..music import MODE_STEPS, Meter, Phrase

CADENCES = ("authentic", "half", "plagal", "deceptive")
DATA_PATH = Path(__file__).parent / "data" / "progressions.json"
_MINOR_LIKE = frozenset({"dor", "min", "phr", "loc"})
_MODE_FALLBACK = {"loc": "phr"}  # modes without chords of their own borrow a neighbour's
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


# --- chords -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chord:
    """One chord of a phrase's harmony, timed in beats from the phrase start."""

    start: float  # beats (quarter notes) from the phrase start
    duration: float  # beats
    root: int  # pitch class 0-11, absolute (in the phrase's tonic)
    intervals: tuple[int, ...]  # semitones above the root, e.g. (0, 4, 7) or (0, 4, 7, 10)
    bass: int  # pitch class in the bass (root, or an inversion / pedal)
    symbol: str  # roman numeral, e.g. "I", "V7", "V7/V", "bVI", "Vsus4", "ii65"
    cadence: str | None = None  # "authentic" | "half" | "plagal" | "deceptive" on the last chord

    @cached_property  # a frozen dataclass without slots: the cache goes in __dict__, not a field
    def pitch_classes(self) -> frozenset[int]:
        return frozenset((self.root + i) % 12 for i in self.intervals)

    @property
    def end(self) -> float:
        return self.start + self.duration


_NUMERALS = {"I": 0, "II": 2, "III": 4, "IV": 5, "V": 7, "VI": 9, "VII": 11}
_NUMERAL_RE = r"VII|VI|IV|V|III|II|I|vii|vi|iv|v|iii|ii|i"
_SYMBOL_RE = re.compile(
    rf"^(?P<acc>[b#]?)(?P<num>{_NUMERAL_RE})(?P<qual>[°ø+]?)"
    r"(?P<fig>maj7|7sus4|sus4|sus2|65|64|43|42|7|6)?"
    rf"(?:/(?P<tacc>[b#]?)(?P<target>{_NUMERAL_RE}))?$")
_INVERSION = {"6": 1, "64": 2, "65": 1, "43": 2, "42": 3}


@dataclass(frozen=True)
class _Parsed:
    offset: int  # root, semitones above the tonic
    intervals: tuple[int, ...]
    bass_interval: int  # semitones above the root of the bass note
    secondary_target: int | None  # offset of the chord a secondary dominant resolves to
    function: str  # "T" | "S" | "D" | "X" (secondary)


def _degree(acc: str, numeral: str) -> int:
    return (_NUMERALS[numeral.upper()] + {"": 0, "b": -1, "#": 1}[acc]) % 12


@lru_cache(maxsize=None)
def parse_symbol(symbol: str) -> _Parsed:
    """The chord a roman numeral names; :class:`ConfigError` naming the syntax if it is not one.

    Upper case is major, lower case minor, ``°`` diminished, ``ø`` half-diminished, ``+``
    augmented; a ``b``/``#`` prefix alters the degree (spelled on the major scale); figures
    ``7 maj7 sus4 sus2 7sus4`` and inversions ``6 64 65 43 42``; ``/X`` makes it applied to X.
    """
    m = _SYMBOL_RE.match(symbol)
    if m is None:
        raise ConfigError(f"chord symbol {symbol!r} is not a roman numeral like I, ii7, V7/V, "
                          "bVI, Vsus4, vii° or ii65")
    num, qual, fig = m["num"], m["qual"], m["fig"] or ""
    upper = num.isupper()
    if qual == "°":
        triad: tuple[int, ...] = (0, 3, 6)
    elif qual == "ø":
        triad = (0, 3, 6)
    elif qual == "+":
        triad = (0, 4, 8)
    else:
        triad = (0, 4, 7) if upper else (0, 3, 7)
    seventh_figure = fig in ("7", "65", "43", "42") or qual == "ø"
    if fig == "maj7":
        intervals = triad + (11,)
    elif fig == "sus4":
        intervals = (0, 5, 7)
    elif fig == "sus2":
        intervals = (0, 2, 7)
    elif fig == "7sus4":
        intervals = (0, 5, 7, 10)
    elif seventh_figure:
        intervals = triad + ((9 if qual == "°" else 10),)
    else:
        intervals = triad
    inversion = _INVERSION.get(fig, 0)
    bass_interval = intervals[inversion] if inversion < len(intervals) else 0
    offset = _degree(m["acc"], num)
    target = None
    if m["target"]:
        target = _degree(m["tacc"], m["target"])
        offset = (offset + target) % 12
    return _Parsed(offset, intervals, bass_interval, target, "X" if target is not None else _function(offset))


def _function(offset: int) -> str:
    if offset in (0, 3, 4, 9):  # I, bIII, iii, vi: tonic and its relatives
        return "T"
    if offset in (7, 10, 11):  # V, bVII, vii°
        return "D"
    return "S"  # ii, IV, bVI, bII, #iv


# --- data -------------------------------------------------------------------------------------

_Range = tuple[float, float]


def _check_range(value: _Range) -> _Range:
    lo, hi = value
    if not -1.0 <= lo <= hi <= 1.0:
        raise ValueError(f"a mood range is [low, high] inside [-1, 1], got {list(value)}")
    return value


def _check_modes(modes: list[str]) -> list[str]:
    bad = [m for m in modes if m not in MODE_STEPS]
    if bad:
        raise ValueError(f"modes must be among {', '.join(MODE_STEPS)}, got {bad}")
    return modes


def _check_symbols(symbols: list[str]) -> list[str]:
    for s in symbols:
        try:
            parse_symbol(s)
        except ConfigError as err:
            raise ValueError(str(err)) from err
    return symbols


class _MoodRanged(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    modes: list[str]
    valence: _Range = (-1.0, 1.0)
    arousal: _Range = (-1.0, 1.0)

    _modes = field_validator("modes")(_check_modes)
    _ranges = field_validator("valence", "arousal")(_check_range)

    def suits(self, mode: str, valence: float, arousal: float) -> bool:
        return (mode in self.modes and self.valence[0] <= valence <= self.valence[1]
                and self.arousal[0] <= arousal <= self.arousal[1])


class VocabularyEntry(_MoodRanged):
    """A chord the planner may use in ``modes`` when the mood is in range; ``prior`` is added
    to its score (sevenths and colour chords slightly negative: the melody must ask for them)."""

    symbol: str
    prior: float = Field(default=0.0, ge=-2.0, le=2.0)

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, value: str) -> str:
        return _check_symbols([value])[0]


class Progression(_MoodRanged):
    """A progression template (one chord per slot, repeated over the phrase)."""

    name: str
    chords: list[str] = Field(min_length=1)
    weight: float = Field(default=1.0, gt=0)

    _chords = field_validator("chords")(_check_symbols)


class CadenceChords(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    penultimate: list[str] = Field(min_length=1)
    final: list[str] = Field(min_length=1)

    _symbols = field_validator("penultimate", "final")(_check_symbols)


class CadenceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    major: CadenceChords  # for maj, mix, lyd
    minor: CadenceChords  # for dor, min, phr, loc


class Suspension(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    arousal: _Range = (-1.0, 0.4)
    chance: float = Field(default=0.5, ge=0, le=1)

    _ranges = field_validator("arousal")(_check_range)


class HarmonicRhythm(BaseModel):
    """Chord changes per bar at arousal -1, 0 and +1 (interpolated geometrically between)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    calm: float = Field(default=0.5, gt=0, le=4)
    neutral: float = Field(default=1.0, gt=0, le=4)
    driving: float = Field(default=2.0, gt=0, le=4)


class HarmonyData(BaseModel):
    """Everything the planner knows, as read from ``data/progressions.json``.

    ``valence_colour``: at valence v a major chord scores ``+colour * (v - centre)`` and a minor
    or diminished one ``-colour * (v - centre)``, ``centre`` being the mode's entry in
    ``valence_colour_centre`` (0 if none): inside the valence band that one mode covers, the
    harmony brightens as valence rises (darker chords low in the band, brighter high in it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    comment: str = ""
    valence_colour: float = Field(default=0.3, ge=0, le=2)
    valence_colour_centre: dict[str, Annotated[float, Field(ge=-1, le=1)]] = Field(default_factory=dict)

    @field_validator("valence_colour_centre")
    @classmethod
    def _centre_modes(cls, value: dict[str, float]) -> dict[str, float]:
        _check_modes(list(value))
        return value
    harmonic_rhythm: HarmonicRhythm = HarmonicRhythm()
    vocabulary: list[VocabularyEntry] = Field(min_length=1)
    progressions: list[Progression] = Field(min_length=1)
    cadences: dict[str, CadenceSpec]
    suspension: Suspension = Suspension()

    @model_validator(mode="after")
    def _complete(self) -> HarmonyData:
        missing = [c for c in CADENCES if c not in self.cadences]
        extra = [c for c in self.cadences if c not in CADENCES]
        if missing or extra:
            raise ValueError(f"cadences must be exactly {', '.join(CADENCES)}; "
                             f"missing {missing}, unknown {extra}")
        for mode in MODE_STEPS:
            m = _MODE_FALLBACK.get(mode, mode)
            if not any(m in e.modes for e in self.vocabulary):
                raise ValueError(f"vocabulary has no chord for mode {m!r}")
        return self


@lru_cache(maxsize=4)
def load_harmony(path: Path = DATA_PATH) -> HarmonyData:
    """Read and validate the harmony data; any problem is one :class:`ConfigError` line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"harmony data {path}: cannot read ({err.strerror or err})") from err
    try:
        return HarmonyData.model_validate_json(text)
    except ValidationError as err:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'document'}: {e['msg']}"
                          for e in err.errors())
        raise ConfigError(f"harmony data {path}: {where}".replace("\n", " ")) from err


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


def _weights(phrase: Phrase, start: float, end: float) -> tuple[dict[int, float], float]:
    """Melody weight per pitch class inside [start, end): overlap, more on strong beats."""
    meter = phrase.meter
    bar_len = meter.beats
    beat_len, _ = _beat_grid(meter)
    weights: dict[int, float] = {}
    for note in phrase.notes:
        overlap = min(end, note.start + note.duration) - max(start, note.start)
        if overlap <= _EPS:
            continue
        pos = note.start % bar_len
        if pos < _EPS or bar_len - pos < _EPS:
            factor = _STRONG["downbeat"]
        elif abs(pos / beat_len - round(pos / beat_len)) < _EPS:
            factor = _STRONG["beat"]
        else:
            factor = 1.0
        pc = note.pitch % 12
        weights[pc] = weights.get(pc, 0.0) + overlap * factor
    return weights, sum(weights.values())


@dataclass(frozen=True)
class _Cand:
    symbol: str
    parsed: _Parsed
    pcs: frozenset[int]
    clash: frozenset[int]  # scale tones a semitone from one of the chord's chromatic tones
    prior: float


def _candidate(symbol: str, tonic: int, scale: frozenset[int], prior: float = 0.0) -> _Cand:
    p = parse_symbol(symbol)
    root = (tonic + p.offset) % 12
    pcs = frozenset((root + i) % 12 for i in p.intervals)
    chromatic = pcs - scale
    clash = frozenset(pc for c in chromatic for pc in ((c + 1) % 12, (c - 1) % 12)
                      if pc in scale and pc not in pcs)
    return _Cand(symbol, p, pcs, clash, prior)


def _colour(symbol: str, valence: float, weight: float) -> float:
    """Major chords brighten, minor and diminished ones darken: a prior that follows valence."""
    third = parse_symbol(symbol).intervals[1]
    return weight * valence * (1.0 if third == 4 else -1.0 if third == 3 else 0.0)


def _fit(c: _Cand, weights: dict[int, float], total: float) -> float:
    if total <= _EPS:
        return 0.0
    good = sum(w for pc, w in weights.items() if pc in c.pcs)
    bad = sum(w for pc, w in weights.items() if pc in c.clash)
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


def _same(a: _Cand, b: _Cand) -> bool:
    return a.pcs == b.pcs


def _transition(a: _Cand, b: _Cand) -> float:
    if a.parsed.secondary_target is not None:  # an applied chord resolves to its target
        return 0.3 if b.parsed.offset == a.parsed.secondary_target and b.parsed.secondary_target is None \
            else float("-inf")
    if _same(a, b):
        return -_REPEAT_PENALTY
    fb = "T" if b.parsed.function == "X" else b.parsed.function  # approaching an applied chord
    return _FUNCTION_MOVE[(a.parsed.function, fb)]


def _viterbi(slot_scores: list[list[float]], cands: list[list[_Cand]],
             moves: dict[tuple[int, int], list[list[float]]]) -> tuple[float, list[int]]:
    """Best path; ``moves`` caches transition tables by pool (most slots share one)."""
    n = len(slot_scores)
    score = list(slot_scores[0])
    back: list[list[int]] = []
    for k in range(1, n):
        pair = (id(cands[k - 1]), id(cands[k]))
        if pair not in moves:
            moves[pair] = [[_transition(ca, cb) for ca in cands[k - 1]] for cb in cands[k]]
        table = moves[pair]
        new, ptr = [], []
        for j in range(len(cands[k])):
            row = table[j]
            best, arg = float("-inf"), 0
            for i, s0 in enumerate(score):
                s = s0 + row[i]
                if s > best:
                    best, arg = s, i
            new.append(best + slot_scores[k][j])
            ptr.append(arg)
        score = new
        back.append(ptr)
    j = max(range(len(score)), key=lambda i: (score[i], -i))
    path = [j]
    for ptr in reversed(back):
        j = ptr[j]
        path.append(j)
    return score[path[0]], path[::-1]


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
    mode = _MODE_FALLBACK.get(phrase.mode, phrase.mode)
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
    moves: dict[tuple[int, int], list[list[float]]] = {}
    ends: dict[str, tuple[list[_Cand], list[_Cand]]] = {}  # cadence -> (penultimate, final) pools
    for split_last, cadence in itertools.product((False,) if final_downbeat else (False, True), options):
        # a phrase ending on the tonic runs into the next one's opening tonic without a change:
        # one more chord inside keeps the changes per bar at the rate
        extra = 1 if cadence in ("authentic", "plagal") else 0
        slots = _slots(phrase.bars, phrase.meter, rate, split_last, extra)
        weights = [seen.setdefault((s, d), _weights(phrase, s, s + d)) for s, d in slots]
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
            for c in pool:
                s = _FIT_WEIGHT * _fit(c, *weights[k]) + c.prior
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
    weights, total = _weights(phrase, pen.start, pen.start + half)
    sus4 = _candidate("Vsus4", tonic, scale)
    v7 = _candidate("V7", tonic, scale)
    if weights.get((pen.root + 4) % 12, 0.0) > _EPS or \
            _fit(sus4, weights, total) < _fit(_candidate("V", tonic, scale), weights, total):
        return chords  # the melody sings the third, or the suspension fits it worse
    return chords[:-2] + [_chord(sus4, tonic, pen.start, half),
                          _chord(v7, tonic, pen.start + half, pen.duration - half), chords[-1]]


# --- voicing ----------------------------------------------------------------------------------


def _chord_tones(chord: Chord, voices: int) -> tuple[list[int], set[int]]:
    """(all pitch classes, those a voicing must hold): the fifth goes first when voices are few."""
    pcs = [(chord.root + i) % 12 for i in chord.intervals]
    required = list(dict.fromkeys(pcs))
    while len(required) > voices:
        fifth = (chord.root + 7) % 12
        required.remove(fifth if fifth in required and len(required) > 2 else required[-1])
    return pcs, set(required)


def _voicings(chord: Chord, low: int, high: int, voices: int) -> tuple[tuple[int, ...], ...]:
    return _voicings_of(chord.root, chord.intervals, low, high, voices)


@lru_cache(maxsize=4096)
def _voicings_of(root: int, intervals: tuple[int, ...], low: int, high: int,
                 voices: int) -> tuple[tuple[int, ...], ...]:
    chord = Chord(0.0, 0.0, root, intervals, root, "")
    pcs, required = _chord_tones(chord, voices)
    pitches = [p for p in range(low, high + 1) if p % 12 in pcs]
    found = []
    for combo in itertools.combinations(pitches, voices):
        if not required <= {p % 12 for p in combo}:
            continue
        if any(b - a > 12 for a, b in zip(combo[1:], combo[2:])):  # upper voices within an octave
            continue
        found.append(combo)
    if not found:  # a range too narrow for the chord: the nearest notes that fit, in order
        found = [tuple(sorted(itertools.islice(itertools.cycle(pitches or [low]), voices)))]
    return tuple(found)


def _bass_pitch(chord: Chord) -> int:
    return 36 + chord.bass


def _parallel(prev: tuple[int, ...], cur: tuple[int, ...], prev_bass: int, cur_bass: int) -> bool:
    """Perfect fifths or octaves moving in parallel between the top and a lower outer voice."""
    pairs = [((prev[0], prev[-1]), (cur[0], cur[-1])), ((prev_bass, prev[-1]), (cur_bass, cur[-1]))]
    for (a0, a1), (b0, b1) in pairs:
        moved = a0 != b0 and a1 != b1 and (b0 - a0) * (b1 - a1) > 0
        if moved and (a1 - a0) % 12 in (0, 7) and (b1 - b0) % 12 == (a1 - a0) % 12:
            return True
    return False


def _doubling_cost(chord: Chord, combo: tuple[int, ...]) -> float:
    counts: dict[int, int] = {}
    for p in combo:
        counts[p % 12] = counts.get(p % 12, 0) + 1
    third = (chord.root + chord.intervals[1]) % 12 if len(chord.intervals) > 1 else -1
    cost = 0.0
    for pc, k in counts.items():
        if k > 1 and pc != chord.root:
            cost += 1.5 if pc == third else 0.5
    return cost


def voice_chords(chords: Sequence[Chord], low: int = 48, high: int = 67, voices: int = 4,
                 previous: tuple[int, ...] | None = None) -> list[tuple[int, ...]]:
    """A voicing (ascending MIDI pitches in [low, high]) per chord, moving as little as it can.

    ``previous`` is the voicing that sounded before the first chord (to continue a part across
    phrases). Parallel fifths and octaves between the outer voices, and between the top voice
    and the bass note (the chord's bass pitch class in 36-47), are avoided where another
    voicing allows it; doubled thirds cost more than doubled roots.
    """
    if voices < 1 or high < low:
        raise ConfigError(f"voice_chords needs voices >= 1 and low <= high, got {voices}, {low}..{high}")
    out: list[tuple[int, ...]] = []
    prev = previous
    prev_bass: int | None = None
    centre = (low + high) / 2
    for chord in chords:
        options = _voicings(chord, low, high, voices)
        bass = _bass_pitch(chord)

        def cost(v: tuple[int, ...]) -> tuple[float, tuple[int, ...]]:
            c = _doubling_cost(chord, v)
            if prev is None:
                c += sum(abs(p - centre) for p in v) / len(v)
            else:
                ref = sorted(prev)
                if len(ref) == len(v):
                    c += sum(abs(a - b) for a, b in zip(v, ref))
                else:
                    c += sum(min(abs(p - q) for q in ref) for p in v)
                if prev_bass is not None and len(ref) > 1 and _parallel(tuple(ref), v, prev_bass, bass):
                    c += 12.0
                c += 0.5 * max(0, abs(v[-1] - ref[-1]) - 2)  # a singable top line
            return c, v

        prev = min(options, key=cost)
        prev_bass = bass
        out.append(prev)
    return out
