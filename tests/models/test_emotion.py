from __future__ import annotations

import numpy as np

from moodscore.models.emotion import EmotionMix, emotion_score, mix_logits
from moodscore.models.sampling import sample
from moodscore.music import MODE_STEPS


def test_score_depends_on_the_candidate_pitch():
    score = emotion_score("min", -0.8, -0.8)
    assert score.shape == (128,)
    assert score[63] > score[64]  # Eb is in C minor, E is not
    assert score.std() > 0  # unlike the seed's scalar score, it survives the softmax


def test_mixing_steers_flat_logits_into_the_mode():
    rng = np.random.default_rng(0)
    flat = np.zeros(128)
    for mode in ("maj", "min"):
        logits = mix_logits(flat, emotion_score(mode, 0.0, 0.0), EmotionMix(alpha=4.0))
        draws = [sample(logits, rng) for _ in range(400)]
        in_scale = np.mean([d % 12 in MODE_STEPS[mode] for d in draws])
        assert in_scale > 0.9
    unmixed = [sample(flat, rng) for _ in range(400)]
    assert np.mean([d % 12 in MODE_STEPS["maj"] for d in unmixed]) < 0.75


def test_register_rises_with_arousal_and_valence():
    low = emotion_score("maj", -0.8, -0.8)
    high = emotion_score("maj", 0.8, 0.8)
    assert np.argmax(high) > np.argmax(low)
