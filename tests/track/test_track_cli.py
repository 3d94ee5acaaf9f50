"""``moodscore track`` as a user runs it: one-line errors with status 2, JSON lines on --dry-run."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest


def track(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "moodscore.cli", "track", *args], capture_output=True, check=False,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory, astronaut: np.ndarray, coffee: np.ndarray) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    cv2.imwrite(str(folder / "astronaut.png"), astronaut)
    cv2.imwrite(str(folder / "coffee.jpg"), coffee)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    return folder


def test_dry_run_on_the_astronaut_prints_one_positive_mood(photos: Path) -> None:
    done = track("--image", str(photos / "astronaut.png"), "--dry-run")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 1
    assert lines[0]["face"] and lines[0]["expression"] == "happy"
    assert lines[0]["valence"] > 0.6 and lines[0]["arousal"] > 0.3
    assert "1 frames, face in 1, 1 messages sent" in done.stderr


def test_no_face_sends_nothing(photos: Path) -> None:
    done = track("--image", str(photos / "coffee.jpg"), "--dry-run", "--seconds", "0.3")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and "face in 0, 0 messages sent" in done.stderr


@pytest.mark.parametrize("args, message", [
    (["--image", "{d}/nowhere.png"], "moodscore: image {d}/nowhere.png: no such file"),
    (["--image", "{d}/broken.png"], "moodscore: image {d}/broken.png: OpenCV cannot decode it"),
    (["--video", "{d}/broken.png"], "moodscore: video {d}/broken.png: "),
    (["--video", "{d}"], "moodscore: video {d} is a directory; give a file"),
    (["--camera", "97"], "moodscore: camera 97 could not be opened"),
    (["--image", "{d}/astronaut.png", "--rate", "0"], "moodscore track: argument --rate: --rate must be > 0"),
    (["--image", "{d}/astronaut.png", "--smoothing", "-1"], "argument --smoothing: --smoothing must be >= 0"),
    (["--image", "{d}/astronaut.png", "--port", "0"], "argument --port: --port must be an integer >= 1"),
    (["--image", "{d}/astronaut.png", "--host", "no.such.host.invalid"], "moodscore: --host 'no.such.host.invalid'"),
    (["--image", "{d}/astronaut.png", "--camera", "0"], "not allowed with argument"),
    ([], "one of the arguments --camera --video --image is required"),
])
def test_bad_input_is_one_line_and_status_2(photos: Path, args: list[str], message: str) -> None:
    done = track(*(a.format(d=photos) for a in args))
    assert done.returncode == 2, done
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert message.format(d=photos) in done.stderr, done.stderr
    assert done.stdout == ""


def test_the_example_script_reads_a_photo(photos: Path) -> None:
    example = Path(__file__).parents[2] / "examples" / "camera_tracker" / "face_to_mood.py"
    done = subprocess.run([sys.executable, str(example), str(photos / "astronaut.png")], capture_output=True, check=False,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 10, lines
    assert all(" face  v +0.8" in line and ("hap 0.9" in line or "hap 1.00" in line) for line in lines), lines


def test_bench_track_prints_its_figures() -> None:
    done = subprocess.run([sys.executable, "-m", "moodscore.cli", "bench", "track"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("full-frame search + classify") and "median" in lines[0]
    assert "'happy': 0.99" in lines[1] and "v=+0.81" in lines[1]
    assert lines[2].startswith("tracking loop") and "(90 frames)" in lines[2]
