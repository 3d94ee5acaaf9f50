"""The harmony planner's knowledge as validated data: chord vocabulary per mode and mood,
progression templates, cadences, harmonic rhythm and colour, read from
``data/progressions.json``.

Public API: :class:`HarmonyData`, :class:`VocabularyEntry`, :class:`Progression`,
:class:`CadenceChords`, :class:`CadenceSpec`, :class:`Suspension`, :class:`HarmonicRhythm`,
:func:`load_harmony`, ``CADENCES``, ``DATA_PATH``.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import ConfigError
from ..music import MODE_STEPS
from .chords import parse_symbol

CADENCES = ("authentic", "half", "plagal", "deceptive")
DATA_PATH = Path(__file__).parent / "data" / "progressions.json"
MODE_FALLBACK = {"loc": "phr"}  # modes without chords of their own borrow a neighbour's


_Range = tuple[float, float]


def _check_range(value: _Range) -> _Range:
    lo, hi = value
    if not -1.0 <= lo <= hi <= 1.0:
        raise ValueError(f"a mood range is [low, high] inside [-1, 1], got {list(value)}")
    return value


def _check_modes(modes: list[str]) -> list[str]:
    bad = [m for m in modes if m not in MODE_STEPS]
    if bad:
        raise ValueError(f"modes must be among {', '.join(MODE_STEPS)}, got {bad}")
    return modes


def _check_symbols(symbols: list[str]) -> list[str]:
    for s in symbols:
        try:
            parse_symbol(s)
        except ConfigError as err:
            raise ValueError(str(err)) from err
    return symbols


class _MoodRanged(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    modes: list[str]
    valence: _Range = (-1.0, 1.0)
    arousal: _Range = (-1.0, 1.0)

    _modes = field_validator("modes")(_check_modes)
    _ranges = field_validator("valence", "arousal")(_check_range)

    def suits(self, mode: str, valence: float, arousal: float) -> bool:
        return (mode in self.modes and self.valence[0] <= valence <= self.valence[1]
                and self.arousal[0] <= arousal <= self.arousal[1])


class VocabularyEntry(_MoodRanged):
    """A chord the planner may use in ``modes`` when the mood is in range; ``prior`` is added
    to its score (sevenths and colour chords slightly negative: the melody must ask for them)."""

    symbol: str
    prior: float = Field(default=0.0, ge=-2.0, le=2.0)

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, value: str) -> str:
        return _check_symbols([value])[0]


class Progression(_MoodRanged):
    """A progression template (one chord per slot, repeated over the phrase)."""

    name: str
    chords: list[str] = Field(min_length=1)
    weight: float = Field(default=1.0, gt=0)

    _chords = field_validator("chords")(_check_symbols)


class CadenceChords(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    penultimate: list[str] = Field(min_length=1)
    final: list[str] = Field(min_length=1)

    _symbols = field_validator("penultimate", "final")(_check_symbols)


class CadenceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    major: CadenceChords  # for maj, mix, lyd
    minor: CadenceChords  # for dor, min, phr, loc


class Suspension(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    arousal: _Range = (-1.0, 0.4)
    chance: float = Field(default=0.5, ge=0, le=1)

    _ranges = field_validator("arousal")(_check_range)


class HarmonicRhythm(BaseModel):
    """Chord changes per bar at arousal -1, 0 and +1 (interpolated geometrically between)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    calm: float = Field(default=0.5, gt=0, le=4)
    neutral: float = Field(default=1.0, gt=0, le=4)
    driving: float = Field(default=2.0, gt=0, le=4)


class HarmonyData(BaseModel):
    """Everything the planner knows, as read from ``data/progressions.json``.

    ``valence_colour``: at valence v a major chord scores ``+colour * (v - centre)`` and a minor
    or diminished one ``-colour * (v - centre)``, ``centre`` being the mode's entry in
    ``valence_colour_centre`` (0 if none): inside the valence band that one mode covers, the
    harmony brightens as valence rises (darker chords low in the band, brighter high in it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    comment: str = ""
    valence_colour: float = Field(default=0.3, ge=0, le=2)
    valence_colour_centre: dict[str, Annotated[float, Field(ge=-1, le=1)]] = Field(default_factory=dict)

    @field_validator("valence_colour_centre")
    @classmethod
    def _centre_modes(cls, value: dict[str, float]) -> dict[str, float]:
        _check_modes(list(value))
        return value
    harmonic_rhythm: HarmonicRhythm = HarmonicRhythm()
    vocabulary: list[VocabularyEntry] = Field(min_length=1)
    progressions: list[Progression] = Field(min_length=1)
    cadences: dict[str, CadenceSpec]
    suspension: Suspension = Suspension()

    @model_validator(mode="after")
    def _complete(self) -> HarmonyData:
        missing = [c for c in CADENCES if c not in self.cadences]
        extra = [c for c in self.cadences if c not in CADENCES]
        if missing or extra:
            raise ValueError(f"cadences must be exactly {', '.join(CADENCES)}; "
                             f"missing {missing}, unknown {extra}")
        for mode in MODE_STEPS:
            m = MODE_FALLBACK.get(mode, mode)
            if not any(m in e.modes for e in self.vocabulary):
                raise ValueError(f"vocabulary has no chord for mode {m!r}")
        return self


@lru_cache(maxsize=4)
def load_harmony(path: Path = DATA_PATH) -> HarmonyData:
    """Read and validate the harmony data; any problem is one :class:`ConfigError` line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"harmony data {path}: cannot read ({err.strerror or err})") from err
    try:
        return HarmonyData.model_validate_json(text)
    except ValidationError as err:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'document'}: {e['msg']}"
                          for e in err.errors())
        raise ConfigError(f"harmony data {path}: {where}".replace("\n", " ")) from err
