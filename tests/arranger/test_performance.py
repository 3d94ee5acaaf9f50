"""Performance: phrase dynamics, metric accents, humanised velocity and timing, swing."""
from __future__ import annotations

import random
import statistics

from moodscore.arranger import arrange_parts, melody_velocities
from moodscore.arranger.patterns import feel_of
from moodscore.arranger.performance import dynamics, peak_time, shape
from moodscore.arranger.styles import Humanise, builtin
from moodscore.engine.template import controls
from moodscore.music import Meter, Note, Phrase

FOUR = feel_of(Meter(4, 4))
ARCH = [60, 62, 64, 65, 67, 69, 71, 72, 74, 72, 71, 69, 67, 65, 64, 62]  # peaks on beat 8
PHRASE = Phrase([Note(p, i, 1.0) for i, p in enumerate(ARCH)], bars=4)


def test_phrase_swells_to_its_peak_and_accents_the_downbeats():
    assert peak_time(PHRASE) == 8.0
    at = lambda t: dynamics(t, feel=FOUR, bar_len=4, phrase_beats=16, peak=8.0)  # noqa: E731
    assert at(0.5) < at(4.5) < at(6.5) and at(8.5) > at(12.5) > at(14.5)  # off-beats: the arc
    assert at(8.0) > at(9.0) > at(9.5)  # downbeat, beat, off-beat
    assert at(10.0) > at(11.0)  # the middle of the bar is stronger than beat four
    assert at(11.5) < at(10.5)  # the pickup into a bar is the lightest


def test_swing_delays_off_beat_eighths_only():
    notes = [Note(60, t, 0.5) for t in (0.0, 0.5, 1.0, 1.5)]
    swung = shape(notes, feel=FOUR, bar_len=4, phrase_beats=4, peak=2, rng=random.Random(0),
                  humanise=Humanise(velocity_sd=0, timing_sd=0, swing=1.0), lay_back=0.0)
    assert [n.start for n in swung] == [0.0, 0.5 + 1 / 6, 1.0, 1.5 + 1 / 6]
    assert all(abs(n.start + n.duration - (o.start + o.duration)) < 1e-9 for n, o in zip(swung, notes))
    compound = shape([Note(60, 0.5, 0.5)], feel=feel_of(Meter(6, 8)), bar_len=3, phrase_beats=3, peak=1,
                     humanise=Humanise(velocity_sd=0, timing_sd=0, swing=1.0), lay_back=0.0,
                     rng=random.Random(0))
    assert compound[0].start == 0.5  # compound time already lilts


def test_humanised_timing_never_crosses_the_bar_line():
    notes = [Note(60, b * 4.0, 1.0) for b in range(50)]
    shaped = shape(notes, feel=FOUR, bar_len=4, phrase_beats=200, peak=100, rng=random.Random(1),
                   humanise=Humanise(velocity_sd=8, timing_sd=0.05, swing=0), lay_back=0.0)
    assert all(b * 4.0 <= n.start < b * 4.0 + 0.25 for b, n in enumerate(shaped))
    assert len({n.start for n in shaped}) > 10


def test_velocity_spread_within_each_part_well_above_flat():
    for name, style in builtin().items():
        written = arrange_parts(PHRASE, controls(0.3, 0.5), seed=2, style=style)
        for role, notes in written.items():
            spread = statistics.pstdev(n.velocity for n in notes)
            assert spread > 4.0, (name, role, spread)  # the old arranger: about 1.3
        mel = melody_velocities(PHRASE, 80, seed=2, style=style)
        assert statistics.pstdev(mel) > 4.0 and max(mel[6:10]) > max(mel[:3])  # louder at the peak


def test_chords_keep_one_velocity_per_stroke():
    pad = arrange_parts(PHRASE, controls(0.3, -0.5), seed=2)["pad"]
    by_onset: dict[float, set[int]] = {}
    for n in pad:
        by_onset.setdefault(round(n.start, 3), set()).add(n.velocity)
    assert all(len(v) == 1 for v in by_onset.values())
