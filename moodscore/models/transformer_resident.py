"""The ABC transformer's batched step with its cache kept where the model runs: the GPU graph.

:class:`~moodscore.models.transformer_slots.SlotAbc` returns only each call's new keys and
values, which the caller writes into slot buffers it holds itself. On the CUDA provider that
means the buffers cross to the device and back on every call. :class:`ResidentAbc` takes the
buffers of the call before as they are and returns them updated, so they can stay on the
device between calls (ONNX Runtime's I/O binding), and only tokens, masks and logits move:

- ``order (R,)``: the rows this call keeps, each as its row in the buffers it is given
  (rows join, leave and change places between calls); the buffers it returns hold them in
  that order, ``R`` rows of ``S`` slot positions each;
- the first ``B`` of them are this call's rows (``idx (B, T)`` and the rest, as in
  ``SlotAbc``); ``write (B, T)`` is the slot position each new token's key and value go to
  (a prompt's padding writes past its end, where the mask never looks).

Same weights and maths as ``SlotAbc``; needs torch.

Public API: :class:`ResidentAbc`.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .transformer import AbcTransformer
from .transformer_slots import SlotAbc


class ResidentAbc(nn.Module):
    def __init__(self, model: AbcTransformer) -> None:
        super().__init__()
        self.slots = SlotAbc(model)

    def forward(self, idx: torch.Tensor, barpos: torch.Tensor, pos: torch.Tensor, va: torch.Tensor,
                past_mask: torch.Tensor, last: torch.Tensor, write: torch.Tensor, order: torch.Tensor,
                *cache: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``cache``: the L layers' keys (R0, H, hd, S), then their values (R0, H, S, hd), of the
        call before. Returns logits (B, V) and the updated keys (R, H, hd, S), then values."""
        B, T = idx.shape
        L = len(cache) // 2
        kept = [c.index_select(0, order) for c in cache]
        logits, new_k, new_v = self.slots(idx, barpos, pos, va, past_mask, last, *(c[:B] for c in kept))
        out = []
        for i, c in enumerate(kept):
            layer = i % L
            if i < L:  # keys: slot positions on the last axis
                new = new_k[:, layer]  # (B, H, hd, T)
                at = write[:, None, None, :].expand(new.shape)
                head = c[:B].scatter(3, at, new)
            else:  # values: slot positions on the third
                new = new_v[:, layer]  # (B, H, T, hd)
                at = write[:, None, :, None].expand(new.shape)
                head = c[:B].scatter(2, at, new)
            out.append(torch.cat([head, c[B:]], dim=0))
        return (logits, *out)
