"""The conductor: mood in, timed music out, with no I/O.

The caller feeds decoded inputs (:meth:`Conductor.set_mood`, :meth:`stinger`, ...) and clock
times (:meth:`advance`), runs the generation requests it is handed (:meth:`requests`, then
:meth:`deliver`), and sends what :meth:`advance` returns: timed MIDI events, beat/bar/phrase
callbacks, and cuts. A live session runs requests in a worker and times from the wall
clock; an offline render runs them inline on a virtual clock; both get the same notes.

Musical time is kept in eighth notes ("units") from an anchor; every meter the models know has
a whole number of them per bar. Each unit is scheduled ``lookahead`` seconds before it sounds,
and its tempo, velocity and register are taken from the mood at that moment, so expression
follows the mood at the next beat. Content is planned a phrase ahead, bar by bar: a mood change
regenerates the bars not yet scheduled, from the next bar (``bar``), the next phrase
(``phrase``), or re-anchors a new phrase at the next beat (``beat``) or eighth
(``immediate``). A phrase that misses its deadline is replaced by a variation of the last one.

Each bar's accompaniment is the style's arrangement of its phrase (made once per phrase and
mood, see :mod:`moodscore.arranger`), keeping the layers the intensity asks for at that bar
line: an intensity or style change is heard from the next bar.

Public API: :class:`Conductor`, :class:`MidiEvent`, :class:`Callback`, :class:`Cut`,
:class:`Request`, ``TRANSITIONS``.
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, replace

from .. import arranger
from ..arranger.styles import Style, builtin, default_style
from ..compiled import mypyc_attr
from ..errors import ConfigError
from ..models.abc import key_field
from ..music import MODE_STEPS, Meter, Note, Phrase
from .clock import TempoMap
from .compose import perform
from .mood import Level, MoodState
from .stingers import STINGERS, stinger_notes
from .template import Controls, Template, controls
from .ending import ENDING_BARS, ending_accompaniment, ending_phrase
from .theme import Theme, ThemePlan, splice

log = logging.getLogger(__name__)

TRANSITIONS = ("immediate", "beat", "bar", "phrase")
UNIT = 0.5  # quarter-note beats per unit (an eighth note)
MELODY_CHANNEL, STINGER_CHANNEL = 0, 3
CONTENT_CHANGE = 0.2  # a VA move this large (per axis) asks for new material


@mypyc_attr(acyclic=True)
@dataclass(unsafe_hash=True, init=False)
class MidiEvent:
    """One timed MIDI message: the engine makes one for every note on and off. A value, as
    :class:`~moodscore.music.Note` is (and for the same reasons not frozen)."""

    time: float
    kind: str  # note_on | note_off | program_change | control_change
    channel: int
    data1: int
    data2: int

    def __init__(self, time: float, kind: str, channel: int, data1: int, data2: int = 0) -> None:
        self.time = time
        self.kind = kind
        self.channel = channel
        self.data1 = data1
        self.data2 = data2


@dataclass(frozen=True)
class Callback:
    time: float
    event: dict  # {"type": "beat"|"bar"|"phrase", ...}


@dataclass(frozen=True)
class Cut:
    """Drop every event scheduled at or after ``time`` and silence what sounds then."""

    time: float


@dataclass(frozen=True)
class Request:
    id: int
    context: Phrase | None
    valence: float
    arousal: float
    mode: str
    meter: Meter
    bars: int
    seed: int


@dataclass
class _Plan:
    """What one bar plays: bar ``index`` of ``phrase`` (C-tonic melody as generated)."""

    phrase: Phrase
    index: int
    variation: bool = False
    mood: tuple[float, float] | None = None  # (valence, arousal) the material was made for
    bar_notes: list[int] | None = None  # indices of the melody notes that start in the bar


class Conductor:
    def __init__(self, *, template: Template | None = None, meter: Meter = Meter(), seed: int = 0,
                 phrase_bars: int = 4, lookahead: float = 0.2, transition: str = "bar",
                 glide: float = 1.0, stinger_cooldown: float = 2.0, style: Style | None = None,
                 theme: Theme | None = None) -> None:
        self.template = template or Template()
        self.themes = ThemePlan(theme)  # the motif that comes back (engine/theme.py)
        self._last_controls: tuple[tuple[float, float], Template, Controls] | None = None
        self._ending: int | None = None  # the cadence bar of a musical stop
        self._ending_accomp: dict[int, list[tuple[float, Note]]] = {}
        self._heads: dict[int, tuple[int | None, Phrase | None]] = {}  # request -> (phrase index, head)
        self.style = style or default_style()
        self.styles = {**builtin(), self.style.name: self.style}  # what a style message may name
        self.intensity = Level(default_glide=glide)
        # (phrase, start bar, style, mood) -> (phrase, performed, chords, notes by role so far)
        self._arranged: dict[tuple, tuple[Phrase, Phrase, list, dict[str, list[Note]]]] = {}
        self._melody_vel: dict[int, tuple[Phrase, list[float]]] = {}
        self._performed: tuple[Phrase, tuple[int, int, int], Phrase] | None = None  # the last perform()'s
        self._by_unit: dict[int, tuple[list, dict[int, list[tuple[float, Note]]]]] = {}  # see _unit_accomp
        self.meter, self.seed, self.phrase_bars, self.lookahead = meter, seed, phrase_bars, lookahead
        self.set_transition(transition)
        self.mood = MoodState(default_glide=glide)
        self.stinger_cooldown = stinger_cooldown
        self.unit_per_bar = meter.ticks // 4
        self.playing = False
        self.tempo_override = 0.0
        self.misses = 0
        self.stingers_refused = 0
        self._ids = itertools.count(1)
        self._pending: list[Request] = []
        self._wanted: dict[int, tuple[int, int]] = {}  # request id -> (first bar, bars)
        self._asked: dict[int, tuple[float, float]] = {}  # request id -> mood it was asked for
        self._plans: dict[int, _Plan] = {}  # bar -> plan
        self._last_phrase: Phrase | None = None
        self._phrase_mood: dict[int, tuple[float, float, str]] = {}  # first bar -> mood asked
        # bar -> its accompaniment: (onset in beats from the bar line, note), in order of onset
        self._accomp: dict[int, list[tuple[float, Note]]] = {}
        self._stinger_at = -1e9
        self._stinger_queue: list[str] = []
        self._program: dict[int, int] = {}
        self._next_unit = 0
        self._anchor = 0  # unit where bar 0 of the current plan begins
        self._pending_cut: float | None = None
        self.generation_margin = 0.15  # seconds a re-anchored phrase leaves the worker
        # what plays on until a re-anchored phrase begins: (anchor, plans, accompaniment, bar base)
        self._outgoing: tuple[int, dict[int, _Plan], dict[int, list[tuple[float, Note]]], int] | None = None
        self._bar_base = 0  # the session's count of the current plan's bar 0: bars never repeat
        self.retarget_every = 0.25  # seconds between requests for new material on mood changes
        self._retarget_at = -1e9
        self._retarget_due = False
        self.clock = TempoMap(bpm=controls(0, 0, self.template).tempo_bpm)

    # -- inputs ------------------------------------------------------------------------------
    def set_transition(self, mode: str) -> None:
        if mode not in TRANSITIONS:
            raise ConfigError(f"transition must be one of {', '.join(TRANSITIONS)}, got {mode!r}")
        self.transition = mode

    def set_tempo_override(self, bpm: float) -> None:
        """0 returns to the mood's tempo; otherwise 20..300 BPM from the next unit."""
        if bpm != 0 and not 20 <= bpm <= 300:
            raise ConfigError(f"tempo must be 0 (follow the mood) or 20..300 BPM, got {bpm}")
        self.tempo_override = bpm

    def set_mood(self, now: float, valence: float | None = None, arousal: float | None = None,
                 glide: float | None = None) -> None:
        """Head for a new mood. New material is asked for at once, but at most once every
        ``retarget_every`` seconds: a flood of moods (a jittery tracker, a fuzzer) coalesces
        into the latest, looked at again by :meth:`advance` when the interval has passed."""
        self.mood.set(now, valence, arousal, glide)
        if not self.playing:
            return
        if now - self._retarget_at < self.retarget_every:
            self._retarget_due = True
            return
        self._retarget_at, self._retarget_due = now, False
        self._maybe_retarget(now)

    def set_intensity(self, now: float, value: float, glide: float | None = None) -> None:
        """Head for intensity ``value`` in [0, 1]; parts enter and leave at the bar lines."""
        self.intensity.set(now, value, glide, self._default_intensity(now))

    def intensity_at(self, now: float) -> float:
        return self.intensity.at(now, self._default_intensity(now))

    def _default_intensity(self, now: float) -> float:
        return arranger.default_intensity(self.mood.at(now)[1])

    def set_style(self, name: str) -> None:
        """Play in style ``name`` (a built-in one, or the one the engine started with) from the
        next bar."""
        if name not in self.styles:
            raise ConfigError(f"style must be one of {', '.join(self.styles)}, got {name!r}")
        self.style = self.styles[name]

    def stinger(self, now: float, name: str) -> bool:
        """Queue a stinger for the next beat; False while cooling down (counted)."""
        if name not in STINGERS:
            raise ConfigError(f"stinger must be one of {', '.join(sorted(STINGERS))}, got {name!r}")
        if now - self._stinger_at < self.stinger_cooldown:
            self.stingers_refused += 1
            return False
        self._stinger_at = now
        self._stinger_queue.append(name)
        return True

    def play(self, now: float) -> None:
        if self.playing:
            return
        self.playing = True
        start = now + self.lookahead
        self.clock = TempoMap(bpm=self._tempo(now), origin=start)
        self._next_unit = self._anchor = self._bar_base = 0
        self._outgoing = None
        self._plans.clear()
        self._accomp.clear()
        self._program.clear()
        self._ending = None
        self._request(0, self.phrase_bars)

    def stop(self, now: float, at: str | None = None) -> list[Cut]:
        """Stop at once (``at`` None or ``now``): the caller cuts and sends the panic. With ``at``
        ``bar`` or ``phrase`` the music closes instead: the next bar (or the current phrase's last
        bar) becomes an authentic cadence, a final chord fills the bar after it, and
        :meth:`advance` then hands out the cut (engine/ending.py)."""
        if at not in (None, "now", "bar", "phrase"):
            raise ConfigError(f"stop at must be now, bar or phrase, got {at!r}")
        self._pending.clear()
        self._wanted.clear()
        if at in (None, "now") or not self.playing:
            self.playing = False
            self._ending = None
            return [Cut(now)]
        next_bar = self._bar_of(self._next_unit + self.unit_per_bar - 1)  # first bar not begun
        if at == "phrase":
            last = (next_bar // self.phrase_bars + 1) * self.phrase_bars - 1  # its phrase's last bar
            next_bar = last  # the final chord then falls on the phrase boundary after it
        if self._ending is None or next_bar < self._ending:
            self._ending = next_bar
        return []

    def set_theme(self, theme: Theme | None) -> None:
        """A user theme: it opens the next phrase asked for and returns as the plan says."""
        self.themes.set_theme(theme)

    # -- generation --------------------------------------------------------------------------
    def requests(self) -> list[Request]:
        out, self._pending = self._pending, []
        return out

    def wanted(self, request_id: int) -> bool:
        """Whether a request still matters (a newer one for its bars makes it moot)."""
        return request_id in self._wanted

    def span(self, request_id: int) -> tuple[int, int] | None:
        """(first bar, bars) a still-wanted request is for, counted from the current anchor."""
        return self._wanted.get(request_id)

    def deliver(self, request_id: int, phrase: Phrase) -> bool:
        """Accept generated material; False when it is no longer wanted or came too late."""
        span = self._wanted.pop(request_id, None)
        if span is None:
            return False
        first, bars = span
        mood = self._asked.pop(request_id, None)
        index, head = self._heads.pop(request_id, (None, None))
        if head is not None:  # the theme opens this phrase; the model continued it
            phrase = splice(head, phrase, bars)
            self.themes.opened(head)
        if index is not None:
            self.themes.capture(index, phrase)
        scheduled_bar = self._bar_of(self._next_unit - 1) if self._next_unit else -1
        for j in range(bars):
            if first + j > scheduled_bar:
                self._plans[first + j] = _Plan(phrase, j, mood=mood)
                self._accomp.pop(first + j, None)
        self._last_phrase = phrase
        after = first + bars  # a rewritten phrase end: the next phrase must continue it
        if bars < self.phrase_bars and after % self.phrase_bars == 0 \
                and not any(f == after for f, _ in self._wanted.values()):
            self._request(after, self.phrase_bars, phrase)
        return True

    def _request(self, first_bar: int, bars: int, context: Phrase | None = None) -> None:
        v, a = self.mood.target
        mode = controls(v, a, self.template).mode
        for rid, (f, _) in list(self._wanted.items()):  # a newer request for these bars wins
            if f >= first_bar:
                del self._wanted[rid]
        index = head = None
        if first_bar % self.phrase_bars == 0 and bars == self.phrase_bars:
            index = (self._bar_base + first_bar) // self.phrase_bars
            head = self.themes.head(index, mode, self.meter, bars)
            context = head if head is not None else context
        req = Request(next(self._ids), context if context is not None else self._last_phrase,
                      v, a, mode, self.meter, bars, self.seed * 1_000_003 + first_bar * 7919 + self._anchor)
        self._heads = {rid: h for rid, h in self._heads.items() if rid in self._wanted}
        self._heads[req.id] = (index, head)
        self._pending = [r for r in self._pending if r.id in self._wanted]
        self._pending.append(req)
        self._wanted[req.id] = (first_bar, bars)
        self._asked[req.id] = (v, a)
        for old in [i for i in self._asked if i not in self._wanted]:
            del self._asked[old]
        self._phrase_mood[first_bar] = (v, a, mode)

    def _maybe_retarget(self, now: float) -> None:
        if self._ending is not None:
            return  # closing: the ending keeps the material it has
        v, a = self.mood.target
        mode = controls(v, a, self.template).mode
        next_bar = self._bar_of(self._next_unit + self.unit_per_bar - 1)  # first bar not begun
        planned = self._mood_for_bar(next_bar)
        if planned and planned[2] == mode and abs(planned[0] - v) < CONTENT_CHANGE \
                and abs(planned[1] - a) < CONTENT_CHANGE:
            return
        if self.transition in ("beat", "immediate"):
            self._reanchor(now)
            return
        phrase_start = (next_bar // self.phrase_bars) * self.phrase_bars
        if self.transition == "phrase" or next_bar == phrase_start:
            start = phrase_start if next_bar == phrase_start else phrase_start + self.phrase_bars
            self._request(start, self.phrase_bars)
        else:  # bar: rewrite the rest of this phrase, continuing the bars already played
            context = self._plans.get(next_bar - 1)
            self._request(next_bar, phrase_start + self.phrase_bars - next_bar,
                          context.phrase if context else None)

    def _mood_for_bar(self, bar: int) -> tuple[float, float, str] | None:
        starts = [b for b in self._phrase_mood if b <= bar]
        return self._phrase_mood[max(starts)] if starts else None

    def _reanchor(self, now: float) -> None:
        """Start a new phrase at the next beat (or eighth, for ``immediate``) that leaves the
        worker ``generation_margin`` seconds; what plays until then plays on."""
        unit = self._next_unit
        while self.clock.time_at(unit * UNIT) < now + self.lookahead + self.generation_margin:
            unit += 1
        if self.transition == "beat":
            beat_units = self._beat_units()
            rel = (unit - self._anchor) % beat_units
            unit += (beat_units - rel) % beat_units
        bars_done = (unit - self._anchor) // self.unit_per_bar
        if self._outgoing is None or self._next_unit >= self._anchor:
            self._outgoing = (self._anchor, self._plans, self._accomp, self._bar_base)
        old_anchor, old_base = self._outgoing[0], self._outgoing[3]
        # the new bar 0 takes the next number after the outgoing bars begun before it
        self._bar_base = old_base + -(-(unit - old_anchor) // self.unit_per_bar)
        self._anchor = unit
        self._plans = {}
        self._accomp = {}
        self._phrase_mood = {}
        self._pending_cut = self.clock.time_at(unit * UNIT)
        self._wanted.clear()
        self._request(0, self.phrase_bars)
        log.debug("re-anchored at unit %d after %d bars", unit, bars_done)

    # -- time --------------------------------------------------------------------------------
    def _bar_of(self, unit: int) -> int:
        return (unit - self._anchor) // self.unit_per_bar

    def _beat_units(self) -> int:
        m = self.meter
        if m.denominator == 8 and m.numerator % 3 == 0 and m.numerator > 3:
            return 3
        return max(1, 8 // m.denominator)

    def _tempo(self, now: float) -> float:
        if self.tempo_override:
            return self.tempo_override
        return self._controls_at(now).tempo_bpm

    def advance(self, now: float) -> list[MidiEvent | Callback | Cut]:
        """Everything due to sound before ``now + lookahead`` that was not handed out yet."""
        out: list[MidiEvent | Callback | Cut] = []
        if not self.playing:
            return out
        if self._retarget_due and now - self._retarget_at >= self.retarget_every:
            self._retarget_at, self._retarget_due = now, False
            self._maybe_retarget(now)
        if self._pending_cut is not None:
            out.append(Cut(self._pending_cut))
            self._pending_cut = None
        while self.clock.time_at(self._next_unit * UNIT) < now + self.lookahead:
            if self._ending is not None and self._next_unit >= self._anchor \
                    and self._bar_of(self._next_unit) >= self._ending + ENDING_BARS:
                out.append(Cut(self.clock.time_at(self._next_unit * UNIT)))  # after the final chord
                self.playing = False
                self._ending = None
                break
            out.extend(self._schedule_unit(self._next_unit))
            self._next_unit += 1
        self.clock.prune(self._next_unit * UNIT - 64)
        return out

    def next_due(self, now: float) -> float:
        """When :meth:`advance` next has something to hand out: the next unit's time less the
        lookahead, or sooner for a cut or a coalesced mood change waiting; inf while stopped.
        A driver of many conductors advances each when it is due, not on a fixed period; input
        (a mood, a stinger, a tempo) can make it due sooner, so advance after each."""
        if not self.playing:
            return float("inf")
        if self._pending_cut is not None:
            return now
        due = self.clock.time_at(self._next_unit * UNIT) - self.lookahead
        if self._retarget_due:
            due = min(due, self._retarget_at + self.retarget_every)
        return due

    def _controls_at(self, t: float) -> Controls:
        """The template's controls for the mood at ``t``; a steady mood reuses the last ones."""
        va = self.mood.at(t)
        last = self._last_controls
        if last is None or last[0] != va or last[1] is not self.template:
            last = self._last_controls = (va, self.template, controls(*va, self.template))
        return last[2]

    def _schedule_unit(self, unit: int) -> list[MidiEvent | Callback]:
        beat = unit * UNIT
        t = self.clock.time_at(beat)
        self.clock.set_tempo(beat, self._tempo(t))
        ctl = self._controls_at(t)
        outgoing = self._outgoing is not None and unit < self._anchor
        anchor, plans, accomp, base = self._anchor, self._plans, self._accomp, self._bar_base
        if outgoing and self._outgoing is not None:
            anchor, plans, accomp, base = self._outgoing
        bar, pos = divmod(unit - anchor, self.unit_per_bar)
        out: list[MidiEvent | Callback] = []
        if pos == 0 and not outgoing:
            out += self._start_bar(bar, t, ctl)
        elif pos == 0 and bar in plans:  # the old material plays on until the new anchor
            accomp[bar] = self._bar_accomp(plans[bar], ctl, bar, t)
        beat_units = self._beat_units()
        on_beat = pos % beat_units == 0
        if on_beat:
            out.append(Callback(t, {"type": "beat", "bar": base + bar, "beat": pos // beat_units,
                                    "tempo": round(self.clock.tempo_at(beat), 3), "time": round(t, 6)}))
        plan = plans.get(bar)
        if plan is not None:
            lo, hi = pos * UNIT, (pos + 1) * UNIT
            offset = plan.index * self.meter.beats
            bar_beat = (unit - pos) * UNIT
            notes, factors = plan.phrase.notes, self._melody_factors(plan.phrase)
            performed = None
            for i in self._bar_melody(plan):  # only this eighth's notes, at its mood
                n, factor = notes[i], factors[i]
                rel = n.start - offset
                if lo <= rel < hi:
                    if performed is None:
                        performed = self._perform(plan.phrase, ctl).notes
                    played = performed[i]  # perform_note(n, ctl, tonic)
                    velocity = max(1, min(127, round(played.velocity * factor)))
                    out += self._note(bar_beat + rel, n.duration,
                                      Note(played.pitch, played.start, played.duration, velocity, MELODY_CHANNEL))
            for rel, n in self._unit_accomp(accomp.get(bar), pos):
                out += self._note(bar_beat + rel, n.duration, n)
        if self._stinger_queue and on_beat:
            for name in self._stinger_queue:
                for n in stinger_notes(name, ctl, self.template.tonic):
                    out += self._note(beat + n.start, n.duration, replace(n, channel=STINGER_CHANNEL))
            self._stinger_queue.clear()
        return out

    def _unit_accomp(self, notes: list[tuple[float, Note]] | None, pos: int) -> list[tuple[float, Note]]:
        """The notes of a bar's accompaniment that start in its eighth ``pos``, in their order
        (each bar's notes are put by eighth once, not scanned for every eighth)."""
        if not notes:
            return []
        cached = self._by_unit.get(id(notes))
        if cached is None or cached[0] is not notes:
            by_unit: dict[int, list[tuple[float, Note]]] = {}
            for item in notes:
                if item[0] >= 0:  # pos <= 2 * onset < pos + 1, exactly: UNIT is a power of two
                    by_unit.setdefault(int(item[0] / UNIT), []).append(item)
            if len(self._by_unit) > 8:
                self._by_unit.clear()
            cached = self._by_unit[id(notes)] = (notes, by_unit)
        return cached[1].get(pos, [])

    def _note(self, start: float, duration: float, n: Note) -> list[MidiEvent]:
        time_at, channel, pitch = self.clock.time_at, n.channel, n.pitch
        return [MidiEvent(time_at(start), "note_on", channel, pitch, n.velocity),
                MidiEvent(time_at(start + duration * 0.95), "note_off", channel, pitch, 0)]

    def _start_bar(self, bar: int, t: float, ctl: Controls) -> list[MidiEvent | Callback]:
        out: list[MidiEvent | Callback] = []
        plan = self._plans.get(bar)
        if self._ending == bar:  # a musical stop: this bar closes, the next holds the final chord
            source = plan or self._variation(bar)
            closing = ending_phrase(source.phrase, source.index, self.meter)
            self._plans[bar], self._plans[bar + 1] = _Plan(closing, 0), _Plan(closing, 1)
            played = perform(closing, ctl, self.template.tonic)
            notes = ending_accompaniment(played, ctl, seed=self.seed + bar)
            beats = self.meter.beats
            self._ending_accomp = {bar + j: [(n.start - j * beats, n) for n in notes
                                             if j * beats <= n.start < (j + 1) * beats] for j in range(2)}
            plan = self._plans[bar]
        if plan is None:
            plan = self._variation(bar)
            self._plans[bar] = plan
        first_of_phrase = bar % self.phrase_bars == 0
        if first_of_phrase and self._ending is None:  # ask for the following phrase now: one phrase ahead
            self._request(bar + self.phrase_bars, self.phrase_bars, plan.phrase)
        if self._ending is not None and bar >= self._ending:
            self._accomp[bar] = self._ending_accomp.get(bar, [])
        else:
            self._accomp[bar] = self._bar_accomp(plan, ctl, bar, t)
        for old in [b for b in self._accomp if b < bar - 1]:
            del self._accomp[old]
        for old in [b for b in self._plans if b < bar - self.phrase_bars]:
            del self._plans[old]
        for old in [b for b in self._phrase_mood if b < bar - 2 * self.phrase_bars]:
            del self._phrase_mood[old]
        out += self._programs(t, ctl)
        out.append(Callback(t, {"type": "bar", "bar": self._bar_base + bar, "beat": 0,
                                "tempo": round(self.clock.tempo_at(self._next_unit * UNIT), 3),
                                "time": round(t, 6)}))
        if first_of_phrase or plan.index == 0:
            factors = self._melody_factors(plan.phrase)  # the velocities the notes are played at
            performed = self._perform(plan.phrase, ctl)
            performed_notes = [{"pitch": n.pitch, "start": n.start, "duration": n.duration,
                                "velocity": max(1, min(127, round(n.velocity * f))), "channel": MELODY_CHANNEL}
                               for n, f in zip(performed.notes, factors)]
            out.append(Callback(t, {"type": "phrase", "index": bar // self.phrase_bars, "bars": plan.phrase.bars,
                                    "start_time": round(t, 6), "tempo": round(ctl.tempo_bpm, 3),
                                    "abc": plan.phrase.abc, "key": key_field(plan.phrase.mode),
                                    "notes": performed_notes,
                                    "variation": plan.variation,
                                    "mood": list(plan.mood) if plan.mood else None}))
        return out

    def _bar_accomp(self, plan: _Plan, ctl: Controls, bar: int, t: float) -> list[tuple[float, Note]]:
        """The accompaniment of one bar (times from the bar start): the phrase arranged for the
        mood now, in the layers the intensity at this bar line keeps."""
        start = bar - plan.index  # the bar the phrase began on
        key = (id(plan.phrase), start, self.style.name, ctl.velocity, ctl.mode, ctl.octave_shift_semitones,
               round(ctl.valence, 2), round(ctl.arousal, 2))
        seed, index = self.seed + start, start // self.phrase_bars
        cached = self._arranged.get(key)
        if cached is None or cached[0] is not plan.phrase:
            performed = self._perform(plan.phrase, ctl)
            chords = arranger.harmony_for(performed, ctl, seed=seed, style=self.style, phrase_index=index)
            if len(self._arranged) > 16:
                self._arranged.clear()
            cached = self._arranged[key] = (plan.phrase, performed, chords, {})
        roles = arranger.active_roles(self.style, self.intensity_at(t))[1:]
        if self.intensity.target is None and not ctl.drums:  # the template's drums_above, while unsent
            roles = tuple(r for r in roles if r != "drums")
        written = cached[3]
        missing = tuple(r for r in roles if r not in written)
        if missing:  # each role once per phrase, when it first plays
            written.update(arranger.arrange_parts(cached[1], ctl, seed=seed, style=self.style,
                                                  phrase_index=index, roles=missing, chords=cached[2]))
        lo, hi = plan.index * self.meter.beats, (plan.index + 1) * self.meter.beats
        # onsets from the bar line: exact (lo is a whole number of beats no greater than the onset)
        notes = [(n.start - lo, n) for role in arranger.ACCOMPANIMENT if role in roles
                 for n in written[role] if lo <= n.start < hi]
        return sorted(notes, key=lambda item: (item[0], item[1].channel, item[1].pitch))

    def _perform(self, phrase: Phrase, ctl: Controls) -> Phrase:
        """``perform(phrase, ctl, tonic)``, kept while the phrase, the velocity, the octave shift
        (all it reads of the controls) and the tonic stay: each eighth of a bar plays from it."""
        last, reads = self._performed, (ctl.velocity, ctl.octave_shift_semitones, self.template.tonic)
        if last is None or last[0] is not phrase or last[1] != reads:
            last = self._performed = (phrase, reads, perform(phrase, ctl, self.template.tonic))
        return last[2]

    def _bar_melody(self, plan: _Plan) -> list[int]:
        """Which of ``plan``'s phrase notes start in its bar, by the test :meth:`_schedule_unit`
        makes each eighth (kept on the plan: every eighth of the bar looks at them)."""
        if plan.bar_notes is None:
            offset, end = plan.index * self.meter.beats, self.unit_per_bar * UNIT
            plan.bar_notes = [i for i, n in enumerate(plan.phrase.notes) if 0 <= n.start - offset < end]
        return plan.bar_notes

    def _melody_factors(self, phrase: Phrase) -> list[float]:
        """The melody's dynamics and humanisation (velocity factors per note), once per phrase."""
        cached = self._melody_vel.get(id(phrase))
        if cached is None or cached[0] is not phrase:
            salt = sum(n.pitch for n in phrase.notes) + len(phrase.notes)  # each phrase its own
            velocities = arranger.melody_velocities(phrase, 80, seed=self.seed + salt, style=self.style)
            if len(self._melody_vel) > 16:
                self._melody_vel.clear()
            cached = self._melody_vel[id(phrase)] = (phrase, [v / 80 for v in velocities])
        return cached[1]

    def _variation(self, bar: int) -> _Plan:
        """The deadline was missed: play the last phrase's bar a scale step away (a sequence)."""
        self.misses += 1
        log.warning("phrase for bar %d missed its deadline; playing a variation (%d misses)", bar, self.misses)
        source = self._last_phrase
        index = bar % self.phrase_bars
        if source is None or index >= source.bars:
            pad = Phrase([Note(60, 0.0, self.meter.beats)], 1, self.meter, 0, "maj")
            return _Plan(pad, 0, variation=True)
        step = 1 if (bar // self.phrase_bars) % 2 else -1
        notes = [replace(n, pitch=_scale_step(n.pitch, step, source.mode)) for n in source.notes]
        return _Plan(replace(source, notes=notes), index, variation=True)

    def _programs(self, t: float, ctl: Controls) -> list[MidiEvent]:
        wanted = arranger.programs_for(ctl, self.style)
        out = [MidiEvent(t, "program_change", ch, prog) for ch, prog in wanted.items()
               if self._program.get(ch) != prog]
        self._program.update(wanted)
        return out


def _scale_step(pitch: int, step: int, mode: str) -> int:
    """Move a C-tonic pitch one degree of ``mode`` up or down (chromatic notes by a semitone)."""
    scale = [p for o in range(-1, 11) for p in (12 * o + s for s in MODE_STEPS[mode])]
    if pitch not in scale:
        return pitch + step
    i = scale.index(pitch) + step
    return scale[max(0, min(len(scale) - 1, i))]


def programs_for(ctl: Controls, style: Style | None = None) -> dict[int, int]:
    """Channel -> General MIDI program of every part for this mood (see
    :func:`moodscore.arranger.programs_for`)."""
    return arranger.programs_for(ctl, style)
