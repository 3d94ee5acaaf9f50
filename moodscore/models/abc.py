"""The ABC subset moodscore reads and writes, and its token grammar.

Every tune is normalised to unit length ``L:1/8`` and a tonic of C, so a token means a scale
degree under the mode's key signature. A body token is one of

* a note: ``[accidental] letter [octave marks] [duration]`` such as ``^f3/`` or ``B,2``;
* a rest: ``z`` plus a duration;
* the bar line ``|``.

Durations are counted in *ticks*, thirty-second notes, so an eighth note (``L``) is 4 ticks.
Accidentals follow ABC 2.1: they hold for the same letter and octave to the end of the bar.
This module is pure Python and used at run time.

Public API: ``DURATIONS``, :class:`Spelled`, :func:`key_signature`, :func:`note_token`,
:func:`parse_token`, :class:`BarState`, :func:`tokens_to_notes`, :func:`body_to_abc`,
:func:`abc_to_tokens`, :func:`transpose_tokens`, :func:`key_field`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from ..errors import TokenizeError
from ..music import MODE_STEPS, Meter, Note

BAR = "|"
TICKS_PER_UNIT = 4  # L:1/8 is four thirty-seconds
TICKS_PER_BEAT = 8  # a quarter note
# Duration in ticks -> ABC suffix under L:1/8. The grid the corpus and the models use.
DURATIONS: dict[int, str] = {
    1: "/4", 2: "/", 3: "3/4", 4: "", 6: "3/", 8: "2", 12: "3",
    16: "4", 24: "6", 32: "8", 48: "12", 64: "16",
}
_SUFFIX_TICKS = {suffix: ticks for ticks, suffix in DURATIONS.items()}
_SUFFIX_TICKS["/2"] = 2
_NATURAL_PC = (0, 2, 4, 5, 7, 9, 11)
_LETTERS = "CDEFGAB"
_ACC_TEXT = {-2: "__", -1: "_", 0: "=", 1: "^", 2: "^^"}
_TEXT_ACC = {text: alter for alter, text in _ACC_TEXT.items()}
_TOKEN_RE = re.compile(r"(\^\^|\^|__|_|=)?([A-Ga-gz])([,']*)(\d*/?\d*)")
_MODE_NAMES = {"maj": "", "min": "m", "dor": "dor", "mix": "mix", "lyd": "lyd", "phr": "phr", "loc": "loc"}


@dataclass(frozen=True)
class Spelled:
    """A pitch as written: letter index (0=C..6=B), octave (4 = middle C's), alteration."""

    step: int
    octave: int
    alter: int = 0

    @property
    def midi(self) -> int:
        return 12 * (self.octave + 1) + _NATURAL_PC[self.step] + self.alter

    @property
    def diatonic(self) -> int:
        return self.octave * 7 + self.step

    def letter_text(self) -> str:
        """The letter with ABC octave marks, without accidental."""
        letter = _LETTERS[self.step]
        if self.octave >= 5:
            return letter.lower() + "'" * (self.octave - 5)
        return letter + "," * (4 - self.octave)

    def transposed(self, steps: int, semitones: int) -> "Spelled":
        """Move by a diatonic number of letters and a chromatic number of semitones."""
        d = self.diatonic + steps
        octave, step = divmod(d, 7)
        natural = 12 * (octave + 1) + _NATURAL_PC[step]
        return Spelled(step, octave, self.midi + semitones - natural)


def key_signature(mode: str, tonic: Spelled = Spelled(0, 4)) -> tuple[int, ...]:
    """Alteration of each letter C..B in the key signature of ``mode`` on ``tonic``."""
    if mode not in MODE_STEPS:
        raise TokenizeError(f"mode must be one of {', '.join(MODE_STEPS)}, got {mode!r}")
    alters = [0] * 7
    for degree, semis in enumerate(MODE_STEPS[mode]):
        step = (tonic.step + degree) % 7
        pc = (tonic.midi + semis) % 12
        alters[step] = (pc - _NATURAL_PC[step] + 6) % 12 - 6
    return tuple(alters)


def key_field(mode: str, tonic: Spelled = Spelled(0, 4)) -> str:
    """The ABC ``K:`` value, e.g. ``C``, ``Am``, ``Ddor``, ``F#mix``."""
    acc = {-1: "b", 0: "", 1: "#"}.get(tonic.alter)
    if acc is None:
        raise TokenizeError("tonic must be at most one sharp or flat")
    return f"{_LETTERS[tonic.step]}{acc}{_MODE_NAMES[mode]}"


def note_token(spelled: Spelled | None, ticks: int, accidental: int | None) -> str:
    """Write one note (or a rest when ``spelled`` is None) with an explicit accidental or none."""
    if ticks not in DURATIONS:
        raise TokenizeError(f"duration must be one of {sorted(DURATIONS)} ticks, got {ticks}")
    if spelled is None:
        return "z" + DURATIONS[ticks]
    if accidental is not None and accidental not in _ACC_TEXT:
        raise TokenizeError(f"accidental must be at most a double sharp or flat, got {accidental:+d}")
    acc = "" if accidental is None else _ACC_TEXT[accidental]
    return acc + spelled.letter_text() + DURATIONS[ticks]


@dataclass(frozen=True)
class ParsedToken:
    """A body token taken apart: ``letter`` is None for a rest; ``accidental`` None if unwritten."""

    step: int | None
    octave: int
    accidental: int | None
    ticks: int


@lru_cache(maxsize=4096)  # decoding parses the same few hundred tokens at every step
def parse_token(token: str) -> ParsedToken:
    """Take a note or rest token apart. Raises TokenizeError for anything else."""
    m = _TOKEN_RE.fullmatch(token)
    if m is None or m.group(4) not in _SUFFIX_TICKS:
        raise TokenizeError(f"not a note or rest token on the L:1/8 grid: {token!r}")
    acc_text, letter, marks, suffix = m.groups()
    ticks = _SUFFIX_TICKS[suffix]
    if letter == "z":
        if acc_text or marks:
            raise TokenizeError(f"a rest takes no accidental or octave mark: {token!r}")
        return ParsedToken(None, 0, None, ticks)
    octave = 5 if letter.islower() else 4
    octave += marks.count("'") - marks.count(",")
    accidental = _TEXT_ACC[acc_text] if acc_text else None
    return ParsedToken(_LETTERS.index(letter.upper()), octave, accidental, ticks)


@dataclass
class BarState:
    """Where decoding stands inside the current bar: position and accidentals in force."""

    meter: Meter
    key: tuple[int, ...]
    position: int = 0  # ticks into the bar
    accidentals: dict[tuple[int, int], int] = field(default_factory=dict)

    @property
    def remaining(self) -> int:
        return self.meter.ticks - self.position

    def default_alter(self, step: int, octave: int) -> int:
        return self.accidentals.get((step, octave), self.key[step])

    def bar_line(self) -> None:
        if self.position != self.meter.ticks:
            raise TokenizeError(
                f"bar holds {self.position} of {self.meter.ticks} ticks for {self.meter}")
        self.position = 0
        self.accidentals.clear()

    def advance(self, parsed: ParsedToken) -> Spelled | None:
        """Apply one note or rest; return its sounding spelling (None for a rest)."""
        if parsed.ticks > self.remaining:
            raise TokenizeError(
                f"note of {parsed.ticks} ticks overflows the bar ({self.remaining} left)")
        self.position += parsed.ticks
        if parsed.step is None:
            return None
        if parsed.accidental is not None:
            self.accidentals[(parsed.step, parsed.octave)] = parsed.accidental
        return Spelled(parsed.step, parsed.octave, self.default_alter(parsed.step, parsed.octave))

    def spell(self, spelled: Spelled, ticks: int) -> str:
        """Token for ``spelled`` here, with an accidental only where ABC needs one; advances."""
        default = self.default_alter(spelled.step, spelled.octave)
        accidental = None if spelled.alter == default else spelled.alter
        token = note_token(spelled, ticks, accidental)
        self.advance(ParsedToken(spelled.step, spelled.octave, accidental, ticks))
        return token


def tokens_to_notes(tokens: list[str], meter: Meter, mode: str, *, tonic_midi: int = 0,
                    velocity: int = 80, channel: int = 0) -> tuple[list[Note], int]:
    """Decode body tokens to notes (times in beats). Returns the notes and the bar count.

    A trailing incomplete bar is an error; ``tonic_midi`` transposes the sounding pitches.
    """
    state = BarState(meter, key_signature(mode))
    notes: list[Note] = []
    bars = 0
    time = 0
    for token in tokens:
        if token == BAR:
            state.bar_line()
            bars += 1
            continue
        parsed = parse_token(token)
        start = time
        time += parsed.ticks
        spelled = state.advance(parsed)
        if spelled is not None:
            notes.append(Note(spelled.midi + tonic_midi, start / TICKS_PER_BEAT,
                              parsed.ticks / TICKS_PER_BEAT, velocity, channel))
    if state.position:
        raise TokenizeError("the last bar is incomplete")
    return notes, bars


def body_to_abc(tokens: list[str]) -> str:
    """Join body tokens as ABC text: notes of a bar side by side, bars separated by ``|``."""
    bars: list[str] = []
    current: list[str] = []
    for token in tokens:
        if token == BAR:
            bars.append("".join(current))
            current = []
        else:
            current.append(token)
    if current:
        bars.append("".join(current))
    return " | ".join(bars) + (" |" if tokens and tokens[-1] == BAR else "")


def abc_to_tokens(text: str) -> list[str]:
    """Split ABC body text written in this subset back into tokens."""
    tokens: list[str] = []
    pos = 0
    text = text.replace("|]", "|").replace("||", "|")
    while pos < len(text):
        ch = text[pos]
        if ch.isspace():
            pos += 1
        elif ch == BAR:
            tokens.append(BAR)
            pos += 1
        else:
            m = _TOKEN_RE.match(text, pos)
            if m is None or m.end() == pos:
                raise TokenizeError(f"unexpected {text[pos:pos + 8]!r} at column {pos}")
            parse_token(m.group(0))
            tokens.append(m.group(0))
            pos = m.end()
    return tokens


def transpose_tokens(tokens: list[str], meter: Meter, mode: str, tonic: Spelled) -> list[str]:
    """Rewrite C-tonic body tokens in the key of ``tonic`` (same mode), respelling accidentals.

    The result is meant for a ``K:`` field built with :func:`key_field` and the same tonic; the
    sounding pitches move up by ``tonic``'s pitch class (octave kept by the letter distance).
    """
    src = BarState(meter, key_signature(mode))
    dst = BarState(meter, key_signature(mode, tonic))
    semis = tonic.midi - 60
    out: list[str] = []
    for token in tokens:
        if token == BAR:
            src.bar_line()
            dst.bar_line()
            out.append(BAR)
            continue
        parsed = parse_token(token)
        spelled = src.advance(parsed)
        if spelled is None:
            dst.advance(parsed)
            out.append(token)
        else:
            out.append(dst.spell(spelled.transposed(tonic.diatonic - 28, semis), parsed.ticks))
    return out


@lru_cache(maxsize=4096)  # every note of every LSTM phrase is spelled: a few hundred (pitch, key) pairs
def spell_midi(midi: int, key: tuple[int, ...]) -> Spelled:
    """Spell a MIDI pitch in a key: the diatonic letter when there is one, else a sharp
    (a flat in keys whose signature has flats)."""
    candidates = []
    for step in range(7):
        for octave in (midi // 12 - 2, midi // 12 - 1, midi // 12):
            alter = midi - (12 * (octave + 1) + _NATURAL_PC[step])
            if -1 <= alter <= 1:
                candidates.append(Spelled(step, octave, alter))
    flats = any(a < 0 for a in key)
    return min(candidates, key=lambda s: (s.alter != key[s.step], (s.alter > 0) == flats, s.step))


def notes_to_tokens(notes: list[Note], meter: Meter, mode: str, bars: int) -> list[str]:
    """Write monophonic notes (C tonic, times in beats on the tick grid) as body tokens.

    Gaps become rests; a note must lie inside one bar and last one of ``DURATIONS``.
    """
    key = key_signature(mode)
    state = BarState(meter, key)
    bar_ticks = meter.ticks
    events: list[tuple[int, int, int | None]] = []  # (start tick, ticks, pitch or None)
    cursor = 0
    for n in sorted(notes, key=lambda n: n.start):
        start = round(n.start * TICKS_PER_BEAT)
        ticks = round(n.duration * TICKS_PER_BEAT)
        if start < cursor or ticks not in DURATIONS or start // bar_ticks != (start + ticks - 1) // bar_ticks:
            raise TokenizeError(f"note at beat {n.start} does not fit the ABC grid")
        events.extend(_rests(cursor, start, bar_ticks))
        events.append((start, ticks, n.pitch))
        cursor = start + ticks
    events.extend(_rests(cursor, bars * bar_ticks, bar_ticks))
    tokens: list[str] = []
    for start, ticks, pitch in events:
        if start and start % bar_ticks == 0 and state.position == bar_ticks:
            state.bar_line()
            tokens.append(BAR)
        if pitch is None:
            state.advance(ParsedToken(None, 0, None, ticks))
            tokens.append(note_token(None, ticks, None))
        else:
            tokens.append(state.spell(spell_midi(pitch, key), ticks))
    state.bar_line()
    tokens.append(BAR)
    return tokens


def _rests(start: int, end: int, bar_ticks: int) -> list[tuple[int, int, None]]:
    """Rests filling [start, end), split at bar lines and into grid lengths."""
    out: list[tuple[int, int, None]] = []
    while start < end:
        bar_end = (start // bar_ticks + 1) * bar_ticks
        span = min(end, bar_end) - start
        ticks = max(d for d in DURATIONS if d <= span)
        out.append((start, ticks, None))
        start += ticks
    return out
