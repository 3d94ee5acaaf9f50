from __future__ import annotations

import pytest

from moodscore.arranger import arrange
from moodscore.arranger.styles import load_style
from moodscore.engine.conductor import programs_for
from moodscore.engine.template import Template, controls, load_preset
from moodscore.errors import ConfigError
from moodscore.music import Meter, Note, Phrase


def test_programs_follow_the_quadrant_and_the_preset(tmp_path):
    calm, tense = controls(0.7, -0.7), controls(-0.7, 0.7)
    assert programs_for(calm)[0] == 73 and programs_for(tense)[0] == 29
    preset = tmp_path / "p.json"
    preset.write_text('{"q2": {"tempo_min": 150, "tempo_max": 190, "octave_shift": 0, "volume_db": 0,'
                      ' "programs": {"melody": 40, "chords": 41, "bass": 42, "stinger": 43}},'
                      ' "drums_above": 1.01}')
    t = load_preset(preset)
    assert Template.model_validate_json(t.model_dump_json()) == t
    ctl = controls(-0.7, 0.9, t)
    # the default style takes melody, pad and bass from the template; counter, rhythm and the
    # kit are its own (q2: brass section, overdriven guitar, standard kit)
    assert programs_for(ctl) == {0: 40, 1: 41, 2: 42, 3: 43, 4: 61, 5: 29, 9: 0}
    orchestral = programs_for(ctl, load_style("orchestral"))
    assert orchestral[3] == 43 and orchestral[0] == 60 and orchestral[9] == 48  # horn, orchestra kit
    phrase = Phrase([Note(60, 0, 1), Note(64, 1, 1), Note(67, 2, 2)], 1, Meter(4, 4), 0, "maj")
    # drums_above 1.01: no drums while the intensity follows the arousal, but a sent one rules
    assert not any(n.channel == 9 for n in arrange(phrase, ctl))
    assert any(n.channel == 9 for n in arrange(phrase, ctl, intensity=1.0))
    assert any(n.channel == 9 for n in arrange(phrase, controls(-0.7, 0.9)))


def test_bad_program_is_refused(tmp_path):
    preset = tmp_path / "p.json"
    preset.write_text('{"q1": {"tempo_min": 150, "tempo_max": 190, "octave_shift": 0, "volume_db": 0,'
                      ' "programs": {"melody": 128}}}')
    with pytest.raises(ConfigError, match="q1.programs.melody"):
        load_preset(preset)
