"""The per-frame pipeline on real photographs, the rate bound, and the loop over a real video."""
from __future__ import annotations

import io
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from track_media import write_video

from moodscore.track.expression import LABELS
from moodscore.track.settings import TrackSettings
from moodscore.track.sources import Frame, VideoSource
from moodscore.track.tracker import KEEPALIVE_S, JsonOutput, MoodTracker, Throttle, run


@pytest.fixture(scope="module")
def tracker_parts() -> MoodTracker:
    return MoodTracker()  # detector and model loaded once; tests build trackers around them


def fresh(parts: MoodTracker, **kw: float) -> MoodTracker:
    return MoodTracker(TrackSettings(**kw), parts.detector, parts.model)  # type: ignore[arg-type]


def test_the_smiling_astronaut_is_happy_with_positive_valence(tracker_parts: MoodTracker,
                                                              astronaut: np.ndarray) -> None:
    reading = fresh(tracker_parts).step(Frame(0.0, astronaut))
    assert reading.face is not None and reading.probabilities is not None
    probs = dict(zip(LABELS, reading.probabilities.tolist()))
    assert reading.expression == "happy" and probs["happy"] > 0.9, probs
    assert reading.observed is not None and reading.mood == reading.observed
    v, a = reading.mood
    assert v > 0.6 and a > 0.3, reading.mood


def test_no_face_holds_then_decays_to_neutral_never_nan(tracker_parts: MoodTracker, astronaut: np.ndarray,
                                                        coffee: np.ndarray) -> None:
    tracker = fresh(tracker_parts, hold_s=1.0, decay_s=0.5)
    first = tracker.step(Frame(0.0, astronaut)).mood
    assert first is not None
    moods = []
    for i in range(1, 31):  # coffee, no face, for 3 s at 10 fps
        reading = tracker.step(Frame(i / 10, coffee))
        assert reading.face is None and reading.probabilities is None and reading.observed is None
        moods.append(reading.mood)
    assert all(m is not None and all(math.isfinite(x) for x in m) for m in moods)
    assert moods[8] == first  # t = 0.9 s: held
    assert 0 < moods[14][0] < first[0]  # t = 1.5 s: fading
    assert abs(moods[-1][0]) < 0.02 * first[0] and abs(moods[-1][1]) < 0.02 * first[1]  # t = 3 s
    assert all(abs(b[0]) <= abs(a[0]) for a, b in itertools.pairwise(moods))  # never away from neutral


def test_no_face_ever_means_no_mood(tracker_parts: MoodTracker, coffee: np.ndarray) -> None:
    tracker = fresh(tracker_parts)
    assert [tracker.step(Frame(i / 10, coffee)).mood for i in range(3)] == [None] * 3


def test_an_unchanged_still_frame_is_not_analysed_again(tracker_parts: MoodTracker, astronaut: np.ndarray) -> None:
    tracker = fresh(tracker_parts)
    first = tracker.step(Frame(0.0, astronaut))
    again = tracker.step(Frame(0.1, astronaut, new=False))
    assert first.seconds > 0 and again.seconds == 0.0 and again.face == first.face
    assert again.mood == first.mood


def test_throttle_bounds_the_rate_and_keeps_a_still_mood_alive() -> None:
    t = Throttle(rate_hz=10.0)
    assert t.due(0.0, (0.1, 0.1))
    t.mark(0.0, (0.1, 0.1))
    assert not t.due(0.05, (0.9, 0.9))  # too soon, however much it moved
    assert t.due(0.1, (0.9, 0.9))
    assert not t.due(0.5, (0.1 + 1e-4, 0.1))  # unchanged: wait for the keep-alive
    assert t.due(KEEPALIVE_S, (0.1, 0.1))


def test_the_loop_over_a_video_sends_at_a_bounded_rate(tracker_parts: MoodTracker, tmp_path: Path,
                                                       astronaut: np.ndarray, coffee: np.ndarray) -> None:
    """1 s of the astronaut, then 2 s of coffee, at 20 fps: the tracker plays it in real time."""
    video = write_video(tmp_path / "v.avi", [astronaut] * 20 + [coffee] * 40, fps=20.0)
    out = io.StringIO()
    tracker = fresh(tracker_parts, rate_hz=5.0, hold_s=0.5, decay_s=0.5)
    source = VideoSource(video)
    stats = run(source, tracker, JsonOutput(out))
    source.close()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert stats.frames == 60 and stats.faces == 20 and stats.sent == len(lines)
    assert 5 <= len(lines) <= 3.0 * 5 + 2, lines  # at most rate x duration, plus the first and last
    assert lines[0]["face"] and lines[0]["expression"] == "happy" and lines[0]["valence"] > 0.6
    assert lines[0]["glide"] == pytest.approx(0.2)
    assert not lines[-1]["face"] and abs(lines[-1]["valence"]) < 0.1  # faded by the end
    valences = [line["valence"] for line in lines]
    assert all(-1 <= v <= 1 for v in valences)


def test_frames_and_seconds_bound_a_run(tracker_parts: MoodTracker, tmp_path: Path, astronaut: np.ndarray) -> None:
    video = write_video(tmp_path / "v.avi", [astronaut] * 40, fps=20.0)
    for kw, expected in (({"frames": 3}, 3), ({"seconds": 0.5}, 11)):
        source = VideoSource(video)
        stats = run(source, fresh(tracker_parts), JsonOutput(io.StringIO()), **kw)  # type: ignore[arg-type]
        source.close()
        assert stats.frames == expected, kw
