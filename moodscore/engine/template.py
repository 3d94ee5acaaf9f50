"""The emotion control template: from a valence/arousal point to tempo, mode, register and loudness.

After EMusicGen's per-quadrant control template (Q1 = V+A+, Q2 = V-A+, Q3 = V-A-, Q4 = V+A-),
made continuous over the VA plane: each quadrant's settings sit at its corner (V, A) = (±1, ±1)
and every numeric control is the bilinear blend of the four corners, so a slowly drifting emotion
never makes the music jump. The one deliberate discontinuity is the mode, which is a scale and
steps by one scale degree at each border (see :func:`controls`).

Public API: :class:`QuadrantSettings`, :class:`Template`, :func:`load_preset`,
:class:`Controls`, :func:`controls`, :func:`template_table`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ConfigError

# Corner of each quadrant in the VA plane.
_CORNERS: dict[str, tuple[int, int]] = {"q1": (1, 1), "q2": (-1, 1), "q3": (-1, -1), "q4": (1, -1)}


class Programs(BaseModel):
    """General MIDI programs (0-127) of the parts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    melody: int = Field(default=0, ge=0, le=127)
    chords: int = Field(default=48, ge=0, le=127)
    bass: int = Field(default=32, ge=0, le=127)
    stinger: int = Field(default=56, ge=0, le=127)


class QuadrantSettings(BaseModel):
    """The controls at one corner of the VA plane."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tempo_min: float = Field(ge=20, le=300, description="slowest tempo, BPM")
    programs: Programs = Field(default_factory=lambda: Programs(),
                               description="General MIDI programs while the mood is in this quadrant")
    tempo_max: float = Field(ge=20, le=300, description="fastest tempo, BPM")
    octave_shift: int = Field(ge=-36, le=36, description="register shift, semitones")
    volume_db: float = Field(ge=-40, le=20, description="gain relative to base_velocity, dB")

    @model_validator(mode="after")
    def _tempo_range(self) -> QuadrantSettings:
        if self.tempo_min > self.tempo_max:
            raise ValueError(
                f"tempo_min must be <= tempo_max, got {self.tempo_min:g} > {self.tempo_max:g}"
            )
        return self

    @property
    def tempo_mid(self) -> float:
        return (self.tempo_min + self.tempo_max) / 2


_Q = QuadrantSettings
_P = Programs


class Template(BaseModel):
    """EMusicGen's four quadrant settings plus the loudness and key everything is relative to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # programs: bright piano and electric piano; overdriven guitars and a brass section;
    # clarinet and slow strings; flute, strings and French horn
    q1: QuadrantSettings = _Q(tempo_min=160, tempo_max=184, octave_shift=0, volume_db=5,
                              programs=_P(melody=0, chords=4, bass=33, stinger=56))
    q2: QuadrantSettings = _Q(tempo_min=184, tempo_max=228, octave_shift=-24, volume_db=10,
                              programs=_P(melody=29, chords=30, bass=34, stinger=61))
    q3: QuadrantSettings = _Q(tempo_min=40, tempo_max=69, octave_shift=-12, volume_db=0,
                              programs=_P(melody=71, chords=49, bass=32, stinger=57))
    q4: QuadrantSettings = _Q(tempo_min=40, tempo_max=69, octave_shift=0, volume_db=0,
                              programs=_P(melody=73, chords=48, bass=32, stinger=60))
    base_velocity: int = Field(default=70, ge=1, le=127, description="MIDI velocity at 0 dB")
    tonic: int = Field(default=0, ge=0, le=11, description="pitch class generation is put in")
    drums_above: float = Field(default=0.3, ge=-1, le=1.01,
                               description="arousal above which drums play while no intensity is "
                                           "sent (above 1: only when an intensity asks)")


def _compact(err: ValidationError) -> str:
    """pydantic's multi-line report as one line: ``field.path: what is allowed; ...``."""
    parts = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "document"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts).replace("\n", " ")


def load_preset(path: str | Path) -> Template:
    """Read a :class:`Template` from a JSON file; any problem is one :class:`ConfigError` line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise ConfigError(f"preset {path}: cannot read ({reason})") from err
    try:
        return Template.model_validate_json(text)
    except ValidationError as err:
        raise ConfigError(f"preset {path}: {_compact(err)}") from err


@dataclass(frozen=True)
class Controls:
    """What the template asks of the music at one VA point."""

    tempo_bpm: float
    mode: str  # a key of music.MODE_STEPS
    brightness: float  # in [-1, 1]; picks the mode
    octave_shift: float  # semitones, continuous
    octave_shift_semitones: int  # octave_shift rounded to whole octaves, so notes stay in key
    volume_db: float
    velocity: int  # 1..127
    valence: float
    arousal: float
    programs: Programs = Programs()  # of the quadrant the point is in
    drums: bool = False


def _check_axis(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number in [-1, 1], got {value!r}")
    if not math.isfinite(value) or not -1.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be finite and in [-1, 1], got {value!r}")
    return float(value)


def _bilinear(valence: float, arousal: float, corner_values: dict[str, float]) -> float:
    total = 0.0
    for name, (cv, ca) in _CORNERS.items():
        weight = (1 + cv * valence) * (1 + ca * arousal) / 4  # weights sum to 1
        total += weight * corner_values[name]
    return total


def _mode_for(brightness: float) -> str:
    # major -> mixolydian -> dorian -> minor: each border lowers exactly one scale degree.
    if brightness >= 1 / 3:
        return "maj"
    if brightness >= 0:
        return "mix"
    if brightness >= -1 / 3:
        return "dor"
    return "min"


def velocity_for(volume_db: float, base_velocity: int) -> int:
    """MIDI velocity for a gain in dB, by the GM/DLS curve: gain = 40*log10(v/127)."""
    return max(1, min(127, round(base_velocity * 10 ** (volume_db / 40))))


def controls(valence: float, arousal: float, template: Template | None = None) -> Controls:
    """The controls at (valence, arousal); both must be finite and in [-1, 1].

    - Tempo: the midpoint and half-width of each quadrant's range are blended bilinearly, then
      ``tempo = mid + half * arousal``. So the high-arousal corners play their quadrant's
      ``tempo_max``, the low-arousal corners its ``tempo_min``, and along any line of constant
      valence tempo rises with arousal (for the default template).
    - Octave shift and volume: bilinear blends of the corner values; the shift is also given
      rounded to the nearest whole octave (ties toward the higher octave).
    - Mode: brightness is the valence; b >= 1/3 major, 0 <= b < 1/3 mixolydian,
      -1/3 <= b < 0 dorian, b < -1/3 minor. This is the only control that steps.
    - Velocity: ``base_velocity * 10**(volume_db/40)``, rounded and clamped to 1..127.
    """
    t = template if template is not None else Template()
    v = _check_axis("valence", valence)
    a = _check_axis("arousal", arousal)
    quads = {name: getattr(t, name) for name in _CORNERS}

    mid = _bilinear(v, a, {k: q.tempo_mid for k, q in quads.items()})
    half = _bilinear(v, a, {k: (q.tempo_max - q.tempo_min) / 2 for k, q in quads.items()})
    shift = _bilinear(v, a, {k: float(q.octave_shift) for k, q in quads.items()})
    volume = _bilinear(v, a, {k: q.volume_db for k, q in quads.items()})

    return Controls(
        tempo_bpm=mid + half * a,
        mode=_mode_for(v),
        brightness=v,
        octave_shift=shift,
        octave_shift_semitones=12 * math.floor(shift / 12 + 0.5),
        volume_db=volume,
        velocity=velocity_for(volume, t.base_velocity),
        valence=v,
        arousal=a,
        programs=quads[_quadrant_of(v, a)].programs,
        drums=a > t.drums_above,
    )


def _quadrant_of(valence: float, arousal: float) -> str:
    if valence >= 0:
        return "q1" if arousal >= 0 else "q4"
    return "q2" if arousal >= 0 else "q3"


def template_table(template: Template | None = None) -> str:
    """A Markdown table of the controls at the four corners and the centre, for the README."""
    t = template if template is not None else Template()
    rows = [
        ("Q1 (V+, A+)", 1.0, 1.0),
        ("Q2 (V-, A+)", -1.0, 1.0),
        ("Q3 (V-, A-)", -1.0, -1.0),
        ("Q4 (V+, A-)", 1.0, -1.0),
        ("centre", 0.0, 0.0),
    ]
    lines = [
        "| point | V | A | tempo (BPM) | mode | octave shift, st (applied) | volume (dB) "
        "| velocity |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for label, v, a in rows:
        c = controls(v, a, t)
        lines.append(
            f"| {label} | {v:+.0f} | {a:+.0f} | {c.tempo_bpm:.1f} | {c.mode} "
            f"| {c.octave_shift:+.1f} ({c.octave_shift_semitones:+d}) "
            f"| {c.volume_db:+.1f} | {c.velocity} |"
        )
    return "\n".join(lines) + "\n"
