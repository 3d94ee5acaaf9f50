from __future__ import annotations

import itertools
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from track_media import write_video

from moodscore.track import SourceError
from moodscore.track.sources import IMAGE_FPS, ImageSource, VideoSource, open_source


def test_an_image_repeats_as_a_still_frame_in_time(tmp_path: Path, astronaut: np.ndarray) -> None:
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), astronaut)
    source = ImageSource(path)
    start = time.monotonic()
    frames = list(itertools.islice(source.frames(), 4))
    assert [f.new for f in frames] == [True, False, False, False]
    assert np.array_equal(frames[0].image, astronaut)
    assert time.monotonic() - start >= 3 / IMAGE_FPS - 0.01  # paced, not a busy loop
    assert [round(f.t, 1) for f in frames] == [0.0, 0.1, 0.2, 0.3]


def test_a_video_plays_in_real_time_with_frame_times(tmp_path: Path, astronaut: np.ndarray) -> None:
    path = write_video(tmp_path / "v.avi", [astronaut] * 5, fps=20.0)
    source = VideoSource(path)
    start = time.monotonic()
    frames = list(source.frames())
    source.close()
    assert len(frames) == 5 and [f.t for f in frames] == pytest.approx([0, 0.05, 0.1, 0.15, 0.2])
    assert time.monotonic() - start >= 0.19


@pytest.mark.parametrize("kind", ["image", "video"])
def test_bad_files_give_one_line_errors(tmp_path: Path, kind: str) -> None:
    with pytest.raises(SourceError, match=rf"^{kind} .*missing.png: no such file$"):
        open_source(**{kind: tmp_path / "missing.png"})
    with pytest.raises(SourceError, match="is a directory; give a file"):
        open_source(**{kind: tmp_path})
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image or a video\n" * 10)
    with pytest.raises(SourceError, match=rf"^{kind} .*junk.png: .*") as err:
        open_source(**{kind: junk})
    assert "\n" not in str(err.value)


def test_a_camera_that_will_not_open() -> None:
    with pytest.raises(SourceError, match=r"^camera 97 could not be opened"):
        open_source(camera=97)


def test_exactly_one_source() -> None:
    with pytest.raises(SourceError, match="exactly one source"):
        open_source()
    with pytest.raises(SourceError, match="exactly one source"):
        open_source(camera=0, image=Path("x.png"))
