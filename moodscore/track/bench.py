"""``moodscore bench track``: what a frame costs the tracker, on scikit-image's ``astronaut``.

Two figures: a full-frame search (face detection over the whole image, then the expression
model) on the 512x512 photograph, 100 times after 10 warm-ups; and the real loop on a 640x480
video of the photograph drifting one pixel a frame (90 frames), where the detector searches near
the last face and the whole frame once a second. Needs the tracker extra and scikit-image.

Public API: :func:`run`.
"""
from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

import numpy as np

from . import TrackError


def _astronaut() -> np.ndarray:
    try:
        import cv2
        from skimage import data
    except ModuleNotFoundError as err:
        raise TrackError(f"moodscore bench track needs {err.name}: pip install '.[tracker]' "
                         "scikit-image") from None
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def run() -> None:
    import cv2

    from .circumplex import to_valence_arousal
    from .expression import LABELS, ExpressionModel
    from .faces import FaceDetector, face_input, to_gray
    from .sources import VideoSource
    from .tracker import JsonOutput, MoodTracker, run as track

    astro = _astronaut()
    detector, model = FaceDetector(), ExpressionModel()
    total = []
    for i in range(110):
        t0 = time.perf_counter()
        gray = to_gray(astro)
        box = detector.find(gray)
        if box is None:
            raise TrackError("no face found in the astronaut photograph")
        probs = model.probabilities(face_input(gray, box)[None])[0]
        if i >= 10:
            total.append((time.perf_counter() - t0) * 1e3)
    ms = np.array(total)
    print(f"full-frame search + classify, astronaut 512x512: median {np.median(ms):.1f} ms, "
          f"p95 {np.percentile(ms, 95):.1f} ms (100 frames)")
    mood = to_valence_arousal(probs)
    if mood is None:
        raise TrackError(f"the expression model gave unusable probabilities: {probs}")
    v, a = mood
    print("astronaut:", {k: round(float(x), 5) for k, x in zip(LABELS, probs)}, f"-> v={v:+.2f} a={a:+.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "drift.avi"
        fourcc = cv2.VideoWriter_fourcc(*"MJPG")  # type: ignore[attr-defined]
        writer = cv2.VideoWriter(str(path), fourcc, 30.0, (640, 480))
        face = cv2.resize(astro, (480, 480))
        for i in range(90):
            frame = np.full((480, 640, 3), 90, np.uint8)
            frame[:, 20 + i:500 + i] = face
            writer.write(frame)
        writer.release()
        stats = track(VideoSource(path), MoodTracker(), JsonOutput(io.StringIO()))
    loop = np.array(stats.classify_ms)
    print(f"tracking loop, 640x480 video at 30 fps: median {np.median(loop):.1f} ms, "
          f"p95 {np.percentile(loop, 95):.1f} ms, max {loop.max():.1f} ms per frame ({len(loop)} frames)")
