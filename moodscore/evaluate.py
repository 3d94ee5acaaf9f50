"""``moodscore evaluate``: judge generated pieces as a listener would, from the MIDI alone.

Each piece is rendered to a Standard MIDI File in memory and measured by
:mod:`moodscore.analysis` (key and mode from pitch-class profiles, note density, loudness,
tempo, register). Reported: how often the requested quadrant is recognised at the four
corners, how measured valence and arousal follow the requested values over a grid (Spearman
rank correlation), and how close the melodies are to real tunes (histogram overlaps with the
reference statistics stored in the model card, and scale consistency).

The structure and arrangement measures of :mod:`moodscore.measure.structure` (harmonic rhythm,
cadence rate, chord-tone share, rhythm-pattern variety, sounding parts, melodic recurrence,
velocity spread) are taken of the corner and centre pieces, the parts also at intensities 0,
0.5 and 1, and reported beside the same measures of Bach chorales and folk tunes (cached in
``moodscore/measure/references.json``; music21 is not needed here); then again for every
built-in style at intensities 0, 0.5 and 1 (one piece per corner and the centre).

Public API: :func:`evaluate`, :class:`Report`, :func:`print_report`, :func:`print_structure`,
``INTENSITIES``.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import numpy as np

from .analysis import analyze, compare_histograms, melody_notes, melody_stats
from .engine.compose import compose
from .export.midi import render_midi
from .measure.references import load_references
from .measure.structure import SUMMARY_KEYS, Structure, measure, summarise
from .models.labels import quadrant
from .models.runtime import load_card, load_generator

CORNERS = ((0.8, 0.8), (-0.8, 0.8), (-0.8, -0.8), (0.8, -0.8))
GRID = (-0.8, -0.4, 0.0, 0.4, 0.8)
CENTRE = (0.0, 0.0)
INTENSITIES = (0.0, 0.5, 1.0)


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
    grid: tuple[float, ...] = GRID
    grid_seeds: int = 2
    structure: dict[str, float | None] = field(default_factory=dict)  # corners and centre
    neutral: dict[str, float | None] = field(default_factory=dict)  # the centre pieces only
    structure_pieces: int = 0
    parts_by_intensity: dict[float, float] = field(default_factory=dict)  # empty: no control
    references: dict[str, dict] = field(default_factory=dict)  # set -> {"pieces", "means"}
    # style -> intensity -> summary over the corners and the centre (one piece each)
    by_style: dict[str, dict[float, dict[str, float | None]]] = field(default_factory=dict)
    by_style_neutral: dict[str, dict[float, dict[str, float | None]]] = field(default_factory=dict)


def _ranks(values: list[float]) -> np.ndarray:
    """Ranks from 0, tied values sharing the mean of their ranks (as Spearman's rho needs:
    every request on the grid is repeated, and ordinal ranks would order ties arbitrarily)."""
    x = np.asarray(values, dtype=float)
    ranks = np.empty(len(x))
    ranks[np.argsort(x, kind="stable")] = np.arange(len(x))
    for value in np.unique(x):
        tied = x == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def _spearman(x: list[float], y: list[float]) -> float:
    return float(np.corrcoef(_ranks(x), _ranks(y))[0, 1])


def _midi(generator, v: float, a: float, bars: int, seed: int, **options):
    piece = compose(generator, v, a, bars=bars, seed=seed, **options)
    return render_midi(piece.phrases, piece.accompaniment, tempo_bpm=piece.controls.tempo_bpm,
                       meter=piece.meter, tonic=piece.tonic, mode=piece.controls.mode)


def _by_style(gen, report: Report, bars: int) -> None:
    """Every built-in style at intensities 0, 0.5 and 1, over the corners and the centre."""
    from .arranger.styles import builtin

    for name, style in builtin().items():
        for x in INTENSITIES:
            got = {(v, a): measure(_midi(gen, v, a, bars, 0, style=style, intensity=x))
                   for v, a in CORNERS + (CENTRE,)}
            report.by_style.setdefault(name, {})[x] = summarise(list(got.values()))
            report.by_style_neutral.setdefault(name, {})[x] = summarise([got[CENTRE]])


def evaluate(model: str, *, pieces: int = 10, bars: int = 16, grid_seeds: int = 2,
             styles: bool = True, grid: tuple[float, ...] = GRID, precision: str | None = None) -> Report:
    """``precision``: the model's graph, ``fp32`` or ``int8`` (None: its card's default)."""
    gen = load_generator(model, prefer_gpu=False, precision=precision)
    report = Report(model if precision is None else f"{model} {precision}", pieces_per_corner=pieces)
    pcs, intervals, consistency = [], [], []
    structures: list[Structure] = []
    for (v, a) in CORNERS:
        q = quadrant(v, a)
        report.corner_hits[q] = 0
        for seed in range(pieces):
            mid = _midi(gen, v, a, bars, seed)
            report.corner_hits[q] += analyze(mid).quadrant == q
            structures.append(measure(mid))
            stats = melody_stats(melody_notes(mid, channel=0))
            pcs.append(stats.pc_hist)
            intervals.append(stats.interval_hist)
            consistency.append(stats.scale_consistency)
    req_v, req_a, got_v, got_a = [], [], [], []
    report.grid, report.grid_seeds = tuple(grid), grid_seeds
    for v in grid:
        for a in grid:
            for seed in range(grid_seeds):
                f = analyze(_midi(gen, v, a, 8, 100 + seed))
                req_v.append(v)
                req_a.append(a)
                got_v.append(f.valence)
                got_a.append(f.arousal)
    centre = [measure(_midi(gen, *CENTRE, bars, seed)) for seed in range(pieces)]
    report.structure = summarise(structures + centre)
    report.neutral = summarise(centre)
    report.structure_pieces = len(structures) + len(centre)
    if "intensity" in inspect.signature(compose).parameters:
        for x in INTENSITIES:
            parts = [measure(_midi(gen, v, a, bars, 0, intensity=x)).parts for v, a in CORNERS + (CENTRE,)]
            report.parts_by_intensity[x] = float(np.mean(parts))
        if styles and "style" in inspect.signature(compose).parameters:
            _by_style(gen, report, bars)
    report.references = load_references()["sets"]
    report.valence_rho = _spearman(req_v, got_v)
    report.arousal_rho = _spearman(req_a, got_a)
    report.grid_means = {
        "valence": [round(float(np.mean([g for r, g in zip(req_v, got_v) if r == x])), 3) for x in grid],
        "arousal": [round(float(np.mean([g for r, g in zip(req_a, got_a) if r == x])), 3) for x in grid]}
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
    print(f"{r.model}: Spearman requested vs measured over a {len(r.grid)}x{len(r.grid)} grid, "
          f"{r.grid_seeds} pieces a point: valence {r.valence_rho:.2f}, "
          f"arousal {r.arousal_rho:.2f}")
    print(f"{r.model}: mean measured valence by requested V {list(r.grid)}: {r.grid_means['valence']}")
    print(f"{r.model}: mean measured arousal by requested A {list(r.grid)}: {r.grid_means['arousal']}")
    print_structure(r)
    print(f"{r.model}: melody vs real tunes: pitch-class overlap {r.pc_overlap:.2f}, interval overlap "
          f"{r.interval_overlap:.2f}, scale consistency {r.scale_consistency:.3f} "
          f"(real tunes {r.reference_scale_consistency:.3f})")


_LABELS = {"harmonic_rhythm": "harmonic rhythm (chord changes/bar)",
           "cadence_rate": "cadence rate (authentic or half, per 4-bar phrase end)",
           "chord_tone_share": "melody chord-tone share", "melody_variety": "melody bar-pattern variety",
           "accompaniment_variety": "accompaniment bar-pattern variety (per part)",
           "drum_variety": "drum bar-pattern variety", "parts": "sounding parts",
           "recurrence_1": "melodic recurrence at 1 bar", "recurrence_2": "melodic recurrence at 2 bars",
           "recurrence_4": "melodic recurrence at 4 bars", "recurrence_8": "melodic recurrence at 8 bars",
           "velocity_spread": "velocity spread (std within a part)"}


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def print_structure(r: Report) -> None:
    """The structure measures of ``r`` beside Bach chorales, chorded folk tunes and Essen songs."""
    refs = r.references
    names = [n for n in ("bach", "folk", "essen") if n in refs]
    head = " | ".join(f"{n} ({refs[n]['pieces']})" for n in names)
    print(f"{r.model}: structure of {r.structure_pieces} pieces (corners and centre, 16 bars) | centre | {head}")
    for key in SUMMARY_KEYS:
        row = " | ".join(_fmt(refs[n]["means"].get(key)) for n in names)
        print(f"  {_LABELS[key]:<56} {_fmt(r.structure.get(key)):>6} | {_fmt(r.neutral.get(key)):>6} | {row}")
    if r.parts_by_intensity:
        parts = ", ".join(f"{x:g}: {p:.1f}" for x, p in sorted(r.parts_by_intensity.items()))
        print(f"{r.model}: sounding parts by intensity (mean of corners and centre): {parts}")
    if r.by_style:
        print(f"{r.model}: per style and intensity (corners and centre, one piece each): harmonic rhythm at "
              "the centre, cadence rate, chord-tone share, accompaniment / drum variety, velocity spread, parts")
        for name, rows in r.by_style.items():
            for x, m in sorted(rows.items()):
                centre = r.by_style_neutral[name][x]
                print(f"  {name:<11} {x:>3g}: {_fmt(centre['harmonic_rhythm'])} {_fmt(m['cadence_rate'])} "
                      f"{_fmt(m['chord_tone_share'])} {_fmt(m['accompaniment_variety'])} / "
                      f"{_fmt(m['drum_variety'])} {_fmt(m['velocity_spread'])} {_fmt(m['parts'])}")
