"""The trained checkpoints in torch eager, behind the same backends the ONNX runtime uses.

Used by ``moodscore export`` (to build the graphs), the parity tests and ``moodscore bench``
(torch against ONNX Runtime on the same weights). Needs torch.

Public API: :func:`load_checkpoint`, :class:`TorchAbcBackend`, :class:`TorchLstmBackend`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import ModelError
from .lstm import LstmConfig, MelodyLstm
from .transformer import AbcConfig, AbcTransformer


def load_checkpoint(path: Path) -> tuple[AbcTransformer | MelodyLstm, dict]:
    """Rebuild a model from ``<name>.pt`` (config stored beside the weights), in eval mode."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError as err:
        raise ModelError(f"checkpoint {path} is missing: run `moodscore train` first") from err
    args = ckpt["model_args"]
    model: AbcTransformer | MelodyLstm
    if "vocab_size" in args:
        model = AbcTransformer(AbcConfig(**args))
    else:
        model = MelodyLstm(LstmConfig(**args))
    model.load_state_dict(ckpt["model"])
    model.eval()
    return model, ckpt


class TorchAbcBackend:
    def __init__(self, model: AbcTransformer) -> None:
        self.model = model
        self.reset()

    def reset(self) -> None:
        self.k, self.v = self.model.empty_cache(1)

    @property
    def cached(self) -> int:
        return int(self.k.shape[3])

    @torch.inference_mode()
    def step(self, ids: np.ndarray, barpos: np.ndarray, va: np.ndarray) -> np.ndarray:
        logits, self.k, self.v = self.model(torch.from_numpy(ids), torch.from_numpy(barpos),
                                            torch.from_numpy(va), self.k, self.v)
        return logits[0, -1].numpy()


class TorchLstmBackend:
    def __init__(self, model: MelodyLstm) -> None:
        self.model = model
        self.reset()

    def reset(self) -> None:
        self.h, self.c = self.model.initial_state(1)

    @torch.inference_mode()
    def step(self, rows: np.ndarray, va: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits, timing, self.h, self.c = self.model(torch.from_numpy(rows), torch.from_numpy(va),
                                                    self.h, self.c)
        return logits[0, -1].numpy(), timing[0, -1].numpy()
