"""Orchestration styles: validated data files that say who plays what, how and when.

A style (``styles/*.json`` in this package, or a user's file of the same shape) sets, per role,
the General MIDI program in each quadrant of the mood plane, the pattern families it plays from
calm to driving (:mod:`.patterns`), its loudness and timing; the drum kit and the keys of its
voices; the humanisation (velocity spread, timing spread, swing); the cadences it likes; and the
order in which rising intensity brings the accompaniment in (``layers``, after ``base_layers``
that always play with the melody). Any problem is one :class:`~moodscore.errors.ConfigError`
line that names the field and what is allowed.

Public API: :class:`Style`, :class:`RoleStyle`, :class:`DrumStyle`, :class:`Humanise`,
:class:`QuadrantPrograms`, :func:`builtin`, :func:`names`, :func:`load_style`,
:func:`default_style`, ``ROLES``, ``ACCOMPANIMENT``, ``STYLE_DIR``.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import ConfigError
from .patterns import DRUM_FAMILIES, DRUM_VOICES, FAMILIES

STYLE_DIR = Path(__file__).with_name("styles")
ROLES = ("melody", "counter", "pad", "rhythm", "bass", "drums")
ACCOMPANIMENT = ROLES[1:]
Role = Literal["counter", "pad", "rhythm", "bass", "drums"]
Cadence = Literal["authentic", "half", "plagal", "deceptive"]
Program = int


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QuadrantPrograms(_Model):
    """A General MIDI program (0-127) for each quadrant of the mood plane."""

    q1: int = Field(ge=0, le=127)
    q2: int = Field(ge=0, le=127)
    q3: int = Field(ge=0, le=127)
    q4: int = Field(ge=0, le=127)


class RoleStyle(_Model):
    """How one pitched role plays; ``programs`` "template" takes the emotion template's."""

    programs: Literal["template"] | QuadrantPrograms = "template"
    patterns: tuple[str, ...] = Field(default=(), description="pattern families, calm to driving")
    velocity: float = Field(default=1.0, ge=0.2, le=1.6, description="times the mood's velocity")
    octave: int = Field(default=0, ge=-2, le=2, description="octaves above the role's register")
    timing: float = Field(default=0.0, ge=0.0, le=0.06, description="lay back, beats")


class DrumStyle(_Model):
    """The drum kit (bank 128 program on channel 10), its keys and its pattern families."""

    kit: int = Field(default=0, ge=0, le=127)
    patterns: tuple[str, ...] = Field(min_length=1)
    keys: dict[str, int] = Field(default_factory=dict, description="drum voice -> GM key")
    velocity: float = Field(default=1.0, ge=0.2, le=1.6)
    timing: float = Field(default=0.0, ge=0.0, le=0.06)

    @field_validator("patterns")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if name not in DRUM_FAMILIES:
                raise ValueError(f"unknown drum family {name!r}; allowed: {', '.join(DRUM_FAMILIES)}")
        return value

    @field_validator("keys")
    @classmethod
    def _voices(cls, value: dict[str, int]) -> dict[str, int]:
        for voice, key in value.items():
            if voice not in DRUM_VOICES:
                raise ValueError(f"unknown drum voice {voice!r}; allowed: {', '.join(DRUM_VOICES)}")
            if not 0 <= key <= 127:
                raise ValueError(f"key of {voice} must be 0..127, got {key}")
        return value


class Humanise(_Model):
    velocity_sd: float = Field(default=6.0, ge=0, le=20, description="velocity noise, MIDI units")
    timing_sd: float = Field(default=0.01, ge=0, le=0.05, description="onset noise, beats")
    swing: float = Field(default=0.0, ge=0, le=1, description="off-beat eighths late: 1 is triplet")


class Style(_Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$",
                      description="lower-case letters, digits, _ and -, up to 32")
    description: str = ""
    melody: RoleStyle = RoleStyle()
    counter: RoleStyle
    pad: RoleStyle
    rhythm: RoleStyle
    bass: RoleStyle
    drums: DrumStyle
    layers: tuple[Role, ...] = Field(description="the five accompaniment roles, in the order "
                                                 "rising intensity brings them in")
    base_layers: int = Field(default=2, ge=1, le=2, description="layers that play at intensity 0")
    humanise: Humanise = Humanise()
    cadences: tuple[Cadence, ...] = ("authentic", "half")

    @model_validator(mode="after")
    def _check(self) -> Style:
        if sorted(self.layers) != sorted(ACCOMPANIMENT):
            raise ValueError("layers must name each of " + ", ".join(ACCOMPANIMENT) + " once, got "
                             + ", ".join(self.layers))
        for role in ("counter", "pad", "rhythm", "bass"):
            settings: RoleStyle = getattr(self, role)
            for fam in settings.patterns:
                if fam not in FAMILIES.get(role, {"line": {}}):
                    allowed = ", ".join(FAMILIES.get(role, {"line": {}}))
                    raise ValueError(f"{role}.patterns: unknown family {fam!r}; allowed: {allowed}")
            if role != "counter" and not settings.patterns:
                raise ValueError(f"{role}.patterns: give at least one family of "
                                 + ", ".join(FAMILIES[role]))
        return self

    def program(self, role: str, quadrant: str, template_programs: dict[str, int]) -> int:
        """The program of ``role`` in ``quadrant`` (q1..q4); the drum kit for drums."""
        if role == "drums":
            return self.drums.kit
        settings: RoleStyle = getattr(self, role)
        if settings.programs == "template":
            return template_programs[role]
        return int(getattr(settings.programs, quadrant))


def _one_line(err: ValidationError) -> str:
    """pydantic's report as one line: ``field.path: what is allowed; ...``."""
    parts = []
    for e in err.errors(include_url=False):
        where = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where and not msg.startswith(where) else msg)
    return "; ".join(parts).replace("\n", " ")


def _parse(text: str, where: str) -> Style:
    try:
        return Style.model_validate_json(text)
    except ValidationError as err:
        raise ConfigError(f"style {where}: {_one_line(err)}") from err


@functools.lru_cache(maxsize=1)
def builtin() -> dict[str, Style]:
    """The styles shipped with moodscore, by name."""
    out: dict[str, Style] = {}
    for path in sorted(STYLE_DIR.glob("*.json")):
        style = _parse(path.read_text(encoding="utf-8"), path.name)
        out[style.name] = style
    return dict(sorted(out.items(), key=lambda kv: (kv[0] != "default", kv[0])))


def names() -> tuple[str, ...]:
    return tuple(builtin())


def default_style() -> Style:
    return builtin()["default"]


def load_style(spec: str | Path) -> Style:
    """A built-in style by name, or a style file (``.json``); else one line saying what is allowed."""
    text = str(spec)
    styles = builtin()
    if text in styles:
        return styles[text]
    path = Path(text)
    if path.suffix.lower() != ".json" and not path.is_file():
        raise ConfigError(f"style must be one of {', '.join(styles)} or a .json style file, got {text!r}")
    try:
        body = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise ConfigError(f"style {text}: cannot read ({reason}); give one of {', '.join(styles)} "
                          "or a .json style file") from err
    return _parse(body, text)
