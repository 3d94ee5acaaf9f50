"""The cues of one reel share a theme: given, or the first cue's opening motif."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from moodscore.engine.template import controls
from moodscore.engine.theme import theme_from_abc
from moodscore.film import cuesheet
from moodscore.film.score import score
from moodscore.models.runtime import load_generator
from moodscore.music import MODE_STEPS

ODE = "M:4/4\nL:1/4\nK:G\nBBcd|dcBA|GGAB|B3/2A/2 A2|\n"


@pytest.fixture(scope="module")
def sheet(tmp_path_factory):
    path = tmp_path_factory.mktemp("reel") / "reel.json"
    path.write_text(json.dumps({"frame_rate": "25", "cues": [
        {"cue": "1M01", "in": "00:00:01:00", "out": "00:00:13:00", "mood": "calm"},
        {"cue": "1M02", "in": "00:00:15:00", "out": "00:00:27:00", "mood": "angry"}]}))
    return cuesheet.load(Path(path))


def _openings(result, n=4):
    """The first ``n`` melody pitches of each cue, as (pitch, mode of the cue)."""
    out = []
    for fit in result.fits:
        ons = sorted((e for e in result.events if e.kind == "note_on" and e.channel == 0
                      and fit.start - 1e-6 <= e.time < fit.end), key=lambda e: (e.time, e.data1))
        mode = controls(fit.cue.valence, fit.cue.arousal).mode
        out.append(([e.data1 for e in ons[:n]], mode))
    return out


def _degrees(pitches, mode):
    scale = MODE_STEPS[mode]
    return [max(i for i, s in enumerate(scale) if s <= p % 12) for p in pitches]


@pytest.mark.parametrize("model", ["abc", "lstm"])
def test_every_cue_opens_with_the_given_theme_in_its_own_mood(sheet, model):
    result = score(sheet, load_generator(model), theme=theme_from_abc(ODE))
    (calm, calm_mode), (angry, angry_mode) = _openings(result)
    assert calm_mode != angry_mode
    assert _degrees(calm, calm_mode) == _degrees(angry, angry_mode) == [2, 2, 3, 4]


def test_without_a_theme_later_cues_open_with_the_first_cues_motif(sheet):
    result = score(sheet, load_generator("abc"))
    (first, first_mode), (second, second_mode) = _openings(result, 6)
    assert _degrees(first, first_mode) == _degrees(second, second_mode)
