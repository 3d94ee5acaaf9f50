"""Generated music judged from the MIDI file alone, as a listener would (issue acceptance)."""
from __future__ import annotations

import pytest

from moodscore.evaluate import evaluate, print_report


@pytest.fixture(scope="module", params=["abc", "lstm"])
def report(request):
    r = evaluate(request.param, pieces=10)
    print_report(r)
    return r


def test_corner_moods_are_recognised_in_nine_of_ten_pieces(report):
    assert report.pieces_per_corner == 10
    assert set(report.corner_hits) == {1, 2, 3, 4}
    for q, hits in report.corner_hits.items():
        assert hits >= 9, f"{report.model}: Q{q} recognised in {hits}/10"


def test_measured_mood_rises_with_the_request(report):
    assert report.valence_rho > 0.6
    assert report.arousal_rho > 0.6
    for axis in ("valence", "arousal"):
        means = report.grid_means[axis]
        assert means[-1] > means[0] + 0.5, f"{axis}: {means}"


def test_melodies_look_like_real_tunes(report):
    assert report.scale_consistency > 0.85
    assert report.pc_overlap > 0.6
    assert report.interval_overlap > 0.5
