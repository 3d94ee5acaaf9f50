"""``moodscore evaluate``: judge generated pieces as a listener would, from the MIDI alone.

Each piece is rendered to a Standard MIDI File in memory and measured by
:mod:`moodscore.analysis` (key and mode from pitch-class profiles, note density, loudness,
tempo, register). Reported: how often the requested quadrant is recognised at the four
corners, how measured valence and arousal follow the requested values over a grid (Spearman
rank correlation), and how close the melodies are to real tunes (histogram overlaps with the
reference statistics stored in the model card, and scale consistency).

Public API: :func:`evaluate`, :class:`Report`, :func:`print_report`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .analysis import analyze, compare_histograms, melody_notes, melody_stats
from .engine.compose import compose
from .export.midi import render_midi
from .models.labels import quadrant
from .models.runtime import load_card, load_generator

CORNERS = ((0.8, 0.8), (-0.8, 0.8), (-0.8, -0.8), (0.8, -0.8))
GRID = (-0.8, -0.4, 0.0, 0.4, 0.8)


@dataclass
class Report:
    model: str
    corner_hits: dict[int, int] = field(default_factory=dict)  # quadrant -> pieces recognised
    pieces_per_corner: int = 0
    valence_rho: float = 0.0
    arousal_rho: float = 0.0
    pc_overlap: float = 0.0
    interval_overlap: float = 0.0
    scale_consistency: float = 0.0
    reference_scale_consistency: float = 0.0
    grid_means: dict[str, list[float]] = field(default_factory=dict)


def _spearman(x: list[float], y: list[float]) -> float:
    rx = np.argsort(np.argsort(x, kind="stable"), kind="stable").astype(float)
    ry = np.argsort(np.argsort(y, kind="stable"), kind="stable").astype(float)
    return float(np.corrcoef(rx, ry)[0, 1])


def _midi(generator, v: float, a: float, bars: int, seed: int):
    piece = compose(generator, v, a, bars=bars, seed=seed)
    return render_midi(piece.phrases, piece.accompaniment, tempo_bpm=piece.controls.tempo_bpm,
                       meter=piece.meter, tonic=piece.tonic, mode=piece.controls.mode)


def evaluate(model: str, *, pieces: int = 10, bars: int = 16, grid_seeds: int = 2) -> Report:
    gen = load_generator(model, prefer_gpu=False)
    report = Report(model, pieces_per_corner=pieces)
    pcs, intervals, consistency = [], [], []
    for (v, a) in CORNERS:
        q = quadrant(v, a)
        report.corner_hits[q] = 0
        for seed in range(pieces):
            mid = _midi(gen, v, a, bars, seed)
            report.corner_hits[q] += analyze(mid).quadrant == q
            stats = melody_stats(melody_notes(mid, channel=0))
            pcs.append(stats.pc_hist)
            intervals.append(stats.interval_hist)
            consistency.append(stats.scale_consistency)
    req_v, req_a, got_v, got_a = [], [], [], []
    for v in GRID:
        for a in GRID:
            for seed in range(grid_seeds):
                f = analyze(_midi(gen, v, a, 8, 100 + seed))
                req_v.append(v)
                req_a.append(a)
                got_v.append(f.valence)
                got_a.append(f.arousal)
    report.valence_rho = _spearman(req_v, got_v)
    report.arousal_rho = _spearman(req_a, got_a)
    report.grid_means = {
        "valence": [round(float(np.mean([g for r, g in zip(req_v, got_v) if r == x])), 3) for x in GRID],
        "arousal": [round(float(np.mean([g for r, g in zip(req_a, got_a) if r == x])), 3) for x in GRID]}
    ref = load_card(model).get("reference_melody_stats")
    if ref:
        report.pc_overlap = compare_histograms(np.mean(pcs, axis=0), np.array(ref["pc_hist"]))
        mean_iv = {k: float(np.mean([h.get(k, 0.0) for h in intervals])) for k in range(-12, 13)}
        report.interval_overlap = compare_histograms(mean_iv, {int(k): v for k, v in ref["interval_hist"].items()})
        report.reference_scale_consistency = ref["scale_consistency"]
    report.scale_consistency = float(np.mean(consistency))
    return report


def print_report(r: Report) -> None:
    n = r.pieces_per_corner
    hits = ", ".join(f"Q{q} {h}/{n}" for q, h in sorted(r.corner_hits.items()))
    print(f"{r.model}: quadrant recognised at |V|=|A|=0.8 (16 bars): {hits}")
    print(f"{r.model}: Spearman requested vs measured over a 5x5 grid: valence {r.valence_rho:.2f}, "
          f"arousal {r.arousal_rho:.2f}")
    print(f"{r.model}: mean measured valence by requested V {list(GRID)}: {r.grid_means['valence']}")
    print(f"{r.model}: mean measured arousal by requested A {list(GRID)}: {r.grid_means['arousal']}")
    print(f"{r.model}: melody vs real tunes: pitch-class overlap {r.pc_overlap:.2f}, interval overlap "
          f"{r.interval_overlap:.2f}, scale consistency {r.scale_consistency:.3f} "
          f"(real tunes {r.reference_scale_consistency:.3f})")
