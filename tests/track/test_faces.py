from __future__ import annotations

import cv2
import numpy as np
import pytest

from moodscore.track.faces import Box, FaceDetector, face_input, to_gray

# where Eileen Collins's face is in skimage's astronaut (512x512): checked by eye
ASTRONAUT_FACE = Box(177, 66, 95, 95)


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def iou(a: Box, b: Box) -> float:
    w = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    h = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    return w * h / (a.area + b.area - w * h)


def test_finds_the_astronauts_face_at_default_settings(detector: FaceDetector, astronaut: np.ndarray) -> None:
    box = detector.find(to_gray(astronaut))
    assert box is not None and iou(box, ASTRONAUT_FACE) > 0.6, box


def test_finds_it_in_a_larger_frame_too(detector: FaceDetector, astronaut: np.ndarray) -> None:
    big = np.zeros((1080, 1920, 3), np.uint8)  # a full-HD frame, searched downscaled
    big[40:1064, 700:1724] = cv2.resize(astronaut, (1024, 1024))
    box = detector.find(to_gray(big))
    assert box is not None
    assert iou(Box((box.x - 700) // 2, (box.y - 40) // 2, box.w // 2, box.h // 2), ASTRONAUT_FACE) > 0.5, box


def test_no_face_in_a_cup_of_coffee_or_a_blank(detector: FaceDetector, coffee: np.ndarray) -> None:
    assert detector.find(to_gray(coffee)) is None
    assert detector.find(np.full((480, 640), 128, np.uint8)) is None


def test_to_gray_takes_bgr_bgra_gray_and_16_bit(astronaut: np.ndarray) -> None:
    gray = to_gray(astronaut)
    assert gray.shape == (512, 512) and gray.dtype == np.uint8
    bgra = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    assert np.array_equal(to_gray(bgra), gray)
    assert np.array_equal(to_gray(gray), gray)
    assert np.abs(to_gray(gray.astype(np.uint16) * 257).astype(int) - gray).max() <= 1


def test_face_input_is_64_square_in_unit_range_even_at_the_frame_edge(astronaut: np.ndarray) -> None:
    gray = to_gray(astronaut)
    x = face_input(gray, ASTRONAUT_FACE)
    assert x.shape == (64, 64) and x.dtype == np.float32
    assert -1.0 <= x.min() < x.max() <= 1.0
    corner = face_input(gray, Box(-30, 480, 80, 60), margin=0.5)  # mostly outside: edges repeat
    assert corner.shape == (64, 64) and np.isfinite(corner).all()


def test_searching_near_the_last_face_finds_it_or_falls_back_to_the_frame(
        detector: FaceDetector, astronaut: np.ndarray, coffee: np.ndarray) -> None:
    gray = to_gray(astronaut)
    moved = detector._near(gray, Box(190, 80, 85, 85))  # the face a little off last frame's box
    assert moved is not None and iou(moved, ASTRONAUT_FACE) > 0.6, moved
    assert detector._near(gray, Box(350, 350, 100, 100)) is None  # nothing there...
    fallback = detector.find(gray, near=Box(350, 350, 100, 100))  # ...so the whole frame
    assert fallback is not None and iou(fallback, ASTRONAUT_FACE) > 0.6
    assert detector.find(to_gray(coffee), near=Box(100, 100, 100, 100)) is None
