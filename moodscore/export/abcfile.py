"""Write a tune as an ABC notation file (one tune, ``X:1``), atomically.

Public API: :func:`abc_text`, :func:`write_abc`.
"""
from __future__ import annotations

import os

from ..music import Meter
from .atomic import atomic_write_bytes


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def abc_text(
    body: str,
    *,
    title: str,
    meter: Meter | str,
    key_field: str,
    tempo_bpm: float,
    unit: str = "1/8",
) -> str:
    """The ABC file text: header fields X, T, M, L, Q, K, then the body."""
    header = [
        "X:1",
        f"T:{_one_line(title)}",
        f"M:{_one_line(str(meter))}",
        f"L:{_one_line(unit)}",
        f"Q:1/4={round(tempo_bpm)}",
        f"K:{_one_line(key_field)}",
    ]
    return "\n".join(header) + "\n" + body.strip("\n") + "\n"


def write_abc(
    path: str | os.PathLike[str],
    body: str,
    *,
    title: str,
    meter: Meter | str,
    key_field: str,
    tempo_bpm: float,
    unit: str = "1/8",
) -> None:
    """Write :func:`abc_text` to ``path`` as UTF-8; :class:`OutputError` if it cannot."""
    text = abc_text(
        body, title=title, meter=meter, key_field=key_field, tempo_bpm=tempo_bpm, unit=unit
    )
    atomic_write_bytes(path, text.encode("utf-8"))
