"""The ABC transformer's batched step, for many decodings at different positions at once.

The same weights as :class:`~moodscore.models.transformer.AbcTransformer`, wrapped in a forward
pass shaped for a batch of independent rows (one per decoding): every row has its own
absolute positions, its own cache slot and its own length. The key/value cache is a slot
buffer per layer the caller owns, keys ``(B, H, hd, S)`` (stored transposed, ready for ``q @ k``)
and values ``(B, H, S, hd)``, batch first so that the first ``B`` slots are one contiguous block;
``past_mask (B, S)`` says which slot positions hold keys, and the step returns only the new keys
``(B, L, H, hd, T)`` and values ``(B, L, H, T, hd)``, which the caller writes into the slots.
Attention over the past and over the new tokens is computed apart and softmaxed together, so
the cache is never copied or transposed inside the graph. Only each row's ``last`` position
goes through the head. Needs torch.

Public API: :class:`SlotAbc`.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch.nn import functional as F

from .transformer import AbcTransformer, Block, CausalSelfAttention


class SlotAbc(nn.Module):
    def __init__(self, model: AbcTransformer) -> None:
        super().__init__()
        self.m = model

    def forward(self, idx: torch.Tensor, barpos: torch.Tensor, pos: torch.Tensor, va: torch.Tensor,
                past_mask: torch.Tensor, last: torch.Tensor, *cache: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """idx, barpos, pos: (B, T) int64; va: (B, 2); past_mask: (B, S) bool; last: (B,) int64
        index into T; ``cache``: the L layers' keys (B, H, hd, S), then their values (B, H, S, hd).

        Returns logits (B, V) at each row's ``last`` position, new keys (B, L, H, hd, T) and
        new values (B, L, H, T, hd).
        """
        m = self.m
        B, T = idx.shape
        H = m.cfg.n_head
        C = m.cfg.n_embd
        hd = C // H
        x = m.wte(idx) + m.wpe(pos) + m.wbp(barpos) + m.mood(va)[:, None, :]
        causal = torch.ones(T, T, dtype=torch.bool, device=idx.device).tril()  # (T, T)
        seen = past_mask[:, None, None, :]  # (B, 1, 1, S)
        new_k, new_v = [], []
        L = len(m.blocks)
        for i, block in enumerate(m.blocks):
            assert isinstance(block, Block)
            attn = block.attn
            assert isinstance(attn, CausalSelfAttention)
            q, k, v = attn.qkv(block.ln1(x)).split(C, dim=2)
            q = q.view(B, T, H, hd).transpose(1, 2)  # (B, H, T, hd)
            k = k.view(B, T, H, hd).transpose(1, 2)
            v = v.view(B, T, H, hd).transpose(1, 2)
            pk, pv = cache[i], cache[L + i]  # (B, H, hd, S), (B, H, S, hd)
            scale = 1.0 / math.sqrt(hd)
            s_past = (q @ pk) * scale  # (B, H, T, S)
            s_past = s_past.masked_fill(~seen, float("-inf"))
            s_new = (q @ k.transpose(-2, -1)) * scale  # (B, H, T, T)
            s_new = s_new.masked_fill(~causal, float("-inf"))
            S = pv.shape[2]
            att = F.softmax(torch.cat([s_past, s_new], dim=-1), dim=-1)
            y = att[..., :S] @ pv + att[..., S:] @ v  # (B, H, T, hd)
            y = y.transpose(1, 2).reshape(B, T, C)
            x = x + attn.proj(y)
            x = x + block.mlp(block.ln2(x))
            new_k.append(k.transpose(-2, -1))
            new_v.append(v)
        xl = x[torch.arange(B, device=idx.device), last]  # (B, C)
        logits = m.head(m.ln_f(xl))
        return logits, torch.stack(new_k, dim=1), torch.stack(new_v, dim=1)
