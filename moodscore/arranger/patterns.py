"""Rhythm pattern families per role and per metric feel, and the bar-by-bar choice among them.

A pattern is a grid string, one character per pulse (an eighth note in simple and triple time,
a third of the dotted beat in compound time), written for a reference bar: four beats in
``simple`` feel (2/4, 4/4, 2/2, 5/4, 7/8 ... cycle or cut it beat by beat), three in ``triple``
(3/4, 3/8, the waltz) and two dotted beats in ``compound`` (6/8, 9/8, 12/8). ``.`` is a rest,
``-`` holds the note before it, any other character strikes a note; what it strikes is the
role's business (see :mod:`.parts`): ``R`` the chord's bass, ``5``/``3``/``8`` its fifth, third
or octave, ``x`` the next chord tone, ``p`` a passing tone, ``a`` an approach to the next
chord; digits index the chord voicing (arpeggios), ``c`` strikes the whole chord. Drum patterns
hold one grid per drum voice; ``X`` is an accent, ``o`` a ghost note, ``d`` two hits in the
pulse (sixteenths).

Each bar picks its pattern from the family the style and the arousal choose, and varies it from
the seed: the phrase's last bar takes a fill (drums), a pickup into the next phrase (bass) or a
break (rhythm, at the end of a period), and any bar may have one pulse added or dropped.

Public API: :class:`Hit`, :class:`Feel`, :func:`feel_of`, :func:`family_for`, :func:`bar_hits`,
:func:`drum_hits`, ``FAMILIES``, ``DRUM_FAMILIES``, ``DRUM_FILLS``, ``PITCHED_ROLES``.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

from ..music import Meter

PITCHED_ROLES = ("pad", "rhythm", "bass")
FEELS = ("simple", "triple", "compound")

# role -> family -> feel -> patterns (the first is the family's plain form)
FAMILIES: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "bass": {
        "pedal": {"simple": ("R-------", "R---5---", "R-----a-", "R---R---"),
                  "triple": ("R-----", "R---5-", "R-----"),
                  "compound": ("R-----", "R--5--", "R----a")},
        "root": {"simple": ("R---5---", "R---x-a-", "R-----a-", "R-5-R-a-"),
                 "triple": ("R-5-5-", "R-x-x-", "R---a-"),
                 "compound": ("R--5--", "R-x5-a", "R--x-a")},
        "walking": {"simple": ("R-x-p-a-", "R-p-x-a-", "R-5-8-a-", "R-3-5-p-"),
                    "triple": ("R-x-a-", "R-p-p-", "R-5-a-"),
                    "compound": ("R-xp-a", "R-x5-x", "R--p-a")},
        "drive": {"simple": ("RxRxRxRa", "R.RxR.xa", "RRxxRRpa", "R.xR.xRa"),
                  "triple": ("RxRxRa", "R.xRxa", "RRxxpa"),
                  "compound": ("RxxRxa", "R.xR.a", "RxRxpa")},
        "synth": {"simple": ("R.xR.xR.", "R..RR.x.", "R.RxR.Ra", "RR.xR.xa"),
                  "triple": ("R.xR.x", "R..xRa", "RR.xRa"),
                  "compound": ("R.xR.x", "R..R.a", "RxxR.a")},
    },
    "pad": {
        "hold": {"simple": ("c-------", "c-------", "c---c---", "c-----c-"),
                 "triple": ("c-----", "c-----", "c---c-"),
                 "compound": ("c-----", "c-----", "c--c--")},
        "pulse": {"simple": ("c---c---", "c-----c-", "c-c-c---", "c---c-c-"),
                  "triple": ("c-c-c-", "c---c-", "c-----"),
                  "compound": ("c--c--", "c----c", "c-----")},
    },
    "rhythm": {
        "arpeggio": {"simple": ("01232101", "01230123", "02130213", "0.2.1.3."),
                     "triple": ("012321", "010203", "0.2.3."),
                     "compound": ("012321", "012012", "021021")},
        "broken": {"simple": ("0-2-1-3-", "0-1-2-1-", "0-2-3-2-", "0---2-1-"),
                   "triple": ("0-1-2-", "0-2-1-", "0---2-"),
                   "compound": ("0-12-1", "0--2--", "0-21-2")},
        "comping": {"simple": (".c.c.c.c", "c..c..c.", ".c..c.c.", "c-.c.-c."),
                    "triple": ("..c.c.", "..c-c-", "c.c.c."),
                    "compound": (".cc.cc", "c.cc.c", ".c-.c-")},
        "waltz": {"simple": ("..c.c.c.", "..c...c.", ".c.c.c.c"),
                  "triple": ("..c.c.", "..c-c-", "..c.cc"),
                  "compound": (".cc.cc", "..c..c", ".c..cc")},
        "ostinato": {"simple": ("02120212", "01210121", "0.020.02", "03120312"),
                     "triple": ("021202", "012101", "0.020."),
                     "compound": ("021021", "010101", "0.20.2")},
    },
}

# family -> feel -> patterns, each {voice: grid}
DRUM_FAMILIES: dict[str, dict[str, tuple[dict[str, str], ...]]] = {
    "brushes": {
        "simple": ({"kick": "x.......", "hat": "..x...x.", "ride": "x.x.x.x."},
                   {"kick": "x...x...", "hat": "..x...x.", "ride": "x.xxx.xx"},
                   {"kick": "x.......", "snare": "......o.", "ride": "x.x.x.x."}),
        "triple": ({"kick": "x.....", "hat": "..x.x.", "ride": "x.x.x."},
                   {"kick": "x.....", "hat": "..x.x.", "ride": "x.xxx."}),
        "compound": ({"kick": "x.....", "hat": "...x..", "ride": "x.xx.x"},
                     {"kick": "x..x..", "hat": "...x..", "ride": "x..x.x"}),
    },
    "pop": {
        "simple": ({"kick": "X...x...", "snare": "..x...x.", "hat": "xxxxxxxx"},
                   {"kick": "X...x.x.", "snare": "..x...x.", "hat": "xxxxxxxx"},
                   {"kick": "X..xx...", "snare": "..x...xo", "hat": "x.x.x.x."},
                   {"kick": "X.x.x...", "snare": "..x..ox.", "hat": "xxxxxxx.", "open_hat": ".......x"}),
        "triple": ({"kick": "X.....", "snare": "..x.x.", "hat": "xxxxxx"},
                   {"kick": "X...x.", "snare": "..x...", "hat": "x.x.x."},
                   {"kick": "X.x...", "snare": "..x.xo", "hat": "xxxxxx"}),
        "compound": ({"kick": "X.....", "snare": "...x..", "hat": "xxxxxx"},
                     {"kick": "X..x..", "snare": "...x..", "hat": "x.xx.x"},
                     {"kick": "X....x", "snare": "...x.o", "hat": "xxxxxx"}),
    },
    "rock": {
        "simple": ({"kick": "X.x.x.x.", "snare": "..X...X.", "hat": "xxxxxxxx"},
                   {"kick": "X.xxx.x.", "snare": "..X...X.", "ride": "xxxxxxxx"},
                   {"kick": "X.x.xx..", "snare": "..X...Xo", "hat": "xxxxxxxx"}),
        "triple": ({"kick": "X.x.x.", "snare": "..X.X.", "hat": "xxxxxx"},
                   {"kick": "X.xx..", "snare": "..X.X.", "ride": "xxxxxx"}),
        "compound": ({"kick": "X..x..", "snare": "...X..", "hat": "xxxxxx"},
                     {"kick": "X.xx..", "snare": "...X.o", "ride": "xxxxxx"}),
    },
    "four": {
        "simple": ({"kick": "X.x.X.x.", "clap": "..x...x.", "hat": ".x.x.x.x"},
                   {"kick": "X.x.X.x.", "clap": "..x...x.", "hat": "xxxxxxxx", "open_hat": ".x...x.."},
                   {"kick": "X.x.X.xx", "clap": "..x...x.", "hat": ".x.x.x.x"}),
        "triple": ({"kick": "X.x.x.", "clap": "..x.x.", "hat": ".x.x.x"},
                   {"kick": "X.x.xx", "clap": "..x.x.", "hat": "xxxxxx"}),
        "compound": ({"kick": "X..X..", "clap": "...x..", "hat": ".xx.xx"},
                     {"kick": "X..X.x", "clap": "...x..", "hat": "xxxxxx"}),
    },
    "chip": {
        "simple": ({"kick": "X...x...", "snare": "..x...x.", "hat": "x.x.x.x."},
                   {"kick": "X..xx...", "snare": "..x...x.", "hat": "xxxxxxxx"},
                   {"kick": "X...x.x.", "snare": "..x..xx.", "hat": "x.x.x.x."}),
        "triple": ({"kick": "X.....", "snare": "..x.x.", "hat": "x.x.x."},
                   {"kick": "X...x.", "snare": "..x...", "hat": "xxxxxx"}),
        "compound": ({"kick": "X.....", "snare": "...x..", "hat": "x.xx.x"},
                     {"kick": "X..x..", "snare": "...x.x", "hat": "xxxxxx"}),
    },
    "orchestral": {
        "simple": ({"timp": "X-------", "bass_drum": "........"},
                   {"timp": "X---x---", "crash": "........"},
                   {"timp": "X...x.x.", "bass_drum": "x......."},
                   {"timp": "X---xxxx"}),
        "triple": ({"timp": "X-----"}, {"timp": "X---x-"}, {"timp": "X.x.x.", "bass_drum": "x....."}),
        "compound": ({"timp": "X-----"}, {"timp": "X--x--"}, {"timp": "X.xx.x", "bass_drum": "x....."}),
    },
}

# feel -> fills for the last bar of a phrase (any family); the style's voices are mapped on them
DRUM_FILLS: dict[str, tuple[dict[str, str], ...]] = {
    "simple": ({"kick": "X...x...", "snare": "..x.xoxx", "hat": "xxxx...."},
               {"kick": "X.......", "snare": "..x.....", "tom_high": "....xx..", "tom_low": "......xx"},
               {"kick": "X...x...", "snare": "..x...xx", "tom_mid": "....xx..", "hat": "xxxx...."}),
    "triple": ({"kick": "X.....", "snare": "..xoxx"},
               {"kick": "X.....", "snare": "..x...", "tom_high": "...x..", "tom_low": "....xx"}),
    "compound": ({"kick": "X.....", "snare": "...xxx"},
                 {"kick": "X.....", "tom_high": "..x...", "tom_mid": "...xx.", "tom_low": ".....x"}),
}
# the orchestral section has no toms: its fills are timpani rolls and a bass drum stroke
ORCHESTRAL_FILLS: dict[str, tuple[dict[str, str], ...]] = {
    "simple": ({"timp": "X...xxxx", "bass_drum": "......x."}, {"timp": "X---xxxx"}),
    "triple": ({"timp": "X.xxxx"}, {"timp": "X---xx", "bass_drum": "....x."}),
    "compound": ({"timp": "X..xxx"}, {"timp": "X--xxx", "bass_drum": ".....x"}),
}
DRUM_VOICES = ("kick", "snare", "hat", "open_hat", "ride", "crash", "clap", "tom_low", "tom_mid",
               "tom_high", "timp", "bass_drum")
_MUTATE = 0.6  # chance a bar has one pulse added or dropped


@dataclass(frozen=True)
class Feel:
    """How a meter is felt: beats per bar, beat length (quarters), pulses per beat, pattern set."""

    name: str
    beats: int
    beat_len: float
    sub: int
    ref_beats: int

    @property
    def pulse(self) -> float:
        return self.beat_len / self.sub


@dataclass(frozen=True)
class Hit:
    """One struck note of a bar: onset and length in quarter beats from the bar, the grid token."""

    start: float
    length: float
    token: str


def feel_of(meter: Meter) -> Feel:
    """Compound meters (6/8, 9/8, 12/8) beat in dotted quarters, 3/x is a waltz, the rest simple."""
    if meter.denominator == 8 and meter.numerator % 3 == 0 and meter.numerator > 3:
        return Feel("compound", meter.numerator // 3, 1.5, 3, 2)
    beat = 4.0 / meter.denominator
    if meter.numerator == 3:
        return Feel("triple", 3, beat, 2, 3)
    return Feel("simple", meter.numerator, beat, 2, 4)


def family_for(families: tuple[str, ...] | list[str], arousal: float) -> str:
    """The style's families run from calm to driving; arousal in [-1, 1] picks one."""
    i = int((arousal + 1) / 2 * len(families))
    return families[max(0, min(len(families) - 1, i))]


@lru_cache(maxsize=4096)
def _bar_grid(grid: str, feel: Feel, offset: int = 0) -> str:
    """The reference grid laid over the bar's beats (cycled or cut one beat at a time)."""
    out = []
    for b in range(feel.beats):
        r = (b + offset) % feel.ref_beats
        out.append(grid[r * feel.sub:(r + 1) * feel.sub])
    return "".join(out)


def _hits(grid: str, feel: Feel) -> list[Hit]:
    return list(_grid_hits(grid, feel))


@lru_cache(maxsize=4096)
def _grid_hits(grid: str, feel: Feel) -> tuple[Hit, ...]:
    """The hits of a bar's grid (worked out once per grid and feel: every bar of every part asks)."""
    hits: list[Hit] = []
    for i, ch in enumerate(grid):
        if ch == ".":
            continue
        if ch == "-":
            if hits and abs(hits[-1].start + hits[-1].length - i * feel.pulse) < 1e-9:
                last = hits[-1]
                hits[-1] = Hit(last.start, last.length + feel.pulse, last.token)
            continue
        if ch == "d":  # a double: two strokes in the pulse
            hits += [Hit(i * feel.pulse, feel.pulse / 2, "x"), Hit((i + 0.5) * feel.pulse, feel.pulse / 2, "o")]
            continue
        hits.append(Hit(i * feel.pulse, feel.pulse, ch))
    return tuple(hits)


def _mutate(grid: str, rng: random.Random, tokens: str) -> str:
    """Add or drop one pulse away from the downbeat."""
    if len(grid) < 3:
        return grid
    i = rng.randrange(1, len(grid))
    chars = list(grid)
    if chars[i] not in ".-":
        chars[i] = "-" if chars[i - 1] not in "." and rng.random() < 0.5 else "."
    elif chars[i] == "." or rng.random() < 0.5:
        chars[i] = rng.choice(tokens)
    return "".join(chars)


def _pick(count: int, bar: int, rng: random.Random) -> int:
    if bar == 0 or count == 1:
        return 0
    return 0 if rng.random() < 0.35 else rng.randrange(1, count)


def bar_hits(role: str, family: str, feel: Feel, *, bar: int, bars: int, phrase_index: int,
             rng: random.Random) -> list[Hit]:
    """The hits of one bar of a pitched role (bar ``bar`` of a phrase of ``bars``)."""
    patterns = FAMILIES[role][family][feel.name]
    grid = _bar_grid(patterns[_pick(len(patterns), bar, rng)], feel)
    last = bar == bars - 1
    keep = feel.sub * max(1, feel.beats // 2)  # a break: the period ends on the half bar
    if role == "rhythm" and last and phrase_index % 2 == 1 and grid[:keep].strip(".-") \
            and rng.random() < 0.7:
        grid = grid[:keep] + "." * (len(grid) - keep)
    elif role == "bass" and last:
        grid = grid[:-2] + ("pa" if rng.random() < 0.5 else "-a")  # a pickup into the next phrase
    elif role != "pad" or rng.random() < 0.3:
        if rng.random() < _MUTATE:
            grid = _mutate(grid, rng, "x" if role == "bass" else ("c" if role == "pad" else "0123"))
    return _hits(grid, feel)


def _vary_drums(pattern: dict[str, str], rng: random.Random) -> dict[str, str]:
    """One change a listener hears in the groove: a pair of sixteenths, a dropped stroke or a
    ghost note where nothing played."""
    length = len(next(iter(pattern.values())))
    busy = [i for i in range(1, length) if any(g[i] not in ".-" for g in pattern.values())]
    free = [i for i in range(1, length) if i not in busy]
    op = rng.random()
    voices = sorted(pattern)
    if op < 0.4 and busy:  # sixteenths on a stroke: the top voice doubles
        i = rng.choice(busy)
        voice = next(v for v in reversed(voices) if pattern[v][i] not in ".-")
        g = pattern[voice]
        return {**pattern, voice: g[:i] + "d" + g[i + 1:]}
    if op < 0.7 and len(busy) > 2:  # drop every stroke on one pulse
        i = rng.choice(busy)
        return {v: g[:i] + "." + g[i + 1:] for v, g in pattern.items()}
    if free:  # a ghost note where there was none
        i = rng.choice(free)
        voice = "snare" if "snare" in pattern else voices[0]
        g = pattern.get(voice, "." * length)
        return {**pattern, voice: g[:i] + "o" + g[i + 1:]}
    return pattern


def drum_hits(family: str, feel: Feel, *, bar: int, bars: int, rng: random.Random,
              fill: bool = True) -> list[Hit]:
    """The hits of one bar of drums; the token is the drum voice, upper case for an accent,
    ``~`` before it for a ghost note."""
    patterns = DRUM_FAMILIES[family][feel.name]
    if fill and bar == bars - 1 and rng.random() < 0.85:
        fills = ORCHESTRAL_FILLS if family == "orchestral" else DRUM_FILLS
        pattern = fills[feel.name][rng.randrange(len(fills[feel.name]))]
    else:
        pattern = patterns[_pick(len(patterns), bar, rng)]
        if rng.random() < _MUTATE + 0.2:
            pattern = _vary_drums(pattern, rng)
    hits: list[Hit] = []
    for voice, grid in sorted(pattern.items()):
        hits += _voice_hits(voice, grid, feel)
    return hits


@lru_cache(maxsize=4096)
def _voice_hits(voice: str, grid: str, feel: Feel) -> tuple[Hit, ...]:
    """One drum voice's hits of a bar, its token the voice (upper case: accent, ``~``: ghost)."""
    return tuple(Hit(h.start, h.length, voice.upper() if h.token == "X" else ("~" + voice if h.token == "o" else voice))
                 for h in _grid_hits(_bar_grid(grid, feel), feel))
