"""The light model: an LSTM over (pitch, step, duration) notes, conditioned on mood.

After the "Emotional Music Synthesiser" seed: each input is the previous note's pitch
(embedded), its step (beats since the note before) and duration, plus (valence, arousal);
three heads give pitch logits (128), and the next step and duration (non-negative, softplus).
The hidden state is an explicit input and output so generation is incremental after export.
The emotion score that steers pitch sampling lives in :mod:`moodscore.models.emotion`.
Needs torch (the ``train`` extra).

Public API: :class:`LstmConfig`, :class:`MelodyLstm`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F


@dataclass
class LstmConfig:
    hidden: int = 256
    layers: int = 2
    pitch_embd: int = 64
    window: int = 64
    dropout: float = 0.1
    step_weight: float = 1.0  # weight of the step and duration MSE beside the pitch loss

    def to_dict(self) -> dict:
        return asdict(self)


class MelodyLstm(nn.Module):
    def __init__(self, cfg: LstmConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(128, cfg.pitch_embd)
        self.lstm = nn.LSTM(cfg.pitch_embd + 4, cfg.hidden, cfg.layers, batch_first=True,
                            dropout=cfg.dropout if cfg.layers > 1 else 0.0)
        self.pitch = nn.Linear(cfg.hidden, 128)
        self.timing = nn.Linear(cfg.hidden, 2)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def initial_state(self, batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (self.cfg.layers, batch, self.cfg.hidden)
        return torch.zeros(shape), torch.zeros(shape)

    def forward(self, notes: torch.Tensor, va: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        """notes: (B, T, 3) pitch, step, duration; va: (B, 2); h, c: (layers, B, hidden).

        Returns pitch logits (B, T, 128), step and duration (B, T, 2) and the new state.
        """
        B, T, _ = notes.shape
        pitch = self.embed(notes[..., 0].long().clamp(0, 127))
        x = torch.cat([pitch, notes[..., 1:], va[:, None, :].expand(B, T, 2)], dim=-1)
        y, (h, c) = self.lstm(x, (h, c))
        return self.pitch(y), F.softplus(self.timing(y)), h, c

    def loss(self, notes, va, targets, mask) -> torch.Tensor:
        h, c = self.initial_state(notes.shape[0])
        logits, timing, _, _ = self.forward(notes, va, h, c)
        ce = F.cross_entropy(logits.reshape(-1, 128), targets[..., 0].long().reshape(-1),
                             reduction="none")
        mse = ((timing - targets[..., 1:]) ** 2).sum(-1).reshape(-1)
        m = mask.reshape(-1)
        return ((ce + self.cfg.step_weight * mse) * m).sum() / m.sum()
