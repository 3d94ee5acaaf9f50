"""``moodscore track`` against a real engine (``moodscore serve`` in its own process): the
astronaut's smile reaches the music, a lost face fades it back to neutral, nothing is refused."""
from __future__ import annotations

import itertools
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from support import Engine, wait_until
from track_media import write_video

pytestmark = pytest.mark.slow


def track(engine: Engine, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "moodscore.cli", "track", "--port", str(engine.osc_port), *args]
    return subprocess.run(cmd, capture_output=True, check=False, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_tracked_moods_reach_the_engine(tmp_path: Path, astronaut: np.ndarray, coffee: np.ndarray) -> None:
    photo = tmp_path / "astronaut.png"
    cv2.imwrite(str(photo), astronaut)
    # 1.5 s of the astronaut, then 3 s without a face: held 0.5 s, then fading (0.5 s constant)
    video = write_video(tmp_path / "astronaut_then_coffee.avi", [astronaut] * 15 + [coffee] * 30, fps=10.0)
    engine = Engine(tmp_path / "engine")
    try:
        assert engine.ws is not None
        assert engine.ws.request({"type": "transition", "mode": "immediate"}) == {"type": "ack"}

        since = time.perf_counter()
        done = track(engine, "--image", str(photo))
        assert done.returncode == 0, done.stderr
        happy = wait_until(lambda: [m for m in engine.moods(since) if m[0] > 0.6 and m[1] > 0.3], 30,
                           "a phrase at the astronaut's mood", lambda: f"moods: {engine.moods(since)}")
        assert happy[-1] == pytest.approx((0.81, 0.51), abs=0.02)

        since = time.perf_counter()
        done = track(engine, "--video", str(video), "--hold", "0.5", "--decay", "0.5")
        assert done.returncode == 0, done.stderr
        assert "45 frames, face in 15" in done.stderr, done.stderr
        neutral = wait_until(lambda: [m for m in engine.moods(since) if abs(m[0]) < 0.02 and abs(m[1]) < 0.02],
                             30, "a phrase faded to neutral", lambda: f"moods: {engine.moods(since)}")
        fading = engine.moods(since)
        fading = fading[:fading.index(neutral[0]) + 1]
        valences = [v for v, _ in fading]
        assert all(0 <= b <= a + 1e-6 for a, b in itertools.pairwise(valences)), fading  # only down
    finally:
        code = engine.close()
    assert code == 0, engine.log()
    rejected = engine.summary()["rejected"]
    assert sum(rejected.values()) == 0, rejected
