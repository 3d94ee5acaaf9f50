"""Themes (leitmotifs): a motif that comes back, sequenced and in the current mode.

A :class:`Theme` is a short melody in C, in the generator's register, as the models write
phrases. It is the head of the first phrase, or one the user gives (ABC or a MIDI file; see
:func:`load_theme`, :func:`theme_from_abc`, :func:`theme_from_midi`). :class:`ThemePlan`
decides, per phrase index, whether the phrase opens with the theme: a user's theme opens the
next phrase whole (up to a phrase); then in every 16 bars the motif (its first two bars) opens the
second phrase as it was (a period: same opening, another cadence), the third a scale step higher
(or lower, every other time: a sequence) and the fourth as it was again (A A' B A'', as folk
tunes go); the first phrase of each 16 bars after the first is free. A returning
motif is moved into the mode asked for then (:func:`restate`: scale degree for scale degree), the
model is asked to continue it (the motif is its context) and the phrase is the motif followed by
that continuation (:func:`splice`); the arranger harmonises it anew, for the mood of that moment.

Pure and deterministic, no I/O except :func:`load_theme` reading its file.

Public API: :class:`Theme`, :class:`ThemePlan`, :func:`theme_from_phrase`, :func:`restate`,
:func:`splice`, :func:`theme_from_abc`, :func:`theme_from_midi`, :func:`load_theme`,
``MOTIF_BARS``, ``MAX_THEME_BARS``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError, TokenizeError
from ..models.abc import (
    BAR,
    DURATIONS,
    TICKS_PER_BEAT,
    BarState,
    ParsedToken,
    Spelled,
    body_to_abc,
    key_signature,
    notes_to_tokens,
    parse_token,
)
from ..music import MODE_STEPS, Meter, Note, Phrase

MOTIF_BARS = 2
MAX_THEME_BARS = 8
_REGISTER = (64.0, 76.0)  # mean pitch of a theme in C, as the corpus tunes sit (E4..E5)
_EPS = 1e-9


@dataclass(frozen=True)
class Theme:
    """A melody in C (beats from its start, whole bars), written in ``mode``."""

    notes: tuple[Note, ...]
    bars: int
    meter: Meter
    mode: str
    user: bool = False  # given by the user: it also opens the first phrase


def theme_from_phrase(phrase: Phrase, bars: int = MOTIF_BARS) -> Theme:
    """The first ``bars`` bars of a generated (C-tonic) phrase."""
    bars = max(1, min(bars, phrase.bars))
    end = bars * phrase.meter.beats
    notes = tuple(n for n in phrase.notes if n.start < end - _EPS)
    return Theme(notes, bars, phrase.meter, phrase.mode)


def _map_pitch(pitch: int, src: str, dst: str, step: int) -> int:
    """Scale degree for scale degree from ``src`` to ``dst``, ``step`` degrees up or down;
    a chromatic note keeps its distance above the degree below it."""
    octave, pc = divmod(pitch, 12)
    scale = MODE_STEPS[src]
    degree = max(i for i, s in enumerate(scale) if s <= pc)
    alter = pc - scale[degree]
    moved = degree + step
    return (octave + moved // 7) * 12 + MODE_STEPS[dst][moved % 7] + alter


def restate(theme: Theme, mode: str, *, step: int = 0, bars: int | None = None) -> Phrase:
    """The theme's first ``bars`` bars in ``mode``, ``step`` scale degrees away, as a phrase
    with its ABC tokens (a context the models can continue)."""
    bars = theme.bars if bars is None else max(1, min(bars, theme.bars))
    end = bars * theme.meter.beats
    notes = [replace(n, pitch=min(127, max(0, _map_pitch(n.pitch, theme.mode, mode, step))))
             for n in theme.notes if n.start < end - _EPS]
    tokens = notes_to_tokens(notes, theme.meter, mode, bars)
    return Phrase(notes, bars, theme.meter, 0, mode, body_to_abc(tokens), tokens)


def _bars_of(tokens: list[str]) -> list[list[str]]:
    out: list[list[str]] = [[]]
    for t in tokens:
        out[-1].append(t)
        if t == BAR:
            out.append([])
    return [b for b in out if b]


def splice(head: Phrase, body: Phrase, bars: int) -> Phrase:
    """``head``'s bars, then the first bars of ``body`` (made to continue it): ``bars`` in all."""
    meter = head.meter
    kept = min(head.bars, bars)
    rest = max(0, min(body.bars, bars - kept))
    shift = kept * meter.beats
    notes = [n for n in head.notes if n.start < shift - _EPS]
    notes += [replace(n, start=n.start + shift) for n in body.notes if n.start < rest * meter.beats - _EPS]
    tokens = [t for b in _bars_of(head.tokens)[:kept] + _bars_of(body.tokens)[:rest] for t in b]
    return Phrase(notes, kept + rest, meter, 0, body.mode, body_to_abc(tokens), tokens)


class ThemePlan:
    """Which phrases open with the theme, and how (see the module docstring)."""

    def __init__(self, theme: Theme | None = None, motif_bars: int = MOTIF_BARS) -> None:
        self.motif_bars = motif_bars
        # the theme's restatements made so far, by (mode, step, bars): the same few recur
        self._restated: tuple[Theme | None, dict[tuple[str, int, int], Phrase | None]] = (None, {})
        self.set_theme(theme)

    def set_theme(self, theme: Theme | None) -> None:
        """A new theme; a user's opens the next phrase asked for, whole (up to a phrase)."""
        self.theme = theme
        self._open_next = theme is not None and theme.user
        self._whole: Phrase | None = None  # the last whole-theme head handed out, not yet played

    def step(self, index: int) -> int | None:
        """Scale steps the motif is moved for phrase ``index``; None: the phrase is free."""
        position = index % 4
        if position in (1, 3):
            return 0
        if position == 2:
            return 1 if (index // 4) % 2 == 0 else -1
        return None

    def head(self, index: int, mode: str, meter: Meter, bars: int) -> Phrase | None:
        """The theme as phrase ``index`` (``bars`` long) should open, or None."""
        theme, step, whole = self.theme, self.step(index), self._open_next
        if whole:  # kept until a phrase that opens with it is delivered (see :meth:`opened`)
            step = 0
        if theme is None or step is None or theme.meter != meter:
            return None
        length = min(theme.bars, bars) if whole else min(self.motif_bars, theme.bars, bars - 1)
        if length < 1:
            return None
        if self._restated[0] is not theme:
            self._restated = (theme, {})
        restated, key = self._restated[1], (mode, step, length)
        if key not in restated:
            if len(restated) >= 8:  # a session's few recur; a long one's many moods need not stay
                restated.clear()
            try:
                restated[key] = restate(theme, mode, step=step, bars=length)
            except TokenizeError:
                restated[key] = None  # a note moved off the ABC grid's range
        made = restated[key]
        if made is None:
            return None  # this phrase goes free
        # each phrase its own copy (a head is a request's context, delivered and spliced later)
        head = replace(made, notes=list(made.notes), tokens=list(made.tokens))
        if whole:
            self._whole = head
        return head

    def opened(self, head: Phrase | None) -> None:
        """A phrase opening with ``head`` was delivered: a whole new theme has been heard."""
        if head is not None and head is self._whole:
            self._open_next = False
            self._whole = None

    def capture(self, index: int, phrase: Phrase) -> None:
        """Take the first phrase's head as the theme when the user gave none."""
        if index == 0 and self.theme is None and phrase.bars >= 1 and phrase.notes:
            self.theme = theme_from_phrase(phrase, self.motif_bars)


# --- user themes ------------------------------------------------------------------------------

_KEY_RE = re.compile(r"^\s*([A-Ga-g])([#b]?)\s*([A-Za-z]*)\s*$")
_MODE_WORDS = {"": "maj", "maj": "maj", "major": "maj", "ion": "maj", "ionian": "maj",
               "m": "min", "min": "min", "minor": "min", "aeo": "min", "aeolian": "min",
               "dor": "dor", "dorian": "dor", "mix": "mix", "mixolydian": "mix",
               "lyd": "lyd", "lydian": "lyd", "phr": "phr", "phrygian": "phr",
               "loc": "loc", "locrian": "loc"}
_ALLOWED = "a theme in ABC has header lines (M:, L:, K:) and notes, rests and bar lines"


def _in_register(notes: list[Note]) -> list[Note]:
    mean = float(np.mean([n.pitch for n in notes]))
    shift = 0
    while mean + shift < _REGISTER[0]:
        shift += 12
    while mean + shift > _REGISTER[1]:
        shift -= 12
    return [replace(n, pitch=n.pitch + shift) for n in notes]


def _theme(notes: list[Note], meter: Meter, mode: str, what: str) -> Theme:
    if not notes:
        raise ConfigError(f"{what}: the theme has no notes")
    beats = max(n.start + n.duration for n in notes)
    bars = min(MAX_THEME_BARS, max(1, int(np.ceil(beats / meter.beats - _EPS))))
    notes = [n for n in _in_register(notes) if n.start < bars * meter.beats - _EPS]
    try:
        notes_to_tokens(notes, meter, mode, bars)  # it must be writable as the models' ABC
    except TokenizeError as err:
        raise ConfigError(f"{what}: {err}") from err
    return Theme(tuple(notes), bars, meter, mode, user=True)


def theme_from_abc(text: str, meter: Meter | None = None, what: str = "theme") -> Theme:
    """A theme from ABC: ``M:`` (else ``meter``, else 4/4), ``L:`` (1/4, 1/8 or 1/16), ``K:``
    (tonic and mode, e.g. ``G``, ``Am``, ``Ddor``), then notes, rests and bar lines. Moved to C;
    a short first bar is a pickup (rests before it). :class:`ConfigError`, one line, if not."""
    fields: dict[str, str] = {}
    body: list[str] = []
    for line in text.replace("\r", "\n").split("\n"):
        line = line.split("%", 1)[0].strip()
        m = re.match(r"^([A-Za-z]):(.*)$", line)
        if m:
            fields[m.group(1).upper()] = m.group(2).strip()
        elif line:
            body.append(line)
    try:
        if "M" in fields:
            meter = Meter(4, 4) if fields["M"] == "C" else Meter(2, 2) if fields["M"] == "C|" \
                else Meter.parse(fields["M"])
        meter = meter or Meter(4, 4)
        unit = Fraction(fields.get("L", "1/8"))
    except (ValueError, ZeroDivisionError) as err:
        raise ConfigError(f"{what}: {err}; {_ALLOWED}") from err
    if unit not in (Fraction(1, 4), Fraction(1, 8), Fraction(1, 16)):
        raise ConfigError(f"{what}: L: must be 1/4, 1/8 or 1/16, got {fields['L']!r}")
    key = _KEY_RE.match(fields.get("K", "C"))
    mode = _MODE_WORDS.get(key.group(3).lower()) if key else None
    if key is None or mode is None:
        raise ConfigError(f"{what}: K: must name a tonic and mode such as G, Am, Ddor or F#mix, "
                          f"got {fields.get('K')!r}")
    tonic = Spelled("CDEFGAB".index(key.group(1).upper()), 4, {"": 0, "#": 1, "b": -1}[key.group(2)])
    return _theme(_decode(" ".join(body), meter, mode, tonic, unit * 8, what),
                  meter, mode, what)


def _length(suffix: str) -> Fraction:
    """An ABC length suffix as a multiple of L: ``2``, ``/``, ``//``, ``3/2``, ``/4``."""
    m = re.fullmatch(r"(\d*)(/*)(\d*)", suffix)
    assert m is not None  # the token pattern only lets these through
    num = int(m.group(1)) if m.group(1) else 1
    den = int(m.group(3)) if m.group(3) else 2 ** len(m.group(2))
    return Fraction(num, den)


def _decode(body: str, meter: Meter, mode: str, tonic: Spelled, factor: Fraction, what: str) -> list[Note]:
    body = re.sub(r'"[^"]*"', " ", body)  # chord symbols and annotations
    body = body.replace("|]", "|").replace("||", "|").replace(":|", "|").replace("|:", "|")
    body = re.sub(r"\|\s*\[?[12]", "|", body)  # first and second endings: played as written
    bars: list[list[ParsedToken]] = [[]]
    pos = 0
    token_re = re.compile(r"(\^\^|\^|__|_|=)?([A-Ga-gz])([,']*)(\d*/*\d*)")
    while pos < len(body):
        ch = body[pos]
        if ch.isspace():
            pos += 1
            continue
        if ch == BAR:
            bars.append([])
            pos += 1
            continue
        m = token_re.match(body, pos)
        if m is None:
            raise ConfigError(f"{what}: unexpected {body[pos:pos + 8]!r} at column {pos}; {_ALLOWED}")
        try:
            parsed = parse_token((m.group(1) or "") + m.group(2) + m.group(3))
        except TokenizeError as err:
            raise ConfigError(f"{what}: {err}; {_ALLOWED}") from err
        ticks = parsed.ticks * _length(m.group(4)) * factor
        if ticks.denominator != 1 or int(ticks) not in DURATIONS:
            raise ConfigError(f"{what}: note {m.group(0)!r} is not a length the models write "
                              f"(a 1/32 to a whole bar of 4/4, plain or dotted)")
        bars[-1].append(ParsedToken(parsed.step, parsed.octave, parsed.accidental, int(ticks)))
        pos = m.end()
    bars = [b for b in bars if b]
    key = key_signature(mode, tonic)
    notes: list[Note] = []
    bar_ticks = meter.ticks
    for i, bar in enumerate(bars):
        length = sum(p.ticks for p in bar)
        if length > bar_ticks:
            raise ConfigError(f"{what}: bar {i + 1} holds {length} of {bar_ticks} thirty-seconds "
                              f"for {meter}")
        start = bar_ticks - length if i == 0 else 0  # a pickup ends at the first bar line
        state = BarState(meter, key, position=start)
        for p in bar:
            at = state.position
            spelled = state.advance(p)
            if spelled is not None:
                pitch = spelled.midi - (tonic.midi - 60)  # into C
                notes.append(Note(pitch, (i * bar_ticks + at) / TICKS_PER_BEAT, p.ticks / TICKS_PER_BEAT))
    return notes


def theme_from_midi(source, what: str = "theme") -> Theme:
    """A theme from a MIDI file: channel 1 (else the first pitched channel), top notes only,
    on the 1/32 grid, its key found from its pitches (major or minor), moved to C."""
    from ..analysis import DRUM_CHANNEL, _find_key, _load, _pc_histogram, _timeline

    try:
        mid = _load(source)
    except DataError as err:
        raise ConfigError(f"{what}: {err}") from err
    all_notes, _ = _timeline(mid)
    pitched = [n for n in all_notes if n.channel != DRUM_CHANNEL]
    if not pitched:
        raise ConfigError(f"{what}: the MIDI file has no pitched notes")
    channel = 0 if any(n.channel == 0 for n in pitched) else min(n.channel for n in pitched)
    ns = sorted((n for n in pitched if n.channel == channel), key=lambda n: (n.start_beat, -n.pitch))
    meter = Meter(4, 4)
    for msg in (m for t in mid.tracks for m in t):
        if msg.type == "time_signature":
            try:
                meter = Meter.parse(f"{msg.numerator}/{msg.denominator}")
            except ValueError as err:
                raise ConfigError(f"{what}: {err}") from err
            break
    grid: list[tuple[int, int, int]] = []  # (start tick, end tick, pitch), monophonic
    for n in ns:
        start, end = round(n.start_beat * TICKS_PER_BEAT), round(n.end_beat * TICKS_PER_BEAT)
        if grid and start == grid[-1][0]:
            continue  # a lower note of a chord
        if grid and start < grid[-1][1]:
            grid[-1] = (grid[-1][0], start, grid[-1][2])
        grid.append((start, max(end, start + 1), n.pitch))
    hist = _pc_histogram([p for _, _, p in grid], [e - s for s, e, _ in grid])
    tonic, mode_name, _, _ = _find_key(hist)
    mode = "maj" if mode_name == "major" else "min"
    bar = meter.ticks
    notes = []
    for start, end, pitch in grid:
        end = min(end, (start // bar + 1) * bar)  # a note ends at its bar line
        fits = [d for d in DURATIONS if d <= end - start]
        if fits:
            notes.append(Note(pitch - tonic, start / TICKS_PER_BEAT, max(fits) / TICKS_PER_BEAT))
    return _theme(notes, meter, mode, what)


def load_theme(path: str | Path, meter: Meter | None = None) -> Theme:
    """A theme from ``path``: ``.mid``/``.midi`` (MIDI) or ``.abc`` (ABC); one-line
    :class:`ConfigError` naming what is allowed otherwise."""
    p = Path(path)
    what = f"theme {p}"
    suffix = p.suffix.lower()
    if suffix in (".mid", ".midi"):
        if not p.is_file():
            raise ConfigError(f"{what}: no such file")
        return theme_from_midi(str(p), what)
    if suffix == ".abc":
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"{what}: cannot read ({getattr(err, 'strerror', None) or err})") from err
        return theme_from_abc(text, meter, what)
    raise ConfigError(f"{what}: a theme is a MIDI file (.mid, .midi) or ABC (.abc)")
