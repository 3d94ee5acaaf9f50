"""Standard MIDI File writer: phrases (and their accompaniment) to a type 1 file with mido.

Track 0 is the conductor (title, time and key signature, one tempo per phrase); then one named
track per MIDI channel in use, each opening with a General MIDI program change. Phrases are laid
end to end, each ``phrase.beats`` long; a phrase's notes and its accompaniment are timed from the
phrase start. The same inputs always give the same bytes.

Public API: :func:`key_signature`, :func:`render_midi`, :func:`write_midi`, ``DEFAULT_PROGRAMS``.
"""
from __future__ import annotations

import io
import math
import numbers
import os
from collections.abc import Sequence

import mido

from ..arranger import TRACK_NAMES  # one named track per role (re-exported for the writers)
from ..errors import ConfigError
from ..music import MODE_STEPS, Meter, Note, Phrase
from .atomic import atomic_write_bytes

# General MIDI: piano melody, string-ensemble pad, acoustic bass, flute counter-line, harp
# figures, standard drum kit.
DEFAULT_PROGRAMS = {0: 0, 1: 48, 2: 32, 4: 73, 5: 46, 9: 0}

_MAJOR_KEYS = {-6: "Gb", -5: "Db", -4: "Ab", -3: "Eb", -2: "Bb", -1: "F",
               0: "C", 1: "G", 2: "D", 3: "A", 4: "E", 5: "B"}  # fmt: skip
_MINOR_KEYS = {-6: "Ebm", -5: "Bbm", -4: "Fm", -3: "Cm", -2: "Gm", -1: "Dm",
               0: "Am", 1: "Em", 2: "Bm", 3: "F#m", 4: "C#m", 5: "G#m"}  # fmt: skip
_MINOR_LIKE = {"dor", "min", "phr", "loc"}  # modes with a minor third


def key_signature(tonic: int, mode: str) -> str:
    """mido's key name with the accidentals of ``mode`` on ``tonic``.

    MIDI key signatures only know major and minor, so a church mode takes the signature of its
    parent scale, named as a minor key when the mode has a minor third (D dorian -> 'Am') and as
    a major key otherwise (G mixolydian -> 'C'). Six accidentals are spelled in flats.
    """
    if mode not in MODE_STEPS:
        raise ConfigError(f"mode must be one of {', '.join(MODE_STEPS)}, got {mode!r}")
    if isinstance(tonic, bool) or not isinstance(tonic, int) or not 0 <= tonic <= 11:
        raise ConfigError(f"tonic must be a pitch class 0..11, got {tonic!r}")
    pcs = {(tonic + s) % 12 for s in MODE_STEPS[mode]}
    major = MODE_STEPS["maj"]
    parent = next(m for m in range(12) if {(m + s) % 12 for s in major} == pcs)
    sharps = parent * 7 % 12  # 7 is its own inverse mod 12: a fifth up adds one sharp
    if sharps > 5:
        sharps -= 12
    return (_MINOR_KEYS if mode in _MINOR_LIKE else _MAJOR_KEYS)[sharps]


def _tempos(tempo_bpm: float | Sequence[float], count: int) -> list[float]:
    want = max(count, 1)
    values: list[float]
    # float and int are Reals at runtime; naming them lets mypy narrow, which numbers.Real does not.
    if isinstance(tempo_bpm, (float, int, numbers.Real)):
        values = [tempo_bpm] * want
    else:
        values = list(tempo_bpm)
    if len(values) != want:
        raise ConfigError(
            f"tempo_bpm must be one value or one per phrase ({count}), got {len(values)}"
        )
    for bpm in values:
        # set_tempo holds microseconds per beat in 24 bits: 60e6 / 2**24 ~ 3.6 BPM is the floor.
        ok = isinstance(bpm, numbers.Real) and not isinstance(bpm, bool)
        if not (ok and math.isfinite(bpm) and 4 <= bpm <= 1000):
            raise ConfigError(f"tempo_bpm must be a number in 4..1000, got {bpm!r}")
    return [float(b) for b in values]


def _check_note(note: Note) -> None:
    if not (0 <= note.pitch <= 127 and 1 <= note.velocity <= 127 and 0 <= note.channel <= 15):
        raise ConfigError(
            f"notes need pitch 0..127, velocity 1..127 and channel 0..15, got {note!r}"
        )
    if not (math.isfinite(note.start) and math.isfinite(note.duration) and note.start >= 0
            and note.duration > 0):
        raise ConfigError(f"notes need a finite start >= 0 and duration > 0, got {note!r}")


def _note_events(
    phrases: Sequence[Phrase], accompaniment: Sequence[Sequence[Note]] | None, tpb: int
) -> dict[int, list[tuple[int, int, int, int]]]:
    """Per channel: (tick, 0 = off / 1 = on, pitch, velocity), sorted; offs first at a tie."""
    events: dict[int, list[tuple[int, int, int, int]]] = {}
    offset = 0.0
    for i, phrase in enumerate(phrases):
        notes = list(phrase.notes) + (list(accompaniment[i]) if accompaniment is not None else [])
        for note in notes:
            _check_note(note)
            on = round((offset + note.start) * tpb)
            off = max(on + 1, round((offset + note.start + note.duration) * tpb))
            track = events.setdefault(note.channel, [])
            track.append((on, 1, note.pitch, note.velocity))
            track.append((off, 0, note.pitch, 0))
        offset += phrase.beats
    for track in events.values():
        track.sort()
    return events


_Timed = list[tuple[int, "mido.Message | mido.MetaMessage"]]


def _with_deltas(timed: _Timed, end: int) -> mido.MidiTrack:
    """A track from (absolute tick, message) pairs already in order, closed at tick ``end``."""
    track = mido.MidiTrack()
    now = 0
    for tick, msg in timed:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(end, now) - now))
    return track


def _time_signature(meter: Meter) -> mido.MetaMessage:
    return mido.MetaMessage(
        "time_signature", numerator=meter.numerator, denominator=meter.denominator,
        clocks_per_click=24, notated_32nd_notes_per_beat=8,
    )  # fmt: skip


def render_midi(
    phrases: Sequence[Phrase],
    accompaniment: Sequence[Sequence[Note]] | None = None,
    *,
    tempo_bpm: float | Sequence[float],
    meter: Meter,
    tonic: int,
    mode: str,
    title: str = "moodscore",
    programs: dict[int, int] | None = None,
    ticks_per_beat: int = 480,
) -> mido.MidiFile:
    """The type 1 MIDI file for ``phrases`` in memory; :class:`ConfigError` on bad arguments."""
    if accompaniment is not None and len(accompaniment) != len(phrases):
        raise ConfigError(
            f"accompaniment must hold one note list per phrase ({len(phrases)}), "
            f"got {len(accompaniment)}"
        )
    if not 1 <= ticks_per_beat <= 32767:
        raise ConfigError(f"ticks_per_beat must be in 1..32767, got {ticks_per_beat}")
    progs = {**DEFAULT_PROGRAMS, **(programs or {})}
    for channel, program in progs.items():
        if not (0 <= channel <= 15 and 0 <= program <= 127):
            raise ConfigError(
                f"programs map channel 0..15 to program 0..127, got {channel}: {program}"
            )
    tempos = _tempos(tempo_bpm, len(phrases))
    key = key_signature(tonic, mode)
    tpb = ticks_per_beat

    # Conductor: title, meter, key, then each phrase's tempo (and meter, when it changes).
    # MIDI text is Latin-1 in mido; anything else becomes '?' rather than failing at save time.
    name = " ".join(title.split()).encode("latin-1", "replace").decode("latin-1")
    conductor: _Timed = [
        (0, mido.MetaMessage("track_name", name=name)),
        (0, _time_signature(meter)),
        (0, mido.MetaMessage("key_signature", key=key)),
    ]
    start, current = 0.0, meter
    for i, bpm in enumerate(tempos):
        tick = round(start * tpb)
        if i < len(phrases) and phrases[i].meter != current:
            current = phrases[i].meter
            conductor.append((tick, _time_signature(current)))
        conductor.append((tick, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
        start += phrases[i].beats if i < len(phrases) else 0.0
    end = round(start * tpb)

    mid = mido.MidiFile(type=1, ticks_per_beat=tpb)
    mid.tracks.append(_with_deltas(conductor, end))
    for channel, events in sorted(_note_events(phrases, accompaniment, tpb).items()):
        track_name = TRACK_NAMES.get(channel, f"Channel {channel + 1}")
        timed: _Timed = [
            (0, mido.MetaMessage("track_name", name=track_name)),
            (0, mido.Message("program_change", channel=channel, program=progs.get(channel, 0))),
        ]
        for tick, is_on, pitch, velocity in events:
            kind = "note_on" if is_on else "note_off"
            timed.append((tick, mido.Message(kind, channel=channel, note=pitch, velocity=velocity)))
        mid.tracks.append(_with_deltas(timed, end))
    return mid


def write_midi(
    path: str | os.PathLike[str],
    phrases: Sequence[Phrase],
    accompaniment: Sequence[Sequence[Note]] | None = None,
    *,
    tempo_bpm: float | Sequence[float],
    meter: Meter,
    tonic: int,
    mode: str,
    title: str = "moodscore",
    programs: dict[int, int] | None = None,
    ticks_per_beat: int = 480,
) -> None:
    """Write :func:`render_midi`'s file to ``path`` atomically; :class:`OutputError` if not."""
    mid = render_midi(
        phrases, accompaniment, tempo_bpm=tempo_bpm, meter=meter, tonic=tonic, mode=mode,
        title=title, programs=programs, ticks_per_beat=ticks_per_beat,
    )  # fmt: skip
    buf = io.BytesIO()
    mid.save(file=buf)
    atomic_write_bytes(path, buf.getvalue())
