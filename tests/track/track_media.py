"""``write_video``: a short MJPG video from frames, for the tracker tests (OpenCV writes it)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def write_video(path: Path, frames: Sequence[np.ndarray], fps: float) -> Path:
    import cv2

    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened(), "OpenCV cannot write MJPG video here"
    for frame in frames:
        writer.write(cv2.resize(frame, (w, h)))
    writer.release()
    return path
