"""Accompaniment for one melody phrase: block chords, a bass line and, when excited, drums.

Pure and deterministic: a :class:`~moodscore.music.Phrase` and the template's
:class:`~moodscore.engine.template.Controls` in, a list of notes out (times in beats from the
phrase start). Chords sit on channel 1 around MIDI 48-64, the bass on channel 2 with its roots in
36-47, drums on channel 9 (General MIDI). The accompaniment keeps its register whatever the
template's octave shift; that shift is for the melody.

Public API: :func:`choose_chords`, :func:`arrange`.
"""
from __future__ import annotations

import random

from ..music import MODE_STEPS, Meter, Note, Phrase
from .template import Controls

CHORD_CHANNEL = 1
BASS_CHANNEL = 2
DRUM_CHANNEL = 9
KICK, SNARE, CLOSED_HAT = 36, 38, 42  # General MIDI percussion keys

_QUALITY = {(4, 7): "maj", (3, 7): "min", (3, 6): "dim", (4, 8): "aug"}
_INTERVALS = {"maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8)}
# Small tie-breaking prior by scale degree (I, V, IV, vi, ii, iii, vii): the common chords win ties.
_PRIOR = {0: 0.03, 4: 0.025, 3: 0.02, 5: 0.015, 1: 0.01, 2: 0.005, 6: 0.0}
_TONIC_BONUS = 0.25  # of the bar's melody weight, on the first and last bar
_STRONG_WEIGHT = {"downbeat": 2.0, "half": 1.5}
_CHORD_LOW, _CHORD_HIGH = 48, 64
_EPS = 1e-9


def _beat_grid(meter: Meter) -> tuple[float, int]:
    """(beat length in quarter notes, beats per bar); compound meters beat in dotted quarters."""
    if meter.denominator == 8 and meter.numerator % 3 == 0 and meter.numerator > 3:
        return 1.5, meter.numerator // 3
    return 4.0 / meter.denominator, meter.numerator


def diatonic_triads(tonic: int, mode: str) -> list[tuple[int, str]]:
    """The seven triads (root pitch class, quality) of ``mode`` on ``tonic``, degree I first."""
    steps = MODE_STEPS[mode]
    triads = []
    for degree in range(7):
        root = steps[degree]
        third = (steps[(degree + 2) % 7] - root) % 12
        fifth = (steps[(degree + 4) % 7] - root) % 12
        triads.append(((tonic + root) % 12, _QUALITY[(third, fifth)]))
    return triads


def _bar_weights(phrase: Phrase, bar: int) -> dict[int, float]:
    """Melody weight per pitch class in one bar: overlap duration, more on strong beats."""
    bar_len = phrase.meter.beats
    start, end = bar * bar_len, (bar + 1) * bar_len
    _, beats = _beat_grid(phrase.meter)
    half = bar_len / 2 if beats % 2 == 0 and beats >= 2 else None
    weights: dict[int, float] = {}
    for note in phrase.notes:
        overlap = min(end, note.start + note.duration) - max(start, note.start)
        if overlap <= _EPS:
            continue
        factor = 1.0
        if abs(note.start - start) < _EPS:
            factor = _STRONG_WEIGHT["downbeat"]
        elif half is not None and abs(note.start - start - half) < _EPS:
            factor = _STRONG_WEIGHT["half"]
        pc = note.pitch % 12
        weights[pc] = weights.get(pc, 0.0) + overlap * factor
    return weights


def choose_chords(phrase: Phrase) -> list[tuple[int, str]]:
    """One diatonic triad per bar, (root pitch class, 'maj'|'min'|'dim'), fitted to the melody.

    Each triad of the phrase's mode scores the share of the bar's melody weight that falls on
    its chord tones; the tonic triad gets a bonus on the first and last bar. A bar with no
    melody keeps the previous chord (the tonic on the first and last bar).
    """
    triads = diatonic_triads(phrase.tonic, phrase.mode)
    chords: list[tuple[int, str]] = []
    for bar in range(phrase.bars):
        edge = bar in (0, phrase.bars - 1)
        weights = _bar_weights(phrase, bar)
        total = sum(weights.values())
        if total <= _EPS:
            chords.append(triads[0] if edge or not chords else chords[-1])
            continue
        best, best_score = 0, float("-inf")
        for degree, (root, quality) in enumerate(triads):
            tones = {(root + i) % 12 for i in _INTERVALS[quality]}
            score = sum(w for pc, w in weights.items() if pc in tones) / total + _PRIOR[degree]
            if edge and degree == 0:
                score += _TONIC_BONUS
            if score > best_score + _EPS:
                best, best_score = degree, score
        chords.append(triads[best])
    return chords


def _voicings(root: int, quality: str) -> list[tuple[int, ...]]:
    """Every close-position voicing of the triad with all notes in the chord register."""
    pcs = [(root + i) % 12 for i in _INTERVALS[quality]]
    found = []
    for inversion in range(3):
        order = pcs[inversion:] + pcs[:inversion]
        for low in range(_CHORD_LOW, _CHORD_HIGH + 1):
            if low % 12 != order[0]:
                continue
            notes = [low]
            for pc in order[1:]:
                notes.append(notes[-1] + (pc - notes[-1]) % 12)
            if notes[-1] <= _CHORD_HIGH:
                found.append(tuple(notes))
    return sorted(found)


def _voice(chords: list[tuple[int, str]]) -> list[tuple[int, ...]]:
    """Pick voicings with the least total movement from one chord to the next."""
    previous: tuple[int, ...] = (52, 55, 60)  # start near the middle of the register
    voiced = []
    for root, quality in chords:
        previous = min(
            _voicings(root, quality),
            key=lambda v: (sum(abs(a - b) for a, b in zip(v, previous)), v),
        )
        voiced.append(previous)
    return voiced


def _scaled(velocity: int, factor: float, jitter: int = 0) -> int:
    return max(1, min(127, round(velocity * factor) + jitter))


def _chord_part(
    voiced: list[tuple[int, ...]], meter: Meter, controls: Controls, rng: random.Random
) -> list[Note]:
    bar_len = meter.beats
    beat_len, beats = _beat_grid(meter)
    notes = []
    for bar, voicing in enumerate(voiced):
        # Calm music holds one chord a bar; from neutral arousal up it is struck on every beat.
        if controls.arousal < 0:
            hits = [(0.0, bar_len)]
        else:
            hits = [(b * beat_len, beat_len * 0.9) for b in range(beats)]
        for offset, length in hits:
            vel = _scaled(controls.velocity, 0.8, rng.randint(-3, 3))
            for pitch in voicing:
                notes.append(Note(pitch, bar * bar_len + offset, length, vel, CHORD_CHANNEL))
    return notes


def _bass_part(
    chords: list[tuple[int, str]], meter: Meter, controls: Controls, rng: random.Random
) -> list[Note]:
    bar_len = meter.beats
    beat_len, beats = _beat_grid(meter)
    notes = []
    for bar, (root, quality) in enumerate(chords):
        low = 36 + root  # octave 36-47
        fifth = low + _INTERVALS[quality][2]
        if controls.arousal < 0:
            vel = _scaled(controls.velocity, 0.85)
            notes.append(Note(low, bar * bar_len, bar_len, vel, BASS_CHANNEL))
            continue
        for b in range(beats):
            pitch = low if b % 2 == 0 else fifth
            vel = _scaled(controls.velocity, 0.85, rng.randint(-3, 3))
            start = bar * bar_len + b * beat_len
            notes.append(Note(pitch, start, beat_len * 0.9, vel, BASS_CHANNEL))
    return notes


def _drum_part(bars: int, meter: Meter, controls: Controls, rng: random.Random) -> list[Note]:
    bar_len = meter.beats
    beat_len, beats = _beat_grid(meter)
    hit = 0.25
    notes = []
    for bar in range(bars):
        t0 = bar * bar_len
        for b in range(beats):  # kick on beats 1 and 3, snare on 2 and 4 (counting from 1)
            key = KICK if b % 2 == 0 else SNARE
            vel = _scaled(controls.velocity, 0.8, rng.randint(-3, 3))
            notes.append(Note(key, t0 + b * beat_len, hit, vel, DRUM_CHANNEL))
        for e in range(int(bar_len * 2 + _EPS)):  # closed hi-hat on every eighth
            vel = _scaled(controls.velocity, 0.65 if e % 2 else 0.75, rng.randint(-3, 3))
            notes.append(Note(CLOSED_HAT, t0 + e * 0.5, hit, vel, DRUM_CHANNEL))
    return notes


def arrange(phrase: Phrase, controls: Controls, *, seed: int = 0) -> list[Note]:
    """The accompaniment of ``phrase`` (not the melody), sorted by onset, channel and pitch.

    ``seed`` only drives a small velocity humanisation; the same inputs give the same notes.
    Drums are added when the controls ask for them (arousal above the template's drums_above).
    """
    rng = random.Random(seed)
    chords = choose_chords(phrase)
    notes = _chord_part(_voice(chords), phrase.meter, controls, rng)
    notes += _bass_part(chords, phrase.meter, controls, rng)
    if controls.drums:
        notes += _drum_part(phrase.bars, phrase.meter, controls, rng)
    return sorted(notes, key=lambda n: (n.start, n.channel, n.pitch))
