"""Where frames come from: a camera by device index, a video file, or a still image.

Every source yields :class:`Frame` (time in seconds, BGR image, whether it differs from the
previous one). A camera's time is the monotonic clock at capture; a video's is its position in
the file, and :class:`VideoSource` plays in real time (a tracked video stands in for a live
camera); an image repeats as a still frame, one every ``1 / IMAGE_FPS`` s, for as long as the
loop asks (the pipeline reuses its result, as nothing changed). What cannot be opened or read
raises :class:`~moodscore.track.SourceError` with one line saying which input and why.

Public API: :class:`Frame`, :class:`Source`, :class:`CameraSource`, :class:`VideoSource`,
:class:`ImageSource`, :func:`open_source`.
"""
from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from . import SourceError
from .faces import _cv2

IMAGE_FPS = 10.0


@dataclass(frozen=True)
class Frame:
    t: float
    image: np.ndarray
    new: bool = True  # False: the same pixels as the previous frame


class Source(Protocol):
    name: str

    def frames(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...


def _quiet(cv2: Any) -> None:
    # OpenCV and its FFmpeg log their own multi-line warnings when a device or file will not
    # open; our error message says it in one line instead. FFmpeg's level is read when the
    # first capture opens, so the variable works although cv2 is already imported.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    except AttributeError:
        pass


def _existing(path: Path, what: str) -> Path:
    if not path.exists():
        raise SourceError(f"{what} {path}: no such file")
    if path.is_dir():
        raise SourceError(f"{what} {path} is a directory; give a file")
    return path


class ImageSource:
    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        cv2 = _cv2()
        _quiet(cv2)
        self.name = f"image {path}"
        _existing(path, "image")
        self.image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if self.image is None or self.image.size == 0:
            raise SourceError(f"image {path}: OpenCV cannot decode it (PNG, JPEG, BMP, TIFF, WebP... "
                              "are read)")
        self.clock, self.sleep = clock, sleep

    def frames(self) -> Iterator[Frame]:
        start = self.clock()
        for i in itertools.count():
            due = start + i / IMAGE_FPS
            wait = due - self.clock()
            if wait > 0:
                self.sleep(wait)
            yield Frame(self.clock() - start, self.image, new=i == 0)

    def close(self) -> None:
        pass


class VideoSource:
    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        cv2 = _cv2()
        _quiet(cv2)
        self.name = f"video {path}"
        _existing(path, "video")
        self.capture = cv2.VideoCapture(str(path))
        if not self.capture.isOpened():
            raise SourceError(f"video {path}: OpenCV cannot open it as a video")
        ok, self._first = self.capture.read()
        if not ok or self._first is None:
            self.capture.release()
            raise SourceError(f"video {path}: no frame could be decoded")
        fps = float(self.capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 0.0 < fps < 1000.0 else 25.0
        self.clock, self.sleep = clock, sleep

    def frames(self) -> Iterator[Frame]:
        start, image, index = self.clock(), self._first, 0
        while image is not None:
            t = index / self.fps  # frame index, not POS_MSEC: some containers report 0 throughout
            wait = start + t - self.clock()
            if wait > 0:
                self.sleep(wait)
            yield Frame(t, image)
            ok, image = self.capture.read()
            image = image if ok else None
            index += 1

    def close(self) -> None:
        self.capture.release()


class CameraSource:
    def __init__(self, index: int, clock: Callable[[], float] = time.monotonic) -> None:
        cv2 = _cv2()
        _quiet(cv2)
        self.name = f"camera {index}"
        self.capture = cv2.VideoCapture(index)
        if not self.capture.isOpened():
            self.capture.release()
            raise SourceError(f"camera {index} could not be opened (no such device, or it is busy)")
        self.clock = clock

    def frames(self) -> Iterator[Frame]:
        start, first = self.clock(), True
        while True:
            ok, image = self.capture.read()
            if not ok or image is None:
                if first:
                    raise SourceError(f"{self.name} opened but delivers no frames")
                return  # unplugged: the stream ends, the loop reports it
            first = False
            yield Frame(self.clock() - start, image)

    def close(self) -> None:
        self.capture.release()


def open_source(camera: int | None = None, video: Path | None = None, image: Path | None = None
                ) -> Source:
    """Exactly one of the three."""
    given = [x is not None for x in (camera, video, image)]
    if sum(given) != 1:
        raise SourceError("give exactly one source: a camera index, a video file or an image file")
    if camera is not None:
        return CameraSource(camera)
    if video is not None:
        return VideoSource(video)
    assert image is not None
    return ImageSource(image)
