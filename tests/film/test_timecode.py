from __future__ import annotations

import pytest

from moodscore.film.timecode import TimecodeError, format_frames, frame_rate, parse, to_seconds

DF = frame_rate("29.97")


@pytest.mark.parametrize("rate,text,frames", [
    ("24", "00:00:01:00", 24), ("25", "01:00:00:00", 90_000), ("30", "00:00:10:29", 329),
    ("23.976", "00:01:00:00", 1440), ("29.97", "00:01:00;02", 1800), ("29.97", "00:10:00;00", 17_982),
    ("29.97", "01:00:00;00", 107_892), ("29.97ndf", "01:00:00:00", 108_000),
])
def test_known_frame_counts(rate: str, text: str, frames: int) -> None:
    r = frame_rate(rate)
    assert parse(text, r) == frames
    assert format_frames(frames, r).replace(";", ":") == text.replace(";", ":")


def test_drop_frame_keeps_pace_with_the_clock() -> None:
    # an hour of drop-frame timecode is an hour of real time to within 3.6 ms (NDF drifts 3.6 s)
    assert abs(to_seconds(parse("01:00:00;00", DF), DF) - 3600) < 0.004
    ndf = frame_rate("29.97", drop_frame=False)
    assert abs(to_seconds(parse("01:00:00:00", ndf), ndf) - 3603.6) < 0.001


def test_every_drop_frame_count_round_trips() -> None:
    for frames in range(0, 40_000, 7):
        assert parse(format_frames(frames, DF), DF) == frames


@pytest.mark.parametrize("rate,text,says", [
    ("25", "00:00:00:25", "frames must be 0-24"), ("24", "00:61:00:00", "minutes"),
    ("29.97", "00:01:00;00", "does not exist in drop-frame"), ("24", "00:00:01;00", "drop-frame"),
    ("24", "1:2:3", "HH:MM:SS:FF"), ("30", "aa:bb:cc:dd", "HH:MM:SS:FF"),
])
def test_impossible_timecode_is_refused_with_what_is_allowed(rate: str, text: str, says: str) -> None:
    with pytest.raises(TimecodeError, match=says):
        parse(text, frame_rate(rate))


def test_rates() -> None:
    assert frame_rate("29.97df").drop_frame and not frame_rate("29.97ndf").drop_frame
    assert frame_rate(25).nominal == 25 and frame_rate("24.0").name == "24"
    with pytest.raises(TimecodeError, match="23.976, 24, 25, 29.97"):
        frame_rate("48")
    with pytest.raises(TimecodeError, match="only at 29.97"):
        frame_rate("25df")
