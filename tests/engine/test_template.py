"""The emotion control template: corners, continuity, mode steps, validation, presets."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from moodscore.engine.template import (
    Controls,
    QuadrantSettings,
    Template,
    controls,
    load_preset,
    template_table,
)
from moodscore.errors import ConfigError
from moodscore.music import MODE_STEPS

# EMusicGen's per-quadrant template: (tempo range, mode, octave shift, volume dB).
EMUSICGEN = {
    (1, 1): ((160, 184), "maj", 0, 5),
    (-1, 1): ((184, 228), "min", -24, 10),
    (-1, -1): ((40, 69), "min", -12, 0),
    (1, -1): ((40, 69), "maj", 0, 0),
}
axis = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)


@pytest.mark.parametrize(("corner", "expected"), EMUSICGEN.items())
def test_corners_are_emusicgen_quadrants(corner, expected):
    (lo, hi), mode, shift, volume = expected
    v, a = corner
    c = controls(v, a)
    # Documented: high-arousal corners play the top of their range, low-arousal ones the bottom.
    assert c.tempo_bpm == pytest.approx(hi if a > 0 else lo)
    assert c.mode == mode
    assert c.octave_shift == pytest.approx(shift)
    assert c.octave_shift_semitones == shift
    assert c.volume_db == pytest.approx(volume)
    assert c.velocity == min(127, round(70 * 10 ** (volume / 40)))


@pytest.mark.parametrize(("v", "upper", "lower"), [(1.0, (160, 184), (40, 69)),
                                                    (-1.0, (184, 228), (40, 69))])  # fmt: skip
def test_neutral_arousal_is_mean_of_quadrant_midpoints(v, upper, lower):
    # At A = 0 the arousal spread vanishes: the tempo is the blend of the two range midpoints.
    assert controls(v, 0.0).tempo_bpm == pytest.approx((sum(upper) / 2 + sum(lower) / 2) / 2)


def test_defaults_match_emusicgen():
    t = Template()
    assert (t.q1.tempo_min, t.q1.tempo_max, t.q1.octave_shift, t.q1.volume_db) == (160, 184, 0, 5)
    q2 = (t.q2.tempo_min, t.q2.tempo_max, t.q2.octave_shift, t.q2.volume_db)
    assert q2 == (184, 228, -24, 10)
    assert (t.q3.tempo_min, t.q3.tempo_max, t.q3.octave_shift, t.q3.volume_db) == (40, 69, -12, 0)
    assert (t.q4.tempo_min, t.q4.tempo_max, t.q4.octave_shift, t.q4.volume_db) == (40, 69, 0, 0)
    assert t.base_velocity == 70 and t.tonic == 0


def test_continuous_on_a_fine_grid():
    step = 1e-3
    grid = np.linspace(-1.0, 1.0, 81)
    worst = {"tempo": 0.0, "shift": 0.0, "volume": 0.0}
    for v in grid:
        for a in grid:
            here = controls(float(v), float(a))
            for dv, da in ((step, 0.0), (0.0, step)):
                nv, na = min(1.0, v + dv), min(1.0, a + da)
                there = controls(float(nv), float(na))
                worst["tempo"] = max(worst["tempo"], abs(there.tempo_bpm - here.tempo_bpm))
                worst["shift"] = max(worst["shift"], abs(there.octave_shift - here.octave_shift))
                worst["volume"] = max(worst["volume"], abs(there.volume_db - here.volume_db))
    # Lipschitz bounds: tempo spans < 200 BPM over a distance of 2, so < 0.5 BPM per 1e-3.
    assert worst["tempo"] < 0.5
    assert worst["shift"] < 0.05
    assert worst["volume"] < 0.05


@pytest.mark.parametrize("axis_value", [0.0, 1 / 3, -1 / 3])
def test_no_jump_across_the_axes(axis_value):
    # The quadrant borders V = 0 and A = 0: numeric controls agree on both sides.
    eps = 1e-9
    for other in np.linspace(-1, 1, 21):
        for make in (lambda x: (x, float(other)), lambda x: (float(other), x)):
            left, right = controls(*make(axis_value - eps)), controls(*make(axis_value + eps))
            assert left.tempo_bpm == pytest.approx(right.tempo_bpm, abs=1e-6)
            assert left.volume_db == pytest.approx(right.volume_db, abs=1e-6)
            assert left.octave_shift == pytest.approx(right.octave_shift, abs=1e-6)


@pytest.mark.parametrize("v", [-0.5, 0.5])
def test_tempo_rises_with_arousal(v):
    tempos = [controls(v, float(a)).tempo_bpm for a in np.linspace(-1, 1, 201)]
    assert all(b > a for a, b in zip(tempos, tempos[1:]))


@pytest.mark.parametrize(
    ("v", "mode"),
    [(1.0, "maj"), (1 / 3, "maj"), (0.3, "mix"), (0.0, "mix"), (-0.01, "dor"),
     (-1 / 3, "dor"), (-0.34, "min"), (-1.0, "min")],
)  # fmt: skip
def test_mode_follows_brightness(v, mode):
    c = controls(v, 0.2)
    assert c.mode == mode and c.mode in MODE_STEPS
    assert c.brightness == v


def test_mode_borders_change_one_scale_degree():
    order = ["maj", "mix", "dor", "min"]
    for brighter, darker in zip(order, order[1:]):
        diff = [a != b for a, b in zip(MODE_STEPS[brighter], MODE_STEPS[darker])]
        assert sum(diff) == 1


@given(axis, axis)
def test_controls_stay_in_range(v, a):
    c = controls(v, a)
    assert isinstance(c, Controls)
    assert 40 <= c.tempo_bpm <= 228
    assert 1 <= c.velocity <= 127
    assert c.octave_shift_semitones % 12 == 0
    assert abs(c.octave_shift_semitones - c.octave_shift) <= 6
    assert (c.valence, c.arousal) == (v, a)


@pytest.mark.parametrize(
    ("v", "a"),
    [(1.5, 0.0), (0.0, -1.01), (math.nan, 0.0), (0.0, math.inf), ("0.5", 0.0), (None, 0.0),
     (True, 0.0)],
)  # fmt: skip
def test_invalid_inputs_raise_config_error(v, a):
    with pytest.raises(ConfigError, match=r"\[-1, 1\]"):
        controls(v, a)


def test_velocity_curve_and_custom_template():
    loud = Template(base_velocity=100, q1=QuadrantSettings(
        tempo_min=100, tempo_max=120, octave_shift=12, volume_db=20))  # fmt: skip
    c = controls(1.0, 1.0, loud)
    assert c.velocity == 127  # 100 * 10**0.5 clipped
    assert c.octave_shift_semitones == 12
    assert controls(-1, -1, Template(base_velocity=127)).velocity == 127
    soft = Template(q3=QuadrantSettings(tempo_min=40, tempo_max=60, octave_shift=0, volume_db=-40))
    assert controls(-1, -1, soft).velocity == round(70 * 0.1)


def test_octave_shift_rounds_to_whole_octaves():
    assert controls(0.0, 0.0).octave_shift == pytest.approx(-9.0)
    assert controls(0.0, 0.0).octave_shift_semitones == -12
    assert controls(1.0, 0.0).octave_shift_semitones == 0


def test_validation_says_what_is_allowed():
    with pytest.raises(ValidationError, match="less than or equal to 300"):
        QuadrantSettings(tempo_min=100, tempo_max=400, octave_shift=0, volume_db=0)
    with pytest.raises(ValidationError, match="tempo_min must be <= tempo_max"):
        QuadrantSettings(tempo_min=200, tempo_max=100, octave_shift=0, volume_db=0)
    with pytest.raises(ValidationError, match="Extra inputs"):
        Template(bogus=1)
    with pytest.raises(ValidationError, match="less than or equal to 11"):
        Template(tonic=12)


def test_json_round_trip():
    t = Template(tonic=7, base_velocity=90)
    assert Template.model_validate_json(t.model_dump_json()) == t
    assert Template.model_validate_json(Template().model_dump_json()) == Template()


def test_load_preset(tmp_path):
    t = Template(tonic=2, q2=QuadrantSettings(tempo_min=150, tempo_max=200, octave_shift=-12,
                                                volume_db=3))  # fmt: skip
    path = tmp_path / "calm.json"
    path.write_text(t.model_dump_json(indent=2))
    assert load_preset(path) == t
    partial = tmp_path / "partial.json"
    partial.write_text('{"tonic": 5}')
    assert load_preset(partial) == Template(tonic=5)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "cannot read"),
        ("{not json", "Invalid JSON"),
        (json.dumps({"q1": {"tempo_min": 10, "tempo_max": 184, "octave_shift": 0,
                            "volume_db": 5}}),
         "q1.tempo_min: Input should be greater than or equal to 20"),
        (json.dumps({"base_velocity": 0, "colour": "red"}), "base_velocity"),
    ],
)  # fmt: skip
def test_bad_preset_is_one_line_config_error(tmp_path, content, needle):
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_preset(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert needle in message
    if content is not None:
        assert isinstance(info.value.__cause__, ValidationError)


def test_template_table():
    table = template_table(Template())
    lines = table.strip().splitlines()
    assert len(lines) == 2 + 5
    assert lines[2].startswith("| Q1 (V+, A+) | +1 | +1 | 184.0 | maj |")
    assert lines[-1].startswith("| centre |")
    assert all(line.count("|") == lines[0].count("|") for line in lines)
