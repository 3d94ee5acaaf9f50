"""The token vocabulary of the ABC transformer, and the per-token bar positions it reads.

A sequence is ``<bos> M:<meter> L:1/8 K:<mode>`` followed by body tokens (notes, rests, bar
lines) and ``<eos>``. Pure Python; saved inside the model card as a plain list.

Public API: :class:`Vocab`, ``SPECIALS``, :func:`bar_positions`.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable

from ..errors import TokenizeError
from ..music import MODES, Meter
from .abc import BAR, parse_token

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
SPECIALS = (PAD, BOS, EOS, BAR)
UNIT = "L:1/8"
HEADER_POSITION = 64


def bar_positions(tokens: list[str], meter: Meter, header: int = 0) -> list[int]:
    """Onset of each body token inside its bar, in ticks; ``header`` leading tokens get 64."""
    out = [HEADER_POSITION] * header
    pos = 0
    for token in tokens[header:]:
        out.append(min(pos, HEADER_POSITION - 1))
        if token == BAR:
            pos = 0
        elif token not in SPECIALS:
            pos += parse_token(token).ticks
    return out


class Vocab:
    """Token strings <-> ids."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = list(tokens)
        self.index = {t: i for i, t in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise TokenizeError("vocabulary has duplicate tokens")
        self.pad, self.bos, self.eos, self.bar = (self.index[t] for t in SPECIALS)

    @classmethod
    def build(cls, bodies: Iterable[list[str]], meters: Iterable[str], min_count: int = 3) -> "Vocab":
        counts: Counter = Counter()
        for body in bodies:
            counts.update(t for t in body if t != BAR)
        notes = sorted((t for t, n in counts.items() if n >= min_count), key=lambda t: (-counts[t], t))
        header = [f"M:{m}" for m in sorted(set(meters))] + [UNIT] + [f"K:{m}" for m in MODES]
        return cls(list(SPECIALS) + header + notes)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def header(self, meter: Meter | str, mode: str) -> list[str]:
        tokens = [BOS, f"M:{meter}", UNIT, f"K:{mode}"]
        missing = [t for t in tokens if t not in self.index]
        if missing:
            prefixes = {t[:2] for t in missing if t[:2] in ("M:", "K:")} or {"M:", "K:"}
            allowed = [t for t in self.tokens if t[:2] in prefixes]
            raise TokenizeError(f"{', '.join(missing)} not known to the model; allowed: {', '.join(allowed)}")
        return tokens

    def encode(self, tokens: list[str]) -> list[int]:
        try:
            return [self.index[t] for t in tokens]
        except KeyError as err:
            raise TokenizeError(f"token {err.args[0]!r} is not in the vocabulary") from err

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.tokens[i] for i in ids]
