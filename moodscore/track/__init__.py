"""The camera tracker: a face on a webcam, in a video or a photo -> valence/arousal -> the engine.

Each frame: find the largest face (:mod:`.faces`, OpenCV's Haar cascade), classify its
expression (:mod:`.expression`, fer's mini-Xception on ONNX Runtime), place the expression
probabilities on the valence/arousal plane (:mod:`.circumplex`), smooth over time and hold then
decay when no face is seen (:mod:`.smoothing`); :mod:`.tracker` runs that loop over a
:mod:`.sources` source and sends ``/mood/va`` over OSC at a bounded rate. ``moodscore track``
is the command; :mod:`.convert` made the shipped ONNX file from fer's Keras weights.

Importing this package is cheap: OpenCV and ONNX Runtime load only when a tracker is built.
"""
from __future__ import annotations

from ..errors import MoodscoreError


class TrackError(MoodscoreError):
    """The tracker cannot run: its input or OpenCV is missing or unusable."""


class SourceError(TrackError, OSError):
    """A camera, video or image that cannot be opened or read."""


__all__ = ["SourceError", "TrackError"]
