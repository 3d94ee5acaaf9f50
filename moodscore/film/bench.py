"""``moodscore bench render``: how much faster than real time a cue sheet renders, on one core.

A synthetic 10-minute reel (20 cues of 28-32 s, moods round the circumplex, gaps between some)
is rendered by each model on one ONNX Runtime thread, three times; the figures are the MIDI
render only (no WAV), from a loaded model. Target: 200x real time (10 minutes in 3 s).

Public API: :func:`reel`, :func:`run`.
"""
from __future__ import annotations

import json
import platform
import tempfile
import time
from pathlib import Path

from . import cuesheet, timecode
from .render import render

MOODS = ["calm", "tense", "triumphant", "sad", "mysterious", "action", "tender", "dread"]


def reel(minutes: float = 10.0, fps: str = "24") -> cuesheet.CueSheet:
    rate = timecode.frame_rate(fps)
    cues, at, i = [], 3600 * rate.nominal, 0  # from 01:00:00:00
    end = at + int(minutes * 60 * rate.nominal)
    while at < end:
        length = (28 + (i * 7) % 5) * rate.nominal + (i * 5) % rate.nominal
        out = min(at + length, end)
        cues.append({"cue": f"1M{i + 1:02d}", "in": timecode.format_frames(at, rate),
                     "out": timecode.format_frames(out, rate), "mood": MOODS[i % len(MOODS)]})
        at = out + (rate.nominal * 2 if i % 3 == 2 else 0)  # a 2 s gap after every third cue
        i += 1
    return cuesheet.parse_json(json.dumps({"frame_rate": fps, "cues": cues}))


def run(models: tuple[str, ...] = ("abc", "lstm"), minutes: float = 10.0, repeats: int = 3) -> None:
    from ..models.runtime import load_generator

    sheet = reel(minutes)
    print(f"moodscore bench render: {len(sheet.cues)} cues, {sheet.duration / 60:.1f} min of picture, "
          f"one ONNX Runtime thread, {platform.processor() or platform.machine()}")
    print(f"{'model':<5} {'run':>3} {'seconds':>8} {'x real time':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in models:
            generator = load_generator(name, threads=1, prefer_gpu=False)
            for r in range(repeats):
                t0 = time.perf_counter()
                report = render(sheet, Path(tmp) / f"{name}.mid", generator=generator, seed=r)
                took = time.perf_counter() - t0
                print(f"{name:<5} {r + 1:>3} {took:>8.2f} {report.seconds / took:>11.0f}x", flush=True)
    print("target: 200x real time (a 10-minute cue sheet in under 3 s on one core)")
