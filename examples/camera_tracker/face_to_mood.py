"""What the tracker sees: each frame's face, expression, probabilities and smoothed mood.

    python examples/camera_tracker/face_to_mood.py [PHOTO_OR_VIDEO]   # default: webcam 0

Uses the library directly (``moodscore track`` wraps the same loop and sends the mood to the
engine over OSC). Needs the tracker extra: pip install ".[tracker]" (from the repository root). Ctrl-C stops.
"""
from __future__ import annotations

import sys
from pathlib import Path

from moodscore.errors import MoodscoreError
from moodscore.track.expression import LABELS
from moodscore.track.sources import open_source
from moodscore.track.tracker import MoodTracker

VIDEO_SUFFIXES = {".avi", ".mp4", ".mkv", ".mov", ".webm"}


def main(arg: str | None) -> int:
    path = Path(arg) if arg else None
    try:
        if path is None:
            source = open_source(camera=0)
        elif path.suffix.lower() in VIDEO_SUFFIXES:
            source = open_source(video=path)
        else:
            source = open_source(image=path)
        tracker = MoodTracker()
    except MoodscoreError as err:
        print(err, file=sys.stderr)
        return 2
    try:
        for i, frame in enumerate(source.frames()):
            r = tracker.step(frame)
            probs = "" if r.probabilities is None else " ".join(
                f"{label[:3]} {p:.2f}" for label, p in zip(LABELS, r.probabilities))
            mood = "no mood yet" if r.mood is None else f"v {r.mood[0]:+.2f}  a {r.mood[1]:+.2f}"
            print(f"{r.t:6.2f} s  {'face' if r.face else 'none'}  {mood}  {probs}")
            if path is not None and path.suffix.lower() not in VIDEO_SUFFIXES and i >= 9:
                break  # a photo: ten readings show the (unchanging) result
    except KeyboardInterrupt:
        pass
    finally:
        source.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
