"""SMPTE timecode: parse, validate and convert ``HH:MM:SS:FF`` at film and video frame rates.

Rates are 23.976, 24, 25, 29.97 and 30 frames per second. 29.97 is drop-frame unless said
otherwise: frame numbers 0 and 1 are skipped at the start of every minute except each tenth, so
the count keeps pace with the wall clock; drop-frame timecode is written with ``;`` before the
frames (``01:00:00;00``), non-drop with ``:``. 23.976 counts 24 frames a second without drops,
as picture editors do.

(The PyPI package ``timecode`` converts too, but accepts impossible values such as frame 30 at
25 fps or a dropped frame number, and a cue sheet with those must be refused, naming the cue.)

Public API: :class:`FrameRate`, :func:`frame_rate`, :func:`parse`, :func:`to_seconds`,
:func:`format_frames`, ``RATES``, :class:`TimecodeError`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from ..errors import ConfigError


class TimecodeError(ConfigError):
    """A timecode or frame rate that cannot be; the text says what is allowed."""


@dataclass(frozen=True)
class FrameRate:
    name: str  # as written: "23.976", "24", "25", "29.97", "30"
    nominal: int  # frames counted per timecode second
    fps: Fraction  # real frames per second
    drop_frame: bool = False

    @property
    def label(self) -> str:
        return f"{self.name} {'DF' if self.drop_frame else 'NDF'}" if self.name == "29.97" else self.name

    @property
    def frame_seconds(self) -> float:
        return float(1 / self.fps)


_NTSC = Fraction(1000, 1001)
RATES: dict[str, tuple[int, Fraction]] = {
    "23.976": (24, 24 * _NTSC), "24": (24, Fraction(24)), "25": (25, Fraction(25)),
    "29.97": (30, 30 * _NTSC), "30": (30, Fraction(30)),
}
RATES_TEXT = "23.976, 24, 25, 29.97 (drop-frame unless drop_frame is false) or 30"


def frame_rate(value: str | int | float, drop_frame: bool | None = None) -> FrameRate:
    """The rate named by ``value`` (``"29.97"``, ``25``, ``"29.97df"``, ``"29.97ndf"``)."""
    text = str(value).strip().lower()
    for suffix, df in (("ndf", False), ("df", True)):
        if text.endswith(suffix):
            text = text[: -len(suffix)].strip()
            if drop_frame is not None and drop_frame != df:
                raise TimecodeError(f"frame rate {value!r} contradicts drop_frame={drop_frame}")
            drop_frame = df
            break
    if text.endswith(".0"):
        text = text[:-2]
    if text not in RATES:
        raise TimecodeError(f"frame rate must be one of {RATES_TEXT}, got {value!r}")
    nominal, fps = RATES[text]
    if drop_frame and text != "29.97":
        raise TimecodeError(f"drop-frame timecode exists only at 29.97 fps, not {text}")
    return FrameRate(text, nominal, fps, text == "29.97" and drop_frame is not False)


_TC = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2})$")


def _dropped_before(minutes: int) -> int:
    """Frame numbers skipped by drop-frame counting before minute ``minutes``."""
    return 2 * (minutes - minutes // 10)


def parse(text: str, rate: FrameRate) -> int:
    """Frames from 00:00:00:00 to ``text``; :class:`TimecodeError` saying what is wrong."""
    m = _TC.match(str(text).strip())
    if not m:
        raise TimecodeError(f"timecode must be HH:MM:SS:FF (HH:MM:SS;FF for drop-frame), got {text!r}")
    hh, mm, ss, sep, ff = int(m[1]), int(m[2]), int(m[3]), m[4], int(m[5])
    if hh > 23 or mm > 59 or ss > 59:
        raise TimecodeError(f"timecode {text!r}: hours must be 0-23, minutes and seconds 0-59")
    if ff >= rate.nominal:
        raise TimecodeError(f"timecode {text!r}: frames must be 0-{rate.nominal - 1} at {rate.label} fps")
    if sep in ";," and not rate.drop_frame:
        raise TimecodeError(f"timecode {text!r} is drop-frame (';') but the rate is {rate.label}")
    if rate.drop_frame and ss == 0 and ff < 2 and mm % 10:
        raise TimecodeError(f"timecode {text!r} does not exist in drop-frame counting: frames "
                            f"00 and 01 are skipped at the start of minute {mm}")
    minutes = hh * 60 + mm
    frames = (minutes * 60 + ss) * rate.nominal + ff
    return frames - _dropped_before(minutes) if rate.drop_frame else frames


def to_seconds(frames: int, rate: FrameRate) -> float:
    return float(Fraction(frames) / rate.fps)


def format_frames(frames: int, rate: FrameRate) -> str:
    """The timecode of a frame count, the inverse of :func:`parse`."""
    if frames < 0:
        raise TimecodeError(f"frame count must be >= 0, got {frames}")
    if rate.drop_frame:
        per_10min = 10 * 60 * 30 - 18
        tens, rest = divmod(frames, per_10min)
        extra = 0 if rest < 2 else 2 * ((rest - 2) // (60 * 30 - 2))
        frames += 18 * tens + extra
    ff = frames % rate.nominal
    total_s = frames // rate.nominal
    sep = ";" if rate.drop_frame else ":"
    return f"{total_s // 3600 % 24:02d}:{total_s // 60 % 60:02d}:{total_s % 60:02d}{sep}{ff:02d}"
