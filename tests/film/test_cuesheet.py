from __future__ import annotations

import json

import pytest

from moodscore.film.cuesheet import CueSheetError, parse_csv, parse_json

CUES = [{"cue": "1M01", "in": "01:00:00:00", "out": "01:00:30:00", "mood": "calm"},
        {"cue": "1M02", "in": "01:00:30:00", "out": "01:01:00:12", "valence": -0.5, "arousal": 0.8}]


def sheet(cues: list, **top: object) -> str:
    return json.dumps({"frame_rate": 24, **top, "cues": cues})


def test_json_and_csv_read_the_same_cues() -> None:
    a = parse_json(sheet(CUES))
    csv_text = ("cue,in,out,mood,valence,arousal\n1M01,01:00:00:00,01:00:30:00,calm,,\n"
                "1M02,01:00:30:00,01:01:00:12,,-0.5,0.8\n")
    b = parse_csv(csv_text, "24")
    assert a.cues == b.cues
    assert a.start == a.cues[0].start == 86_400 and a.cues[1].end - a.cues[1].start == 30 * 24 + 12
    assert a.seconds(a.cues[1].end) == pytest.approx(60.5)


@pytest.mark.parametrize("cues,top,says", [
    ([CUES[0], {**CUES[1], "in": "01:00:29:00"}], {}, "cue 1M02: in: 01:00:29:00 overlaps cue 1M01"),
    ([{**CUES[0], "out": "01:00:30:24"}], {}, "cue 1M01: out: .*frames must be 0-23"),
    ([{**CUES[0], "mood": ""}], {}, "cue 1M01: mood: a mood is required"),
    ([{**CUES[0], "mood": "not-a-preset"}], {}, "cue 1M01: mood: no word"),
    ([{**CUES[0], "out": "00:59:00:00"}], {}, "cue 1M01: out: 00:59:00:00 must come after in"),
    ([{**CUES[1], "arousal": 3}], {}, r"cue 1M02: valence/arousal: .*\[-1, 1\]"),
    ([{**CUES[1], "arousal": "loud"}], {}, "cue 1M02: valence/arousal: must be a number"),
    ([{**CUES[0], "colour": "red"}], {}, "cue 1M01: unknown field 'colour'"),
    ([CUES[0], {**CUES[1], "cue": "1M01"}], {}, "cue 1M01: cue: the name is used twice"),
    ([{"in": "01:00:00:00", "out": "01:00:01:00", "mood": "calm"}], {}, "cue #1: cue: a name is required"),
    ([CUES[0]], {"frame_rate": 48}, "frame_rate: .*23.976, 24, 25, 29.97"),
    ([CUES[0]], {"start": "01:00:10:00"}, "start: .*after the first cue"),
    ([], {}, "no cues"),
])
def test_malformed_sheets_name_the_cue_and_the_field(cues: list, top: dict, says: str) -> None:
    with pytest.raises(CueSheetError, match=says):
        parse_json(sheet(cues, **top))


def test_csv_without_the_needed_columns_says_which() -> None:
    with pytest.raises(CueSheetError, match="header row with cue, in, out and mood"):
        parse_csv("name,start\n1M01,01:00:00:00\n", "24")
    with pytest.raises(CueSheetError, match="--fps"):
        parse_csv("cue,in,out,mood\n", None)
