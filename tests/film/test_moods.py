from __future__ import annotations

import pytest

from moodscore.film.moods import PRESETS, MoodError, from_text, resolve


def test_numbers_and_presets() -> None:
    assert resolve([0.5, -0.25])[:2] == (0.5, -0.25)
    assert resolve({"valence": -1, "arousal": 1})[:2] == (-1.0, 1.0)
    assert resolve("Calm")[:2] == PRESETS["calm"]
    with pytest.raises(MoodError, match=r"two numbers in \[-1, 1\]"):
        resolve([1.5, 0])
    with pytest.raises(MoodError, match="exactly 'valence' and 'arousal'"):
        resolve({"valence": 0.1})


@pytest.mark.parametrize("text,quadrant", [
    ("a desperate chase through the storm", (-1, 1)),  # tense: unpleasant, aroused
    ("happy birthday party with friends", (1, 1)),
    ("funeral and grief", (-1, -1)),
    ("a gentle, peaceful and serene lake", (1, -1)),
])
def test_free_text_lands_in_the_quadrant_a_reader_would_put_it(text: str, quadrant: tuple[int, int]) -> None:
    v, a, words = from_text(text)
    assert words, text
    assert (v > 0, a > 0) == (quadrant[0] > 0, quadrant[1] > 0), (text, v, a, words)


def test_text_with_no_emotion_word_is_refused_naming_the_alternatives() -> None:
    with pytest.raises(MoodError, match="preset .*calm.*valence and arousal"):
        resolve("xyzzy plugh")
