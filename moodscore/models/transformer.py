"""The ABC transformer: a small decoder-only GPT over ABC note tokens, conditioned on mood.

Each position adds four embeddings: the token, its index in the sequence, its onset inside
the bar (in ticks; the header uses a position of its own) and a learned projection of the
continuous (valence, arousal) pair. The header tokens (meter, unit length, mode) lead every
sequence, so the model is conditioned on them as on any prefix. Attention takes an explicit
key/value cache so that the same graph runs a prefill and single incremental steps, in torch
and after ONNX export. Needs torch (the ``train`` extra).

Public API: :class:`AbcConfig`, :class:`AbcTransformer`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F

from .vocab import HEADER_POSITION


@dataclass
class AbcConfig:
    vocab_size: int = 1024
    block_size: int = 192  # positions the model has; the runtime keeps context + phrase inside
    window: int = 160  # training sequence length
    n_layer: int = 4
    n_head: int = 8
    n_embd: int = 256
    bar_positions: int = HEADER_POSITION + 1
    dropout: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: AbcConfig) -> None:
        super().__init__()
        assert cfg.n_embd % cfg.n_head == 0
        self.n_head = cfg.n_head
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, past_k: torch.Tensor, past_v: torch.Tensor,
                mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        B, T, C = x.shape
        hd = C // self.n_head
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, hd).transpose(1, 2)  # (B, nh, T, hd)
        k = torch.cat([past_k, k.view(B, T, self.n_head, hd).transpose(1, 2)], dim=2)  # (B, nh, P+T, hd)
        v = torch.cat([past_v, v.view(B, T, self.n_head, hd).transpose(1, 2)], dim=2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))  # (B, nh, T, P+T)
        att = att.masked_fill(~mask, float("-inf"))
        att = self.drop(F.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        return self.drop(self.proj(y)), k, v


class Block(nn.Module):
    def __init__(self, cfg: AbcConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = nn.Sequential(nn.Linear(cfg.n_embd, 4 * cfg.n_embd), nn.GELU(),
                                 nn.Linear(4 * cfg.n_embd, cfg.n_embd), nn.Dropout(cfg.dropout))

    def forward(self, x, past_k, past_v, mask):
        a, k, v = self.attn(self.ln1(x), past_k, past_v, mask)
        x = x + a
        return x + self.mlp(self.ln2(x)), k, v


class AbcTransformer(nn.Module):
    def __init__(self, cfg: AbcConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.wbp = nn.Embedding(cfg.bar_positions, cfg.n_embd)
        self.mood = nn.Sequential(nn.Linear(2, cfg.n_embd), nn.GELU(), nn.Linear(cfg.n_embd, cfg.n_embd))
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.head.weight = self.wte.weight  # weight tying, as in GPT-2
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def empty_cache(self, batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.cfg
        shape = (c.n_layer, batch, c.n_head, 0, c.n_embd // c.n_head)
        return torch.zeros(shape), torch.zeros(shape)

    def forward(self, idx: torch.Tensor, barpos: torch.Tensor, va: torch.Tensor,
                past_k: torch.Tensor, past_v: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """idx, barpos: (B, T) int64; va: (B, 2); past_k/v: (L, B, nh, P, hd).

        Returns logits (B, T, V) and the cache grown to P+T positions.
        """
        B, T = idx.shape
        P = past_k.shape[3]
        pos = torch.arange(T, device=idx.device) + P  # absolute positions of the new tokens
        x = self.wte(idx) + self.wpe(pos)[None] + self.wbp(barpos) + self.mood(va)[:, None, :]
        x = self.drop(x)
        keys = torch.arange(P + T, device=idx.device)
        mask = keys[None, :] <= pos[:, None]  # (T, P+T): a token sees the cache and itself
        new_k, new_v = [], []
        for i, block in enumerate(self.blocks):
            x, k, v = block(x, past_k[i], past_v[i], mask)
            new_k.append(k)
            new_v.append(v)
        logits = self.head(self.ln_f(x))
        return logits, torch.stack(new_k), torch.stack(new_v)

    def loss(self, idx: torch.Tensor, barpos: torch.Tensor, va: torch.Tensor,
             targets: torch.Tensor, ignore_index: int = 0) -> torch.Tensor:
        pk, pv = self.empty_cache(idx.shape[0])
        logits, _, _ = self.forward(idx, barpos, va, pk.to(idx.device), pv.to(idx.device))
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1),
                               ignore_index=ignore_index)
