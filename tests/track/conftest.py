"""Photographs nobody here made, from scikit-image's bundled data, as OpenCV frames (BGR).

``astronaut`` is Eileen Collins's NASA portrait, smiling at the camera; ``coffee`` is a cup of
coffee on a saucer: no face.
"""
from __future__ import annotations

import numpy as np
import pytest


def _skimage_image(name: str) -> np.ndarray:
    try:
        import cv2
        import skimage.data
    except ImportError as err:
        pytest.fail(f"{err.name} is missing: the tracker tests need the tracker and test extras "
                    "(pip install -e '.[tracker,test]', scikit-image among them)", pytrace=False)
    return np.ascontiguousarray(cv2.cvtColor(getattr(skimage.data, name)(), cv2.COLOR_RGB2BGR))


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return _skimage_image("astronaut")


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    return _skimage_image("coffee")
