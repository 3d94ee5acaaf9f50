from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from moodscore.errors import ConfigError
from moodscore.models.sampling import SamplingSettings, sample, sample_among, sample_rows


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.1, 3.0), st.integers(0, 20), st.floats(0.05, 1.0))
def test_masked_tokens_are_never_drawn(seed, temperature, top_k, top_p):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=50) * 3
    logits[rng.random(50) < 0.7] = -np.inf
    if not np.isfinite(logits).any():
        logits[7] = 0.0
    i = sample(logits, rng, SamplingSettings(temperature, top_k, top_p))
    assert np.isfinite(logits[i])


def test_top_k_one_is_greedy_and_seed_repeats():
    logits = np.array([0.1, 2.0, 1.9, -1.0])
    assert {sample(logits, np.random.default_rng(s), SamplingSettings(top_k=1)) for s in range(20)} == {1}
    a = [sample(logits, np.random.default_rng(5)) for _ in range(3)]
    assert len(set(a)) == 1


def test_top_p_cuts_the_tail():
    logits = np.log(np.array([0.6, 0.3, 0.05, 0.05]))
    draws = {sample(logits, np.random.default_rng(s), SamplingSettings(top_p=0.85)) for s in range(300)}
    assert draws == {0, 1}


def test_bad_settings():
    with pytest.raises(ConfigError, match="temperature"):
        SamplingSettings(temperature=0)
    with pytest.raises(ConfigError, match="top_p"):
        SamplingSettings(top_p=1.5)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.1, 3.0), st.integers(0, 20), st.floats(0.05, 1.0))
def test_sampling_among_allowed_indices_is_sampling_the_masked_logits(seed, temperature, top_k, top_p):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=80) * 3
    logits[rng.random(80) < 0.05] = -np.inf  # the model's own -inf, inside the allowed set
    mask = rng.random(80) < 0.5
    mask[3] = True
    logits[3] = 1.0
    s = SamplingSettings(temperature, top_k, top_p)
    masked = np.where(mask, logits, -np.inf)
    draws = [sample(masked, np.random.default_rng(seed), s), sample_among(logits, np.flatnonzero(mask),
                                                                          np.random.default_rng(seed), s)]
    assert draws[0] == draws[1]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.one_of(st.just(1.0), st.floats(0.1, 3.0)), st.integers(0, 20),
       st.sampled_from([0.05, 0.5, 0.95, 1.0]))
def test_sampling_rows_at_once_draws_what_each_row_draws_alone(seed, temperature, top_k, top_p):
    rng = np.random.default_rng(seed)
    n, v = 9, 60
    logits = (rng.normal(size=(n, v)) * 3).astype(np.float32)
    logits[rng.random((n, v)) < 0.05] = -np.inf  # the model's own -inf, inside the allowed set
    logits[:, 5] = logits[:, 6] = 0.5  # ties: the lower index ranks first, in both
    logits[:, 7], logits[:, 8] = -0.0, 0.0  # equal too
    allowed = rng.random((n, v)) < rng.uniform(0.05, 0.9, (n, 1))
    allowed[:, 5] = allowed[:, 6] = True
    allowed[0] = False
    allowed[0, 11], logits[0, 11] = True, 1.0  # one candidate only
    s = SamplingSettings(temperature, top_k, top_p)
    alone = [sample_among(logits[j], np.flatnonzero(allowed[j]), np.random.default_rng(seed + j), s)
             for j in range(n)]
    u = np.array([np.random.default_rng(seed + j).random() for j in range(n)])
    assert sample_rows(logits, allowed, u, s).tolist() == alone
    assert alone[0] == 11


def test_the_integer_key_ranking_is_the_stable_sort_of_the_floats():
    from moodscore.models.sampling import _descending

    rng = np.random.default_rng(3)
    z = (rng.normal(size=(16, 300)) * rng.choice([1e-30, 1e-3, 1.0, 1e30], size=(16, 1))).astype(np.float32)
    z[rng.random(z.shape) < 0.3] = -np.inf
    z[:, 40:50] = z[:, 60:70]  # ties
    z[:, 0], z[:, 1], z[:, 2] = -0.0, 0.0, np.float32(1e-45)  # signed zeros and a subnormal
    assert np.array_equal(_descending(z), np.argsort(-z.astype(np.float64), axis=1, kind="stable"))
