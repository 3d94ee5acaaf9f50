"""Facial expression probabilities from a face crop, on ONNX Runtime.

The model is fer's mini-Xception (FER2013, seven classes), converted once to ONNX by
:mod:`moodscore.track.convert` and shipped beside its card in ``weights/``. It takes gray
64x64 crops scaled to [-1, 1] (:func:`moodscore.track.faces.face_input` makes them).

Public API: ``LABELS``, :class:`ExpressionModel`, :func:`weights_dir`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError

# the class order of the model's output (fer's _get_labels, FER2013's label ids 0..6)
LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
MODEL = "expression"


def weights_dir() -> Path:
    """Folder of the shipped classifier; ``MOODSCORE_TRACK_WEIGHTS`` points elsewhere."""
    return Path(os.environ.get("MOODSCORE_TRACK_WEIGHTS", Path(__file__).parent / "weights"))


class ExpressionModel:
    """``probabilities(faces)``: [N, 64, 64] float32 in [-1, 1] -> [N, 7], rows summing to 1."""

    def __init__(self, folder: Path | None = None, threads: int = 1) -> None:
        import onnxruntime as ort

        folder = folder or weights_dir()
        path, card_path = folder / f"{MODEL}.onnx", folder / f"{MODEL}.json"
        try:
            self.card: dict[str, Any] = json.loads(card_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ModelError(f"expression model card {card_path} is unreadable: {err}") from err
        if tuple(self.card.get("labels", ())) != LABELS:
            raise ModelError(f"{card_path}: labels {self.card.get('labels')} are not {list(LABELS)}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads  # one face a frame: more threads only add overhead
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own untyped errors
            raise ModelError(f"expression model {path} could not be loaded: {err}") from err
        self.input = self.session.get_inputs()[0].name
        self.side = int(self.session.get_inputs()[0].shape[-1])

    def probabilities(self, faces: np.ndarray) -> np.ndarray:
        x = np.asarray(faces, dtype=np.float32)[:, None, :, :]  # N, 1, H, W
        probs: np.ndarray = self.session.run(None, {self.input: x})[0]
        return probs
