"""Cue sheets: the music cues of a film, read from JSON or CSV and checked before anything renders.

A cue is named as composers name them (``1M03``: reel 1, music cue 3), starts and ends at SMPTE
timecode, and has a mood (see :mod:`moodscore.film.moods`). JSON::

    {"title": "Reel 1 temp", "frame_rate": "29.97", "drop_frame": true,
     "start": "00:59:58;00",
     "cues": [{"cue": "1M01", "in": "01:00:10;00", "out": "01:00:41;12", "mood": "calm"},
              {"cue": "1M02", "in": "01:00:41;12", "out": "01:01:20;00",
               "mood": {"valence": -0.6, "arousal": 0.8}},
              {"cue": "1M03", "in": "01:01:30;00", "out": "01:02:00;00",
               "mood": "a desperate chase through the storm"}]}

CSV has a header row with ``cue,in,out`` and either ``mood`` or ``valence,arousal`` (or both;
numbers win when filled in); the frame rate comes from the caller (``moodscore render --fps``),
as CSV carries no settings. A cue may also give ``intensity`` (0 to 1: from the melody and two
parts to the full arrangement); without it the cue's arousal decides. ``start`` (the timecode at the top of the MIDI file, written as its
SMPTE offset) defaults to the first cue's in point. Every problem is reported as
``cue 1M03: out: ...``, naming the cue (or its row) and the field.

Public API: :class:`Cue`, :class:`CueSheet`, :func:`load`, :func:`parse_json`, :func:`parse_csv`,
:func:`sheet_from_rows`,
:class:`CueSheetError`.
"""
from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from . import moods, timecode
from .timecode import FrameRate

MAX_CUES = 2000
FIELDS = ("cue", "in", "out", "mood", "valence", "arousal", "title", "intensity")


class CueSheetError(ConfigError):
    """A cue sheet that cannot be rendered; the text names the cue and the field."""


@dataclass(frozen=True)
class Cue:
    name: str
    start: int  # frames from 00:00:00:00
    end: int
    valence: float
    arousal: float
    mood: str  # how the mood was read, for the marker and the log
    title: str = ""
    intensity: float | None = None  # 0..1: how many parts play; None follows the arousal


@dataclass(frozen=True)
class CueSheet:
    title: str
    rate: FrameRate
    start: int  # frames: the timecode at the top of the file
    cues: tuple[Cue, ...]

    def seconds(self, frames: int) -> float:
        """Seconds from the top of the file to ``frames``."""
        return timecode.to_seconds(frames - self.start, self.rate)

    @property
    def duration(self) -> float:
        return self.seconds(max(c.end for c in self.cues))


def _where(row: dict[str, Any], index: int) -> str:
    name = row.get("cue")
    return f"cue {name}" if isinstance(name, str) and name.strip() else f"cue #{index + 1}"


def _number(value: object) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("must be a number")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"must be a number in [-1, 1], got {value!r}") from None


def _cue(row: dict[str, Any], index: int, rate: FrameRate) -> Cue:
    where = _where(row, index)
    unknown = sorted(set(row) - set(FIELDS))
    if unknown:
        raise CueSheetError(f"{where}: unknown field {unknown[0]!r}; allowed: {', '.join(FIELDS)}")
    name = row.get("cue")
    if not isinstance(name, str) or not name.strip():
        raise CueSheetError(f"{where}: cue: a name is required, such as 1M03")
    name = name.strip()
    frames = {}
    for key in ("in", "out"):
        if row.get(key) in (None, ""):
            raise CueSheetError(f"{where}: {key}: a timecode is required")
        try:
            frames[key] = timecode.parse(str(row[key]), rate)
        except timecode.TimecodeError as err:
            raise CueSheetError(f"{where}: {key}: {err}") from None
    if frames["out"] <= frames["in"]:
        raise CueSheetError(f"{where}: out: {row['out']} must come after in {row['in']}")
    try:
        v, a = _number(row.get("valence")), _number(row.get("arousal"))
    except ValueError as err:
        raise CueSheetError(f"{where}: valence/arousal: {err}") from None
    try:
        if v is not None or a is not None:
            if v is None or a is None:
                raise moods.MoodError("give both valence and arousal, or a mood")
            valence, arousal, how = moods.resolve([v, a])
        elif row.get("mood") in (None, ""):
            raise moods.MoodError("a mood is required: valence/arousal, a preset or some words")
        else:
            valence, arousal, how = moods.resolve(row["mood"])
    except moods.MoodError as err:
        field = "mood" if v is None and a is None else "valence/arousal"
        raise CueSheetError(f"{where}: {field}: {err}") from None
    title = row.get("title") or ""
    if not isinstance(title, str):
        raise CueSheetError(f"{where}: title: must be text")
    try:
        intensity = _number(row.get("intensity"))
    except ValueError:
        intensity = -1.0
    if intensity is not None and not 0.0 <= intensity <= 1.0:  # also catches NaN
        raise CueSheetError(f"{where}: intensity: must be a number in [0, 1], got {row.get('intensity')!r}")
    return Cue(name, frames["in"], frames["out"], valence, arousal, how, title.strip(), intensity)


def sheet_from_rows(rows: list[Any], rate: FrameRate, title: str, start: object) -> CueSheet:
    """Check cue rows (dicts of the JSON fields) and make the sheet; the other readers' end."""
    if not rows:
        raise CueSheetError("the cue sheet has no cues")
    if len(rows) > MAX_CUES:
        raise CueSheetError(f"the cue sheet has {len(rows)} cues; at most {MAX_CUES}")
    cues = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise CueSheetError(f"cue #{i + 1}: must be an object with cue, in, out and mood")
        cues.append(_cue(row, i, rate))
    names: dict[str, Cue] = {}
    for cue in cues:
        if cue.name in names:
            raise CueSheetError(f"cue {cue.name}: cue: the name is used twice")
        names[cue.name] = cue
    ordered = sorted(cues, key=lambda c: c.start)
    for before, after in zip(ordered, ordered[1:]):
        if after.start < before.end:
            raise CueSheetError(
                f"cue {after.name}: in: {timecode.format_frames(after.start, rate)} overlaps cue "
                f"{before.name}, which runs to {timecode.format_frames(before.end, rate)}")
    if start in (None, ""):
        top = ordered[0].start
    else:
        try:
            top = timecode.parse(str(start), rate)
        except timecode.TimecodeError as err:
            raise CueSheetError(f"start: {err}") from None
        if top > ordered[0].start:
            raise CueSheetError(f"start: {start} is after the first cue ({ordered[0].name})")
    return CueSheet(title, rate, top, tuple(ordered))


def _rate(value: object, drop_frame: object, where: str) -> FrameRate:
    if drop_frame is not None and not isinstance(drop_frame, bool):
        raise CueSheetError(f"{where}drop_frame: must be true or false, got {drop_frame!r}")
    if value is None:
        raise CueSheetError(f"{where}frame_rate: required; one of {timecode.RATES_TEXT}")
    try:
        return timecode.frame_rate(value, drop_frame)  # type: ignore[arg-type]
    except timecode.TimecodeError as err:
        raise CueSheetError(f"{where}frame_rate: {err}") from None


def parse_json(text: str, fps: str | None = None) -> CueSheet:
    try:
        data = json.loads(text)
    except ValueError as err:
        raise CueSheetError(f"the cue sheet is not JSON: {err}") from None
    if isinstance(data, list):
        data = {"cues": data}
    if not isinstance(data, dict) or not isinstance(data.get("cues"), list):
        raise CueSheetError('a JSON cue sheet is an object with a "cues" list (or the list itself)')
    allowed = {"title", "frame_rate", "drop_frame", "start", "cues"}
    extra = sorted(set(data) - allowed)
    if extra:
        raise CueSheetError(f"unknown field {extra[0]!r}; allowed: {', '.join(sorted(allowed))}")
    rate = _rate(fps if fps is not None else data.get("frame_rate"), data.get("drop_frame"), "")
    title = data.get("title") or "moodscore temp score"
    return sheet_from_rows(data["cues"], rate, str(title), data.get("start"))


def parse_csv(text: str, fps: str | None, title: str = "moodscore temp score",
              start: str | None = None) -> CueSheet:
    if fps is None:
        raise CueSheetError("a CSV cue sheet needs --fps: 23.976, 24, 25, 29.97 (drop-frame), "
                            "29.97ndf or 30")
    rate = _rate(fps, None, "--fps: ")
    reader = csv.DictReader(io.StringIO(text, newline=""), skipinitialspace=True)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if not {"cue", "in", "out"} <= set(header) or not ({"mood"} & set(header)
                                                       or {"valence", "arousal"} <= set(header)):
        raise CueSheetError("a CSV cue sheet needs a header row with cue, in, out and mood "
                            f"(or valence and arousal); got {', '.join(header) or 'none'}")
    reader.fieldnames = header
    rows: list[dict[str, str]] = []
    for raw in reader:
        if None in raw:
            raise CueSheetError(f"cue #{len(rows) + 1}: the row has more fields than the header")
        row = {k: (v.strip() if isinstance(v, str) else v) for k, v in raw.items()}
        if any(row.values()):
            rows.append({k: v for k, v in row.items() if v not in (None, "")})
    return sheet_from_rows(rows, rate, title, start)


def load(path: str | os.PathLike[str], fps: str | None = None) -> CueSheet:
    """Read a ``.json``, ``.csv`` or OpenTimelineIO (``.otio``, ``.otioz``) cue sheet; ``fps`` is
    required for CSV, and overrides the others'."""
    path = Path(path)
    if path.suffix.lower() in (".otio", ".otioz"):
        from .otio import load_otio

        return load_otio(path, fps)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise CueSheetError(f"cannot read cue sheet {path}: {err}") from None
    suffix = path.suffix.lower()
    if suffix == ".json":
        return parse_json(text, fps)
    if suffix == ".csv":
        return parse_csv(text, fps, title=path.stem)
    raise CueSheetError(f"cue sheet must be .json, .csv, .otio or .otioz, got {path.name}")
