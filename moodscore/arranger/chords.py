"""Chords as roman numerals: the :class:`Chord` a harmony plan is made of, and the symbol
parser the harmony data is validated with.

Public API: :class:`Chord`, :func:`parse_symbol`, :class:`ParsedSymbol`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from ..errors import ConfigError


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
class ParsedSymbol:
    offset: int  # root, semitones above the tonic
    intervals: tuple[int, ...]
    bass_interval: int  # semitones above the root of the bass note
    secondary_target: int | None  # offset of the chord a secondary dominant resolves to
    function: str  # "T" | "S" | "D" | "X" (secondary)


def _degree(acc: str, numeral: str) -> int:
    return (_NUMERALS[numeral.upper()] + {"": 0, "b": -1, "#": 1}[acc]) % 12


@lru_cache(maxsize=None)
def parse_symbol(symbol: str) -> ParsedSymbol:
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
    return ParsedSymbol(offset, intervals, bass_interval, target, "X" if target is not None else _function(offset))


def _function(offset: int) -> str:
    if offset in (0, 3, 4, 9):  # I, bIII, iii, vi: tonic and its relatives
        return "T"
    if offset in (7, 10, 11):  # V, bVII, vii°
        return "D"
    return "S"  # ii, IV, bVI, bII, #iv
