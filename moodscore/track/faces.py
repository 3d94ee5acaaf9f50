"""Find the face in a frame and cut it out as the expression model wants it.

Detection is OpenCV's frontal-face Haar cascade (``haarcascade_frontalface_default.xml``,
shipped inside opencv-python-headless under ``cv2.data.haarcascades``) with OpenCV's default
pyramid step 1.1 and 5 neighbours, as fer uses it. Of several faces the largest is taken: the
player is the one nearest the camera. Faces smaller than ``min_face`` of the frame's shorter side
are not looked for, so the frame is searched downscaled until the smallest face looked for is
``SMALLEST_PX`` pixels (the cascade's window is 24): the cost then no longer grows with the
camera's resolution. The box is scaled back. Given the last frame's face, the detector first
searches only around it (a fraction of the cost) and falls back to the whole frame.

The crop follows fer's preparation of the model's training-time input: the box made square
around its centre, widened by a margin, gray, resized to 64x64, pixels scaled to [-1, 1]. Where
the widened box leaves the frame the edge pixels are repeated.

Public API: :class:`Box`, :class:`FaceDetector`, :func:`to_gray`, :func:`face_input`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import TrackError
from .settings import TrackSettings

CASCADE = "haarcascade_frontalface_default.xml"
SMALLEST_PX = 30
NEAR_PX = 60
SIDE = 64


def _cv2() -> Any:
    try:
        import cv2
    except ImportError as err:
        raise TrackError("the tracker needs OpenCV: pip install 'moodscore[tracker]'") from err
    if not hasattr(cv2, "CascadeClassifier"):
        raise TrackError(f"OpenCV {cv2.__version__} has no Haar cascades (OpenCV 5 dropped them): "
                         "pip install 'opencv-python-headless>=4.10,<5'")
    return cv2


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h


def to_gray(frame: np.ndarray) -> np.ndarray:
    """8-bit gray from OpenCV's BGR, BGRA or gray frames."""
    cv2 = _cv2()
    if frame.ndim == 2:
        gray = frame
    elif frame.shape[2] == 4:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    else:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if gray.dtype != np.uint8:  # 16-bit PNGs and float images: scale to 8 bits
        top = 65535.0 if gray.dtype == np.uint16 else max(float(gray.max()), 1e-12)
        gray = np.clip(gray.astype(np.float64) * (255.0 / top), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(gray)


class FaceDetector:
    """``find(gray)``: the largest frontal face, or None."""

    def __init__(self, settings: TrackSettings | None = None) -> None:
        cv2 = _cv2()
        s = settings or TrackSettings()
        self.scale_factor, self.min_neighbors, self.min_face = s.scale_factor, s.min_neighbors, s.min_face
        path = cv2.data.haarcascades + CASCADE
        self.cascade = cv2.CascadeClassifier(path)
        if self.cascade.empty():
            raise TrackError(f"OpenCV's face cascade {path} is missing or unreadable; reinstall "
                             "opencv-python-headless")

    def find(self, gray: np.ndarray, near: Box | None = None) -> Box | None:
        """The largest face; with ``near`` (last frame's face) first look only around it."""
        if near is not None:
            box = self._near(gray, near)
            if box is not None:
                return box
        h, w = gray.shape
        smallest = self.min_face * min(h, w)
        return self._search(gray, 0, 0, min(1.0, SMALLEST_PX / smallest) if smallest > 0 else 1.0, smallest)

    def _near(self, gray: np.ndarray, near: Box) -> Box | None:
        # a face moves little between frames: search a window of twice its size, at the scale
        # where it is NEAR_PX wide, for faces of 0.6 to 2 times its size: a few milliseconds
        h, w = gray.shape
        side = max(near.w, near.h)
        x0, y0 = max(0, near.x - side // 2), max(0, near.y - side // 2)
        x1, y1 = min(w, near.x + near.w + side // 2), min(h, near.y + near.h + side // 2)
        if x1 - x0 < side or y1 - y0 < side:
            return None
        return self._search(gray[y0:y1, x0:x1], x0, y0, min(1.0, NEAR_PX / side), 0.6 * side)

    def _search(self, gray: np.ndarray, x0: int, y0: int, scale: float, smallest: float) -> Box | None:
        cv2 = _cv2()
        h, w = gray.shape
        small = gray if scale == 1.0 else cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))),
                                                     interpolation=cv2.INTER_AREA)
        side = max(24, int(smallest * scale))  # 24: the cascade's own window
        if side > min(small.shape):
            return None
        found = self.cascade.detectMultiScale(small, scaleFactor=self.scale_factor,
                                              minNeighbors=self.min_neighbors, minSize=(side, side))
        if len(found) == 0:
            return None
        x, y, bw, bh = (int(v) for v in max(found, key=lambda r: int(r[2]) * int(r[3])))
        return Box(x0 + round(x / scale), y0 + round(y / scale), round(bw / scale), round(bh / scale))


def face_input(gray: np.ndarray, box: Box, margin: float = 0.1, side: int = SIDE) -> np.ndarray:
    """The model's input for one face: [side, side] float32 in [-1, 1]."""
    cv2 = _cv2()
    size = max(box.w, box.h) * (1.0 + 2.0 * margin)
    cx, cy = box.x + box.w / 2.0, box.y + box.h / 2.0
    x0, y0 = round(cx - size / 2.0), round(cy - size / 2.0)
    n = max(1, round(size))
    h, w = gray.shape
    pad = max(0, -x0, -y0, x0 + n - w, y0 + n - h)
    if pad:
        gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        x0, y0 = x0 + pad, y0 + pad
    crop = gray[y0:y0 + n, x0:x0 + n]
    interpolation = cv2.INTER_AREA if n > side else cv2.INTER_LINEAR
    face = cv2.resize(crop, (side, side), interpolation=interpolation)
    return (face.astype(np.float32) / np.float32(127.5) - np.float32(1.0)).astype(np.float32)
