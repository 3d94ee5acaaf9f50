"""Moods as a cue sheet writes them: a valence/arousal pair, a preset name, or free text.

Presets are named points of Russell's circumplex, placed after the positions of affect words in
Russell (1980) and Scherer's (2005) map, scaled to [-1, 1]. Free text goes through the NRC
Emotion Lexicon (Mohammad & Turney 2013, shipped by the ``nrclex`` package): a word that is a
preset name votes with the preset's point, every other word the lexicon knows votes with its emotions, each emotion sits at its circumplex point (:data:`EMOTION_VA`), and
``positive``/``negative`` pull the valence. The lexicon has no arousal of its own, so a text
whose words carry only ``positive`` (such as "calm") lands near neutral arousal; a preset name
says the same more exactly, and is preferred when the text is one.

Public API: :func:`resolve`, :func:`from_text`, ``PRESETS``, ``EMOTION_VA``, :class:`MoodError`.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

from ..errors import ConfigError

PRESETS: dict[str, tuple[float, float]] = {
    "happy": (0.8, 0.5), "joyful": (0.85, 0.6), "excited": (0.6, 0.85),
    "triumphant": (0.75, 0.8), "heroic": (0.6, 0.7), "playful": (0.7, 0.4),
    "hopeful": (0.6, 0.1), "romantic": (0.7, -0.2), "tender": (0.6, -0.45),
    "peaceful": (0.65, -0.7), "calm": (0.5, -0.75), "serene": (0.55, -0.8),
    "nostalgic": (0.1, -0.5), "mysterious": (-0.2, 0.2), "eerie": (-0.5, 0.1),
    "sad": (-0.7, -0.5), "melancholy": (-0.5, -0.55), "grief": (-0.85, -0.4),
    "lonely": (-0.6, -0.6), "bored": (-0.35, -0.8), "tense": (-0.5, 0.65),
    "suspense": (-0.4, 0.5), "dread": (-0.7, 0.45), "fear": (-0.8, 0.75),
    "angry": (-0.75, 0.8), "furious": (-0.85, 0.9), "chase": (-0.3, 0.9),
    "action": (0.1, 0.9), "neutral": (0.0, 0.0),
}

# The NRC lexicon's eight emotions on the circumplex (Plutchik's wheel laid on Russell's plane).
EMOTION_VA: dict[str, tuple[float, float]] = {
    "joy": (0.8, 0.45), "trust": (0.55, -0.3), "anticipation": (0.25, 0.45),
    "surprise": (0.2, 0.75), "fear": (-0.7, 0.65), "anger": (-0.7, 0.75),
    "disgust": (-0.7, 0.3), "sadness": (-0.7, -0.5),
}
POLARITY = 0.6  # how far "positive"/"negative" pull the valence


class MoodError(ConfigError):
    """A mood that cannot be read; the text says what is allowed."""


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, list[str]]:
    try:
        data = resources.files("nrclex.data").joinpath("nrc_en.json").read_text("utf-8")
    except ModuleNotFoundError:
        raise MoodError("free-text moods need the NRC lexicon: pip install 'moodscore[film]' "
                        "(or give valence/arousal, or a preset: " + ", ".join(PRESETS) + ")") from None
    return json.loads(data)  # type: ignore[no-any-return]


def _forms(word: str) -> list[str]:
    """The word and plain English inflections stripped (the lexicon holds lemmas)."""
    forms = [word]
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ied", "y"), ("ed", ""), ("ed", "e"),
                         ("ing", ""), ("ing", "e"), ("ly", ""), ("ness", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            forms.append(word[: -len(suffix)] + repl)
    return forms


def _word_point(tags: list[str]) -> tuple[float, float] | None:
    """One lexicon entry's circumplex point: the mean of its emotions' points, its valence pulled
    toward ``positive``/``negative``; None for a word with no affect."""
    points = [EMOTION_VA[t] for t in tags if t in EMOTION_VA]
    polarity = ("positive" in tags) - ("negative" in tags)
    if not points and not polarity:
        return None
    if not points:
        return POLARITY * polarity, 0.0
    v = sum(p[0] for p in points) / len(points)
    a = sum(p[1] for p in points) / len(points)
    return (v * (1 - POLARITY) + POLARITY * polarity if polarity else v), a


def from_text(text: str) -> tuple[float, float, list[str]]:
    """(valence, arousal, the words that counted) for free text, each word that carries affect
    weighing the same; :class:`MoodError` if none does."""
    lexicon = _lexicon()
    points, matched = [], []
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in PRESETS:  # curated circumplex points beat the lexicon's categories
            point: tuple[float, float] | None = PRESETS[word]
        else:
            form = next((f for f in _forms(word) if f in lexicon), None)
            point = _word_point(lexicon[form]) if form is not None else None
        if point is not None:
            points.append(point)
            matched.append(word)
    if not points:
        raise MoodError(f"no word of {text!r} carries an emotion in the NRC lexicon; write other "
                        "words, a preset (" + ", ".join(PRESETS) + "), or valence and arousal")
    v = sum(p[0] for p in points) / len(points)
    a = sum(p[1] for p in points) / len(points)
    return max(-1.0, min(1.0, v)), max(-1.0, min(1.0, a)), matched


def resolve(mood: object) -> tuple[float, float, str]:
    """(valence, arousal, how it was read) from ``[v, a]``, ``{"valence":..,"arousal":..}``, a
    preset name or free text."""
    if isinstance(mood, dict):
        if set(mood) != {"valence", "arousal"}:
            raise MoodError(f"a mood object has exactly 'valence' and 'arousal', got {sorted(mood)}")
        mood = [mood["valence"], mood["arousal"]]
    if isinstance(mood, (list, tuple)):
        if len(mood) != 2 or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                     and -1 <= x <= 1 for x in mood):
            raise MoodError(f"valence and arousal must be two numbers in [-1, 1], got {mood!r}")
        return float(mood[0]), float(mood[1]), "valence/arousal"
    if not isinstance(mood, str) or not mood.strip():
        raise MoodError("mood must be valence/arousal, a preset name or some words, got "
                        f"{mood!r}")
    key = mood.strip().lower()
    if key in PRESETS:
        v, a = PRESETS[key]
        return v, a, f"preset {key}"
    v, a, words = from_text(mood)
    return v, a, "text: " + " ".join(words)
