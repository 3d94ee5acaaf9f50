"""The ABC transformer's batched step with ONNX Runtime's fused attention: the CPU graph.

The same weights and maths as :class:`~moodscore.models.transformer.AbcTransformer`, for many
rows at their own positions, like :class:`~moodscore.models.transformer_slots.SlotAbc`, but
each layer's attention is one ``com.microsoft.GroupQueryAttention`` node (as many key/value
heads as query heads: plain multi-head attention). Its cache is a buffer per layer of keys and
of values, ``(B, H, S, hd)``, and ``seqlens[b]`` is row ``b``'s cached positions: the node
reads only those, not the whole buffer, and writes the row's new keys and values at them.
Bound as both input and output of a call (ONNX Runtime's I/O binding), the buffers are updated
in place, so the caller never copies the cache. A call on an empty cache (``S == 0``) prefills:
``seqlens[b] + 1`` is row ``b``'s prompt length, ``total`` the longest, and the buffers it
returns hold each prompt's keys and values. Only each row's ``last`` position goes through the
head. ONNX Runtime's CUDA provider runs this node only at fp16, so the GPU gets
:class:`~moodscore.models.transformer_resident.ResidentAbc`.
Needs torch.

Public API: :class:`GqaAbc`.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn

from .transformer import AbcTransformer, Block, CausalSelfAttention


class _Attention(torch.autograd.Function):
    """Exported as GroupQueryAttention; in torch, the same maths (used to trace it)."""

    @staticmethod
    def forward(ctx: Any, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, past_k: torch.Tensor,
                past_v: torch.Tensor, seqlens: torch.Tensor, total: torch.Tensor, heads: int
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        B, T, C = q.shape
        hd = C // heads
        size = max(past_k.shape[2], int(total))
        keys = torch.zeros(B, heads, size, hd)
        values = torch.zeros(B, heads, size, hd)
        keys[:, :, : past_k.shape[2]], values[:, :, : past_v.shape[2]] = past_k, past_v
        out = torch.zeros_like(q)
        split = [t.reshape(B, T, heads, hd).transpose(1, 2) for t in (q, k, v)]  # (B, H, T, hd)
        for b in range(B):
            n = int(seqlens[b]) + 1  # the row's positions after this call
            first = n - T if past_k.shape[2] else 0
            keys[b, :, first:first + T], values[b, :, first:first + T] = split[1][b], split[2][b]
            att = (split[0][b] @ keys[b, :, :n].transpose(-2, -1)) / math.sqrt(hd)  # (H, T, n)
            seen = torch.arange(n)[None, :] <= (torch.arange(T) + first)[:, None]
            att = att.masked_fill(~seen, float("-inf")).softmax(-1)
            out[b] = (att @ values[b, :, :n]).transpose(0, 1).reshape(T, C)
        return out, keys, values

    @staticmethod
    def symbolic(g: Any, q: Any, k: Any, v: Any, past_k: Any, past_v: Any, seqlens: Any, total: Any,
                 heads: int) -> Any:
        out, keys, values = g.op("com.microsoft::GroupQueryAttention", q, k, v, past_k, past_v, seqlens,
                                 total, num_heads_i=heads, kv_num_heads_i=heads, outputs=3)
        out.setType(q.type())
        keys.setType(past_k.type())
        values.setType(past_v.type())
        return out, keys, values


class GqaAbc(nn.Module):
    def __init__(self, model: AbcTransformer) -> None:
        super().__init__()
        self.m = model

    def forward(self, idx: torch.Tensor, barpos: torch.Tensor, pos: torch.Tensor, va: torch.Tensor,
                seqlens: torch.Tensor, total: torch.Tensor, last: torch.Tensor, *cache: torch.Tensor
                ) -> tuple[torch.Tensor, ...]:
        """idx, barpos, pos: (B, T) int64; va: (B, 2); seqlens: (B,) int32, each row's positions
        after this call less one; total: () int32, the most of them plus one; last: (B,) int64
        index into T; ``cache``: the L layers' keys (B, H, S, hd), then their values.

        Returns logits (B, V) at each row's ``last`` position, then the L layers' keys and values
        (the buffers, updated; of the longest prompt's length when ``S == 0``).
        """
        m = self.m
        B = idx.shape[0]
        C = m.cfg.n_embd
        L = len(m.blocks)
        x = m.wte(idx) + m.wpe(pos) + m.wbp(barpos) + m.mood(va)[:, None, :]
        keys, values = [], []
        for i, block in enumerate(m.blocks):
            assert isinstance(block, Block)
            attn = block.attn
            assert isinstance(attn, CausalSelfAttention)
            q, k, v = attn.qkv(block.ln1(x)).split(C, dim=2)
            y, pk, pv = _Attention.apply(q, k, v, cache[i], cache[L + i], seqlens, total, m.cfg.n_head)
            x = x + attn.proj(y)
            x = x + block.mlp(block.ln2(x))
            keys.append(pk)
            values.append(pv)
        xl = x[torch.arange(B, device=idx.device), last]  # (B, C)
        return (m.head(m.ln_f(xl)), *keys, *values)
