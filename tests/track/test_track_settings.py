from __future__ import annotations

import argparse

import pytest

from moodscore.errors import ConfigError
from moodscore.track.settings import TrackSettings, arg_type


def test_round_trips_through_json() -> None:
    s = TrackSettings(rate_hz=20.0, smoothing_s=0.0, hold_s=1.5, decay_s=4.0, min_neighbors=3)
    assert TrackSettings.from_json(s.to_json()) == s
    assert TrackSettings.from_json(TrackSettings().to_json()) == TrackSettings()


@pytest.mark.parametrize("kw, message", [
    ({"rate_hz": 0.0}, r"rate_hz must be > 0 and <= 100 \(messages per second\), got 0.0"),
    ({"rate_hz": float("nan")}, "rate_hz must be > 0"),
    ({"smoothing_s": -1.0}, r"smoothing_s must be >= 0 and <= 60 \(seconds\)"),
    ({"scale_factor": 1.0}, "scale_factor must be > 1"),
    ({"min_neighbors": 2.5}, "min_neighbors must be an integer"),
    ({"hold_s": "2"}, "hold_s must be a number"),
])
def test_out_of_range_says_what_is_allowed(kw: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TrackSettings(**kw)


def test_unknown_keys_and_bad_json_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"unknown tracker settings \['fps'\]"):
        TrackSettings.from_json('{"fps": 30}')
    with pytest.raises(ConfigError, match="not JSON"):
        TrackSettings.from_json("{")


def test_arg_type_names_the_option() -> None:
    parse = arg_type("rate_hz", "--rate")
    assert parse("25") == 25.0
    with pytest.raises(argparse.ArgumentTypeError, match=r"^--rate must be > 0 and <= 100"):
        parse("500")
    with pytest.raises(argparse.ArgumentTypeError, match="--rate must be a number, got 'fast'"):
        parse("fast")
