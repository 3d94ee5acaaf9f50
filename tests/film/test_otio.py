from __future__ import annotations

from pathlib import Path

import opentimelineio as otio
import pytest

from moodscore.film import cuesheet, timecode
from moodscore.film.cuesheet import CueSheetError

EXAMPLE = Path(__file__).parents[2] / "examples" / "cue_sheet" / "reel2.otio"


def R(frames: float, rate: float = 24) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, rate)


def test_markers_on_tracks_and_clips_become_cues_in_timeline_time() -> None:
    sheet = cuesheet.load(EXAMPLE)
    rate = sheet.rate
    assert rate.name == "24" and timecode.format_frames(sheet.start, rate) == "01:00:00:00"
    (a, b) = sheet.cues
    # 2M01 sits on a clip that starts 5 s into the track and 1000 frames into its media
    assert (a.name, timecode.format_frames(a.start, rate), timecode.format_frames(a.end, rate)) == \
        ("2M01", "01:00:07:00", "01:00:27:00")
    assert a.mood == "preset calm"
    assert b.name == "2M02" and b.mood.startswith("text: desperate chase") and b.arousal > 0


def write(tmp_path: Path, marker: otio.schema.Marker, rate: float = 24) -> Path:
    tl = otio.schema.Timeline(name="t")
    track = otio.schema.Track()
    tl.tracks.append(track)
    track.markers.append(marker)
    path = tmp_path / "t.otio"
    otio.adapters.write_to_file(tl, str(path))
    return path


def test_drop_frame_timeline(tmp_path: Path) -> None:
    marker = otio.schema.Marker(name="3M01", marked_range=otio.opentime.TimeRange(R(1800, 29.97), R(900, 29.97)),
                                metadata={"moodscore": {"valence": 0.3, "arousal": -0.2}})
    sheet = cuesheet.load(write(tmp_path, marker, 29.97))
    assert sheet.rate.drop_frame and timecode.format_frames(sheet.cues[0].start, sheet.rate) == "00:01:00;02"
    assert (sheet.cues[0].valence, sheet.cues[0].arousal) == (0.3, -0.2)


@pytest.mark.parametrize("marker,says", [
    (otio.schema.Marker(name="4M01", marked_range=otio.opentime.TimeRange(R(24), R(0)), comment="calm"),
     "cue 4M01: out: the marker has no duration"),
    (otio.schema.Marker(name="4M02", marked_range=otio.opentime.TimeRange(R(24), R(48))),
     "cue 4M02: mood: a mood is required"),
])
def test_bad_markers_are_named(tmp_path: Path, marker: otio.schema.Marker, says: str) -> None:
    with pytest.raises(CueSheetError, match=says):
        cuesheet.load(write(tmp_path, marker))
