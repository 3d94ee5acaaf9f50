"""Cue sheets from an editor's timeline: OpenTimelineIO markers as music cues.

An editor marks each music cue on the timeline as a marker with a duration: its name is the
cue's (``1M03``), its marked range the cue's in and out, and its mood is in the marker's
metadata (``{"moodscore": {"mood": "tense"}}`` or ``{"moodscore": {"valence": -0.5,
"arousal": 0.7}}``) or, failing that, its comment. Markers on the timeline's stack, on its
tracks and on clips are all read (a clip's marker is moved into timeline time through the
clip's place in its track); the timeline's global start time is the timecode of frame 0. What
comes out goes through the same checks as a JSON or CSV sheet (:mod:`.cuesheet`), so a bad
marker is named as ``cue 1M03: ...``.

Needs ``opentimelineio`` (the ``film`` extra).

Public API: :func:`load_otio`.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from . import timecode
from .cuesheet import CueSheet, CueSheetError, sheet_from_rows

_RATE_NAMES = {24.0: "24", 25.0: "25", 30.0: "30", 23.976: "23.976", 29.97: "29.97"}


def _rate_name(rate: float) -> str:
    for value, name in _RATE_NAMES.items():
        if math.isclose(rate, value, abs_tol=0.01):
            return name
    raise CueSheetError(f"the timeline runs at {rate:g} fps; cue sheets allow {timecode.RATES_TEXT}")


def _markers(otio: Any, timeline: Any) -> list[tuple[Any, Any]]:
    """(marker, its range in timeline time) for every marker on the stack, tracks and clips."""
    found = [(m, m.marked_range) for m in timeline.tracks.markers]
    for track in timeline.tracks:
        found += [(m, m.marked_range) for m in track.markers]
        for item in track:
            if not isinstance(item, otio.schema.Clip) or not item.markers:
                continue
            placed, source = item.range_in_parent(), item.trimmed_range()
            for m in item.markers:
                start = placed.start_time + (m.marked_range.start_time - source.start_time)
                found.append((m, otio.opentime.TimeRange(start, m.marked_range.duration)))
    return found


def load_otio(path: str | os.PathLike[str], fps: str | None = None) -> CueSheet:
    try:
        import opentimelineio as otio
    except ModuleNotFoundError:
        raise CueSheetError("OpenTimelineIO files need opentimelineio: pip install 'moodscore[film]'") from None
    path = Path(path)
    try:
        timeline = otio.adapters.read_from_file(str(path))
    except Exception as err:  # noqa: BLE001 - OTIO raises many kinds; all mean "cannot read"
        raise CueSheetError(f"cannot read {path.name} with OpenTimelineIO: {err}") from None
    if not isinstance(timeline, otio.schema.Timeline):
        raise CueSheetError(f"{path.name} holds a {type(timeline).__name__}, not a timeline")
    markers = _markers(otio, timeline)
    if not markers:
        raise CueSheetError(f"{path.name} has no markers; mark each music cue with a marker "
                            "named after it (1M03) whose range is the cue")
    native = markers[0][1].start_time.rate
    rate = timecode.frame_rate(fps if fps is not None else _rate_name(native))
    origin = timeline.global_start_time
    zero = origin.rescaled_to(native).value if origin is not None else 0.0

    def tc(t: Any) -> str:
        return timecode.format_frames(round(zero + t.rescaled_to(native).value), rate)

    rows = []
    for marker, span in markers:
        row: dict[str, Any] = {"cue": marker.name, "in": tc(span.start_time),
                               "out": tc(span.end_time_exclusive())}
        meta = dict(marker.metadata.get("moodscore", {}) or {})
        for key in ("mood", "valence", "arousal", "title", "intensity"):
            if key in meta:
                row[key] = meta[key]
        if "mood" not in row and "valence" not in row and (marker.comment or "").strip():
            row["mood"] = marker.comment.strip()
        if span.duration.value <= 0:
            raise CueSheetError(f"cue {marker.name}: out: the marker has no duration; give it the "
                                "length of the cue")
        rows.append(row)
    start = tc(otio.opentime.RationalTime(0, native)) if origin is not None else None
    return sheet_from_rows(rows, rate, timeline.name or path.stem, start)
