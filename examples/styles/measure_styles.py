"""Measure the arrangement of every style from its MIDI alone: for the four corners and the
centre of the mood plane, at intensity 0, 0.5 and 1, 16 bars each, written with
``moodscore.engine.compose`` and the MIDI writer exactly as ``moodscore generate`` does, then
read back with :mod:`moodscore.measure.structure`.

    python examples/styles/measure_styles.py [--model abc|lstm] [--seed 0]

Prints one row per style and intensity: sounding parts, rhythm-pattern variety of the
accompaniment and of the drums (distinct bar patterns per bar), velocity spread within a part,
harmonic rhythm and cadence rate, each the mean over the five moods.
"""
from __future__ import annotations

import argparse
import io
import statistics

import mido

from moodscore.arranger import programs_for
from moodscore.arranger.styles import builtin
from moodscore.engine.compose import compose
from moodscore.export.midi import render_midi
from moodscore.measure.structure import measure
from moodscore.models.runtime import load_generator

MOODS = ((0.8, 0.8), (-0.8, 0.8), (-0.8, -0.8), (0.8, -0.8), (0.0, 0.0))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["abc", "lstm"], default="abc")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    generator = load_generator(args.model, prefer_gpu=False)
    keys = ("parts", "accompaniment_variety", "drum_variety", "velocity_spread", "harmonic_rhythm",
            "cadence_rate")
    print(f"model {args.model}, seed {args.seed}, 16 bars per piece, means over {len(MOODS)} moods")
    print(f"{'style':<11} {'intensity':>9} " + " ".join(f"{k[:12]:>12}" for k in keys))
    for name, style in builtin().items():
        for intensity in (0.0, 0.5, 1.0):
            rows: dict[str, list[float]] = {k: [] for k in keys}
            for i, (v, a) in enumerate(MOODS):
                piece = compose(generator, v, a, bars=16, seed=args.seed + i, style=style, intensity=intensity)
                ctl = piece.controls
                mid = render_midi(piece.phrases, piece.accompaniment, tempo_bpm=ctl.tempo_bpm, meter=piece.meter,
                                  tonic=piece.tonic, mode=ctl.mode, programs=programs_for(ctl, style))
                buf = io.BytesIO()
                mid.save(file=buf)
                buf.seek(0)
                s = measure(mido.MidiFile(file=buf))  # read back, as a listener's tool would
                for k in keys:
                    value = getattr(s, k)
                    if value is not None:
                        rows[k].append(float(value))
            cells = [f"{statistics.mean(rows[k]):>12.2f}" if rows[k] else f"{'-':>12}" for k in keys]
            print(f"{name:<11} {intensity:>9.1f} " + " ".join(cells), flush=True)


if __name__ == "__main__":
    main()
