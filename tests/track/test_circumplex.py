from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moodscore.track.circumplex import COORDINATES, to_valence_arousal
from moodscore.track.expression import LABELS


def test_table_covers_the_model_classes_in_order_and_lies_in_range() -> None:
    assert tuple(COORDINATES) == LABELS
    assert all(-1 <= v <= 1 and -1 <= a <= 1 for v, a in COORDINATES.values())
    assert COORDINATES["neutral"] == (0.0, 0.0)


def test_quadrants_follow_the_circumplex() -> None:
    v, a = COORDINATES["happy"]
    assert v > 0 and a > 0
    v, a = COORDINATES["sad"]
    assert v < 0 and a < 0
    for label in ("angry", "fear", "disgust"):
        v, a = COORDINATES[label]
        assert v < 0 and a > 0, label
    assert COORDINATES["surprise"][1] > COORDINATES["happy"][1]  # the most aroused of the positive


@pytest.mark.parametrize("label", LABELS)
def test_a_certain_face_lands_on_its_class(label: str) -> None:
    one_hot = [1.0 if other == label else 0.0 for other in LABELS]
    assert to_valence_arousal(one_hot) == pytest.approx(COORDINATES[label])


def test_probabilities_weight_the_points() -> None:
    probs = [0.0] * 7
    probs[LABELS.index("happy")], probs[LABELS.index("sad")] = 0.75, 0.25
    v, a = to_valence_arousal(probs)  # type: ignore[misc]
    assert v == pytest.approx(0.75 * 0.81 + 0.25 * -0.63)
    assert a == pytest.approx(0.75 * 0.51 + 0.25 * -0.27)
    half_neutral = [0.0] * 7
    half_neutral[LABELS.index("happy")] = half_neutral[LABELS.index("neutral")] = 0.5
    assert to_valence_arousal(half_neutral) == pytest.approx((0.405, 0.255))


@pytest.mark.parametrize("row", [[0.5] * 6, [float("nan")] + [0.1] * 6, [-0.1] + [0.2] * 6,
                                 [0.0] * 7, [float("inf")] * 7])
def test_unusable_rows_give_no_mood(row: list[float]) -> None:
    assert to_valence_arousal(row) is None


@given(st.lists(st.floats(0, 1e6), min_size=7, max_size=7).filter(lambda r: sum(r) > 0))
def test_any_usable_row_gives_a_finite_mood_in_range(row: list[float]) -> None:
    mood = to_valence_arousal(row)
    assert mood is not None
    assert all(math.isfinite(x) and -1 <= x <= 1 for x in mood)
