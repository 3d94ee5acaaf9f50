"""The accompaniment roles, each written against the phrase's harmony: counter-line, pad,
rhythmic harmony, bass and drums. The lead melody is the model's and is not made here.

Every function takes a :class:`Context` (the performed phrase, its chords, the metric feel, the
mood's velocity), the role's settings from the style and its own random stream, and returns the
role's notes for the whole phrase (beats from the phrase start, on the role's channel, velocity
before performance shaping). Pure and deterministic.

- counter: answers in the melody's rests and held notes, chord tones on strong beats, moving
  against the melody's direction, in the octave beside it;
- pad: the chord voiced in 48-67, held (and re-struck where the pattern says);
- rhythm: arpeggios, broken chords, comping and ostinati on a voicing in 55-76;
- bass: the chord's bass in 36-47 with fifths, octaves, passing and approach tones;
- drums: the style's kit, patterns per bar, fills at phrase ends, a crash opening each period.

Public API: :class:`Context`, :func:`counter`, :func:`pad`, :func:`rhythm`, :func:`bass`,
:func:`drums`, :func:`chord_at`, ``CHANNELS``.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from ..music import MODE_STEPS, Note, Phrase
from .harmony import Chord
from .patterns import Feel, Hit, bar_hits, drum_hits, family_for
from .styles import DrumStyle, RoleStyle, Style

CHANNELS = {"melody": 0, "pad": 1, "bass": 2, "counter": 4, "rhythm": 5, "drums": 9}
_GM_KEYS = {"kick": 36, "snare": 38, "hat": 42, "open_hat": 46, "ride": 51, "crash": 49, "clap": 39,
            "tom_low": 45, "tom_mid": 47, "tom_high": 50, "timp": 41, "bass_drum": 35}
_EPS = 1e-9


@dataclass(frozen=True)
class Context:
    phrase: Phrase
    chords: Sequence[Chord]
    feel: Feel
    velocity: int
    arousal: float
    phrase_index: int
    style: Style

    @property
    def scale(self) -> tuple[int, ...]:
        return tuple((self.phrase.tonic + s) % 12 for s in MODE_STEPS[self.phrase.mode])


def chord_at(chords: Sequence[Chord], t: float) -> int:
    """Index of the chord sounding at ``t`` (the first before the phrase, the last after it)."""
    index = 0
    for i, c in enumerate(chords):
        if c.start <= t + _EPS:
            index = i
    return index


def _vel(base: float, factor: float = 1.0) -> int:
    return max(1, min(127, round(base * factor)))


def _split(hits: list[Hit], offset: float, chords: Sequence[Chord]) -> list[tuple[float, float, str]]:
    """Bar hits at phrase time, cut where the chord changes (the cut-off part re-struck)."""
    out = []
    starts = [c.start for c in chords]
    for h in hits:
        t, end, token = offset + h.start, offset + h.start + h.length, h.token
        for s in starts:
            if t + _EPS < s < end - _EPS:
                out.append((t, s - t, token))
                t, token = s, ("R" if token in "538xpa-" else token)
        out.append((t, end - t, token))
    return out


def _pitched_hits(ctx: Context, role: str, settings: RoleStyle, rng: random.Random) -> list[tuple[float, float, str]]:
    family = family_for(settings.patterns, ctx.arousal)
    bar_len = ctx.phrase.meter.beats
    out = []
    for bar in range(ctx.phrase.bars):
        hits = bar_hits(role, family, ctx.feel, bar=bar, bars=ctx.phrase.bars,
                        phrase_index=ctx.phrase_index, rng=rng)
        out += _split(hits, bar * bar_len, ctx.chords)
    return out


def pad(ctx: Context, voicings: Sequence[tuple[int, ...]], rng: random.Random) -> list[Note]:
    s = ctx.style.pad
    base = ctx.velocity * s.velocity
    notes = []
    for t, length, _ in _pitched_hits(ctx, "pad", s, rng):
        for p in voicings[chord_at(ctx.chords, t)]:
            notes.append(Note(p + 12 * s.octave, t, length, _vel(base), CHANNELS["pad"]))
    return notes


def rhythm(ctx: Context, voicings: Sequence[tuple[int, ...]], rng: random.Random) -> list[Note]:
    s = ctx.style.rhythm
    base = ctx.velocity * s.velocity
    notes = []
    for t, length, token in _pitched_hits(ctx, "rhythm", s, rng):
        voicing = sorted(voicings[chord_at(ctx.chords, t)])
        if token.isdigit():
            pitches = [voicing[int(token) % len(voicing)]]
        else:  # a comp: the upper three notes, short
            pitches = voicing[-3:]
            length = min(length, ctx.feel.pulse * 1.5)
        for p in pitches:
            notes.append(Note(p + 12 * s.octave, t, length, _vel(base), CHANNELS["rhythm"]))
    return notes


def _near(pc: int, lo: int, hi: int, around: float) -> int:
    options = _with_class(pc, lo, hi)
    return min(options, key=lambda p: (abs(p - around), p)) if options else lo + (pc - lo) % 12


@lru_cache(maxsize=4096)
def _with_class(pc: int | frozenset[int], lo: int, hi: int) -> tuple[int, ...]:
    """The pitches in [lo, hi] of pitch class ``pc`` (or of any of the classes ``pc`` holds)."""
    classes = pc if isinstance(pc, frozenset) else frozenset((pc,))
    return tuple(p for p in range(lo, hi + 1) if p % 12 in classes)


def _step(pitch: int, direction: int, scale: tuple[int, ...]) -> int:
    """The next scale tone from ``pitch`` in ``direction`` (+1 up, -1 down)."""
    p = pitch + direction
    while p % 12 not in scale:
        p += direction
    return p


def bass(ctx: Context, rng: random.Random) -> list[Note]:
    s = ctx.style.bass
    base = ctx.velocity * s.velocity
    lo, hi = 36 + 12 * s.octave, 47 + 12 * s.octave
    scale = ctx.scale
    hits = _pitched_hits(ctx, "bass", s, rng)
    notes = []
    prev = float(lo + 4)
    for t, length, token in hits:
        i = chord_at(ctx.chords, t)
        chord = ctx.chords[i]
        if token in "pax" and abs(t - chord.start) < _EPS:
            token = "R"  # a new chord arrives on its bass note, so a cadence's V is heard as V
        root = _near(chord.bass, lo, hi, (lo + hi) / 2)
        target_pc = ctx.chords[i + 1].bass if i + 1 < len(ctx.chords) else ctx.phrase.tonic
        target = _near(target_pc, lo, hi, prev)
        pcs = chord.pitch_classes
        chord_tones = _with_class(pcs, lo - 5, hi + 8)
        if token == "R":
            pitch = root
        elif token in "53":  # the chord's fifth or third above the bass note (inversions too)
            step = chord.intervals[2 if token == "5" and len(chord.intervals) > 2 else 1]
            pitch = root + ((chord.root + step - chord.bass) % 12 or 12)
        elif token == "8":
            pitch = root + 12
        elif token == "p":
            direction = 1 if target >= prev else -1
            pitch = _step(int(prev), direction, scale)
        elif token == "a":
            pitch = target - 1 if rng.random() < 0.5 else _step(target, 1, scale)
        else:  # x: another chord tone, near the last note
            others = [p for p in chord_tones if p != prev] or chord_tones
            pitch = min(others, key=lambda p: (abs(p - prev), p))
        pitch = max(lo - 8, min(hi + 12, pitch))
        factor = 1.08 if token == "R" else (0.92 if token in "pa" else 1.0)
        notes.append(Note(pitch, t, length, _vel(base, factor), CHANNELS["bass"]))
        prev = float(pitch)
    return notes


def _counter_cost(p: int, prev: int, direction: int, sounding: list[int]) -> float:
    """Small steps, against the melody's direction, in thirds and sixths with it."""
    cost = abs(p - prev) / 2.0 + (1.5 if (p - prev) * direction < 0 else 0.0)
    for m in sounding:
        ic = abs(p - m) % 12
        cost += 0.0 if ic in (3, 4, 8, 9) else (1.5 if ic in (0, 5, 7) else 3.0)
        if abs(p - m) < 3:
            cost += 5.0  # never in the melody's way
    return cost


def counter(ctx: Context, rng: random.Random) -> list[Note]:
    """A second voice: fills the melody's rests and long notes, holds chord tones under it."""
    s = ctx.style.counter
    melody = sorted(ctx.phrase.notes, key=lambda n: n.start)
    if not melody:
        return []
    mean = sum(n.pitch for n in melody) / len(melody)
    if mean >= 60:
        lo, hi = round(mean) - 15, round(mean) - 3
    else:
        lo, hi = round(mean) + 3, round(mean) + 15
    lo, hi = max(40, lo + 12 * s.octave), min(90, hi + 12 * s.octave)
    feel, scale = ctx.feel, ctx.scale
    base = ctx.velocity * s.velocity
    total = ctx.phrase.bars * feel.beats
    onsets: list[tuple[float, int, float]] = []  # (start, pitch, velocity factor)
    prev = (lo + hi) // 2
    for k in range(total):
        t0 = k * feel.beat_len
        t1 = t0 + feel.beat_len
        busy = [n for n in melody if t0 - _EPS <= n.start < t1 - _EPS]
        before = [n for n in melody if n.start < t0 - _EPS]
        pcs = ctx.chords[chord_at(ctx.chords, t0)].pitch_classes
        tones = [p for p in range(lo, hi + 1) if p % 12 in pcs] or [prev]
        beat_in_bar = k % feel.beats
        strong = beat_in_bar == 0 or (feel.beats % 2 == 0 and beat_in_bar == feel.beats // 2)
        last_move = before[-1].pitch - before[-2].pitch if len(before) > 1 else rng.choice((-1, 1))
        if busy and before:
            last_move = busy[0].pitch - before[-1].pitch
        direction = -1 if last_move > 0 else 1  # contrary motion
        sounding = [n.pitch for n in melody if n.start <= t0 + _EPS < n.start + n.duration]
        pitch = min(tones, key=lambda p: (_counter_cost(p, prev, direction, sounding), p))
        if not busy:  # the melody rests or holds: answer it
            onsets.append((t0, pitch, 1.0 if strong else 0.92))
            if rng.random() < 0.6:  # a second note, a step on: the answer moves
                second = _step(pitch, direction, scale)
                if lo <= second <= hi:
                    onsets.append((t0 + feel.pulse * (feel.sub - 1), second, 0.85))
                    pitch = second
            prev = pitch
        elif strong and rng.random() < 0.75:  # under the melody: a held chord tone
            onsets.append((t0, pitch, 0.9))
            prev = pitch
    notes = []
    end = ctx.phrase.beats
    for j, (t, p, f) in enumerate(onsets):
        stop = onsets[j + 1][0] if j + 1 < len(onsets) else end
        bar_end = (int(t // ctx.phrase.meter.beats + _EPS) + 1) * ctx.phrase.meter.beats
        length = min(stop, bar_end, t + 2 * feel.beat_len) - t
        if length > _EPS:
            notes.append(Note(p, t, length, _vel(base, f), CHANNELS["counter"]))
    return notes


def _drum_key(voice: str, kit: DrumStyle, root: int) -> int:
    key = kit.keys.get(voice, _GM_KEYS[voice])
    if voice == "timp":  # tuned: the chord's root within the octave above the base key
        key += (root - key) % 12
    return key


def drums(ctx: Context, rng: random.Random) -> list[Note]:
    kit = ctx.style.drums
    family = family_for(kit.patterns, ctx.arousal)
    base = ctx.velocity * kit.velocity
    bar_len = ctx.phrase.meter.beats
    notes = []
    for bar in range(ctx.phrase.bars):
        t0 = bar * bar_len
        hits = drum_hits(family, ctx.feel, bar=bar, bars=ctx.phrase.bars, rng=rng)
        if bar == 0 and ctx.phrase_index % 2 == 0 and ctx.phrase_index > 0:
            hits.append(Hit(0.0, 0.25, "CRASH"))
        for h in hits:
            voice = h.token.lstrip("~").lower()
            factor = 1.15 if h.token.isupper() else (0.5 if h.token.startswith("~") else 0.9)
            if voice in ("hat", "ride"):
                factor *= 0.8
            root = ctx.chords[chord_at(ctx.chords, t0 + h.start)].root
            length = h.length if voice == "timp" else 0.25
            notes.append(Note(_drum_key(voice, kit, root), t0 + h.start, min(length, bar_len - h.start),
                              _vel(base, factor), CHANNELS["drums"]))
    return notes

