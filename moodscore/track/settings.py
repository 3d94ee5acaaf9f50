"""The tracker's settings, validated once here with messages that say what is allowed.

Public API: :class:`TrackSettings` (``to_json``/``from_json`` round-trip), :func:`arg_type`
(argparse ``type=`` for a field).
"""
from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..errors import ConfigError

# field -> (low, high, what the unit is); low is exclusive where the tuple's flag says so
_LIMITS: dict[str, tuple[float, float, bool, str]] = {
    "rate_hz": (0.0, 100.0, True, "messages per second"),
    "smoothing_s": (0.0, 60.0, False, "seconds"),
    "hold_s": (0.0, 600.0, False, "seconds"),
    "decay_s": (0.0, 600.0, False, "seconds"),
    "scale_factor": (1.0, 2.0, True, "the Haar pyramid step"),
    "min_neighbors": (0, 50, False, "detections"),
    "min_face": (0.0, 1.0, True, "of the frame's shorter side"),
    "margin": (0.0, 1.0, False, "of the face box, each side"),
    "run_s": (0.0, 1e7, True, "seconds"),  # not a setting: how long ``moodscore track`` runs
}


@dataclass(frozen=True)
class TrackSettings:
    rate_hz: float = 10.0  # at most this many /mood/va a second
    smoothing_s: float = 0.5  # time constant of the exponential smoothing (0: none)
    hold_s: float = 2.0  # without a face, keep the last mood this long...
    decay_s: float = 3.0  # ...then fade to neutral with this time constant
    scale_factor: float = 1.1  # Haar cascade: image pyramid step (OpenCV's and fer's default)
    min_neighbors: int = 5  # Haar cascade: overlapping hits needed (OpenCV's and fer's default)
    min_face: float = 0.1  # smallest face, as a fraction of the frame's shorter side
    margin: float = 0.1  # context around the square face box, as a fraction of its side

    def __post_init__(self) -> None:
        for f in fields(self):
            check(f.name, getattr(self, f.name))

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TrackSettings:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"tracker settings are not JSON: {err}") from err
        if not isinstance(data, dict):
            raise ConfigError("tracker settings must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown tracker settings {unknown}; known: {sorted(known)}")
        return cls(**data)


def check(name: str, value: Any) -> None:
    low, high, open_low, unit = _LIMITS[name]
    integer = isinstance(low, int) and isinstance(high, int)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise ConfigError(f"{name} must be {'an integer' if integer else 'a number'}, got {value!r}")
    if not math.isfinite(value) or value > high or value < low or (open_low and value == low):
        lower = f"> {low:g}" if open_low else f">= {low:g}"
        raise ConfigError(f"{name} must be {lower} and <= {high:g} ({unit}), got {value}")


def arg_type(name: str, option: str) -> Callable[[str], float]:
    """An argparse ``type=`` that parses a number and checks it like the field ``name``."""
    integer = isinstance(_LIMITS[name][0], int)

    def parse(text: str) -> float:
        try:
            value: float = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} must be a number, got {text!r}") from None
        try:
            check(name, value)
        except ConfigError as err:
            raise argparse.ArgumentTypeError(str(err).replace(name, option, 1)) from None
        return value
    return parse
