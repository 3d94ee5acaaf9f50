"""Tests for moodscore.analysis on small MIDI files built with mido."""
from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest

from moodscore.analysis import (
    Features,
    analyze,
    compare_histograms,
    melody_notes,
    melody_stats,
)
from moodscore.errors import ConfigError, DataError

TPB = 480
# (pitch, start beat, duration in beats, velocity, channel)
Ev = tuple[int, float, float, int, int]

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)


def build_midi(events: list[Ev], bpm: float | list[tuple[float, float]]) -> mido.MidiFile:
    """Type 1: track 0 holds the tempo map (one BPM or (beat, BPM) pairs), then one per channel."""
    tempo_map = [(0.0, bpm)] if isinstance(bpm, (int, float)) else bpm
    mid = mido.MidiFile(type=1, ticks_per_beat=TPB)
    mid.tracks.append(_track([
        (round(b * TPB), 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(t)))
        for b, t in tempo_map
    ]))
    for ch in sorted({e[4] for e in events}):
        timed = []
        for pitch, start, dur, vel, _ in (e for e in events if e[4] == ch):
            on = mido.Message("note_on", note=pitch, velocity=vel, channel=ch)
            off = mido.Message("note_off", note=pitch, channel=ch)
            timed += [(round(start * TPB), 1, on), (round((start + dur) * TPB), 0, off)]
        mid.tracks.append(_track(timed))
    return mid


def _track(timed: list[tuple[int, int, mido.Message]]) -> mido.MidiTrack:
    track, now = mido.MidiTrack(), 0
    for tick, _, msg in sorted(timed, key=lambda x: (x[0], x[1])):  # offs before ons at a tick
        track.append(msg.copy(time=tick - now))
        now = tick
    return track


def scale_tune(root: int, steps: tuple[int, ...], step_beats: float, vel: int,
               bars: int = 4) -> list[Ev]:
    """A scale from MIDI pitch `root` up and down on channel 0, a tonic triad a bar on channel 1."""
    degrees = list(range(8)) + list(range(7, -1, -1))
    pitches = [root + 12 * (d // 7) + steps[d % 7] for d in degrees]
    events: list[Ev] = []
    beat = 0.0
    while beat < bars * 4:
        for p in pitches:
            if beat >= bars * 4:
                break
            events.append((p, beat, step_beats, vel, 0))
            beat += step_beats
    triad = (steps[0], steps[2], steps[4])
    for bar in range(bars):
        events += [(root - 12 + t, bar * 4.0, 4.0, vel - 10, 1) for t in triad]
    return events


def triad_tune(root: int, steps: tuple[int, ...], note_beats: float, vel: int,
               bars: int = 4) -> list[Ev]:
    """A melody that dwells on the tonic triad (scale tones passing between), over a held triad."""
    degrees = [0, 2, 4, 2, 0, 1, 2, 4, 7, 4, 2, 3, 4, 2, 1, 0]
    events: list[Ev] = []
    beat = 0.0
    i = 0
    while beat < bars * 4:
        d = degrees[i % len(degrees)]
        p = root + 12 * (d // 7) + steps[d % 7]
        events.append((p, beat, note_beats, vel, 0))
        beat += note_beats
        i += 1
    for bar in range(bars):
        events += [(root - 12 + steps[t], bar * 4.0, 4.0, vel - 10, 1) for t in (0, 2, 4)]
    return events


def transpose(events: list[Ev], k: int) -> list[Ev]:
    return [(p + k, s, d, v, c) for p, s, d, v, c in events]


# --- the four quadrants -----------------------------------------------------------------------


def test_c_major_fast_loud_dense_is_q1(tmp_path: Path) -> None:
    path = tmp_path / "c_major.mid"
    build_midi(scale_tune(60, MAJOR, 0.5, 110), 170).save(path)
    f = analyze(path)  # from a path, the other tests pass MidiFile objects
    assert (f.tonic, f.mode) == (0, "major")
    assert f.mode_score > 0 and f.key_clarity > 0.7
    assert f.tempo_bpm == pytest.approx(170, abs=0.01)
    assert f.valence > 0 and f.arousal > 0 and f.quadrant == 1


def test_a_minor_slow_soft_sparse_is_q3() -> None:
    f = analyze(build_midi(triad_tune(57, MINOR, 2.0, 45), 50))
    assert (f.tonic, f.mode) == (9, "minor")
    assert f.mode_score < 0
    assert f.notes_per_second < 1.5
    assert f.valence < 0 and f.arousal < 0 and f.quadrant == 3


def test_e_minor_fast_loud_dense_is_q2() -> None:
    f = analyze(build_midi(triad_tune(64, MINOR, 0.5, 112), 180))
    assert (f.tonic, f.mode) == (4, "minor")
    assert f.valence < 0 and f.arousal > 0 and f.quadrant == 2


def test_g_major_slow_soft_is_q4() -> None:
    f = analyze(build_midi(triad_tune(67, MAJOR, 2.0, 45), 55))
    assert (f.tonic, f.mode) == (7, "major")
    assert f.valence > 0 and f.arousal < 0 and f.quadrant == 4


@pytest.mark.parametrize("k", range(12))
@pytest.mark.parametrize("steps,mode", [(MAJOR, "major"), (MINOR, "minor")])
def test_mode_is_transposition_invariant(k: int, steps: tuple[int, ...], mode: str) -> None:
    f = analyze(build_midi(transpose(triad_tune(60, steps, 1.0, 80), k - 6), 100))
    assert f.mode == mode
    assert f.tonic == (k - 6) % 12


def test_raising_tempo_raises_arousal() -> None:
    events = triad_tune(60, MAJOR, 1.0, 80)
    arousal = [analyze(build_midi(events, bpm)).arousal for bpm in (50, 80, 110, 140, 200)]
    assert all(a < b for a, b in zip(arousal, arousal[1:])), arousal


def test_tempo_alone_raises_arousal() -> None:
    # One note a second at every tempo (notes last bpm/60 beats), so only the tempo term moves.
    def tune(bpm: float) -> list[Ev]:
        beats = bpm / 60
        return [(60 + MAJOR[i % 7], i * beats, beats, 80, 0) for i in range(8)]

    feats = [analyze(build_midi(tune(bpm), bpm)) for bpm in (60, 110, 180)]
    assert [f.notes_per_second for f in feats] == pytest.approx([1.0, 1.0, 1.0], rel=1e-4)
    assert feats[0].arousal < feats[1].arousal < feats[2].arousal


def test_louder_raises_arousal_and_higher_register_raises_valence() -> None:
    soft = analyze(build_midi(triad_tune(60, MAJOR, 1.0, 50), 100))
    loud = analyze(build_midi(triad_tune(60, MAJOR, 1.0, 110), 100))
    high = analyze(build_midi(triad_tune(72, MAJOR, 1.0, 50), 100))
    assert loud.arousal > soft.arousal
    assert high.valence > soft.valence and high.mean_pitch == pytest.approx(soft.mean_pitch + 12)


def test_minor_chords_under_the_same_melody_lower_valence() -> None:
    # A pentatonic tune (no third, no sixth: its mode is the chords') over C F G C or Cm Fm Gm Cm.
    tune = [(60 + [0, 2, 7, 5, 2, 0, 7, 0][i % 8], i * 0.5, 0.5, 80, 0) for i in range(32)]

    def chords(third: int) -> list[Ev]:
        out: list[Ev] = []
        for bar, root in enumerate((48, 53, 55, 48)):
            out += [(root + iv, bar * 4.0, 4.0, 70, 1) for iv in (0, third, 7)]
        return out

    bright = analyze(build_midi(tune + chords(4), 100))
    dark = analyze(build_midi(tune + chords(3), 100))
    alone = analyze(build_midi(tune, 100))
    assert (bright.harmony_balance, dark.harmony_balance, alone.harmony_balance) == (1.0, -1.0, None)
    assert bright.mode == "major" and dark.mode == "minor"
    assert dark.valence < alone.valence < bright.valence
    assert bright.valence - dark.valence > 1.0


# --- the raw features ---------------------------------------------------------------------------


def test_tempo_changes_give_time_weighted_mean() -> None:
    # 4 beats at 120 (2 s) then 4 beats at 60 (4 s): (120*2 + 60*4) / 6 = 80 BPM.
    events = [(60 + MAJOR[i % 7], float(i), 1.0, 80, 0) for i in range(8)]
    f = analyze(build_midi(events, [(0.0, 120.0), (4.0, 60.0)]))
    assert f.tempo_bpm == pytest.approx(80.0, rel=1e-6)
    assert f.duration_s == pytest.approx(6.0, rel=1e-6)
    assert f.notes_per_second == pytest.approx(8 / 6.0, rel=1e-6)


def test_key_histogram_is_duration_weighted() -> None:
    # By count the tune is mostly G B D F (a G7 arpeggio); by time it is held A, C and E.
    held = [(57, 0.0, 4.0), (60, 4.0, 4.0), (64, 8.0, 4.0), (57, 12.0, 4.0)]
    quick = [(p, 16.0 + 0.25 * i, 0.25) for i, p in enumerate([67, 71, 74, 65] * 3)]
    f = analyze(build_midi([(p, s, d, 80, 0) for p, s, d in held + quick], 100))
    assert (f.tonic, f.mode) == (9, "minor")


def test_no_tempo_means_120_bpm() -> None:
    mid = build_midi([(60, 0.0, 1.0, 80, 0), (64, 1.0, 1.0, 80, 0)], 90)
    del mid.tracks[0][0]  # drop the set_tempo
    f = analyze(mid)
    assert f.tempo_bpm == pytest.approx(120.0)
    assert f.duration_s == pytest.approx(1.0)


def test_melody_stats_use_channel_0_and_drums_are_ignored() -> None:
    tune = triad_tune(60, MAJOR, 1.0, 80)
    drums = [(36 + i % 3, i * 0.25, 0.1, 127, 9) for i in range(64)]
    plain, with_drums = analyze(build_midi(tune, 100)), analyze(build_midi(tune + drums, 100))
    assert plain == with_drums
    melody = [p for p, _, _, _, c in tune if c == 0]
    assert plain.mean_pitch == pytest.approx(np.mean(melody))
    assert plain.pitch_std == pytest.approx(np.std(melody))
    assert plain.mean_velocity == pytest.approx(np.mean([v for _, _, _, v, _ in tune]))


def test_features_are_frozen() -> None:
    f = analyze(build_midi(triad_tune(60, MAJOR, 1.0, 80), 100))
    assert isinstance(f, Features)
    with pytest.raises(AttributeError):
        f.tonic = 3  # type: ignore[misc]


def test_files_without_pitched_notes_and_unreadable_files_raise(tmp_path: Path) -> None:
    with pytest.raises(DataError):
        analyze(build_midi([(36, 0.0, 1.0, 100, 9)], 100))
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not a midi file")
    with pytest.raises(DataError):
        analyze(bad)


# --- melody statistics --------------------------------------------------------------------------


def test_melody_notes_reads_one_channel_in_beats() -> None:
    mid = build_midi([(62, 1.0, 0.5, 80, 0), (60, 0.0, 1.0, 80, 0), (48, 0.0, 4.0, 70, 1)], 77)
    assert melody_notes(mid) == [(60, 1.0), (62, 0.5)]
    assert melody_notes(mid, channel=1) == [(48, 4.0)]
    with pytest.raises(ConfigError):
        melody_notes(mid, channel=16)


def test_diatonic_melody_is_fully_scale_consistent() -> None:
    # D dorian tune: all notes inside C major, though neither C nor D is the tonic emphasised.
    notes = [(62, 1.0), (65, 0.5), (69, 0.5), (71, 1.0), (72, 0.5), (67, 0.5), (64, 1.0), (62, 2.0)]
    assert melody_stats(notes).scale_consistency == pytest.approx(1.0)


def test_chromatic_scale_is_not_scale_consistent() -> None:
    stats = melody_stats([(60 + i, 1.0) for i in range(13)])
    assert stats.scale_consistency < 0.8
    assert stats.interval_hist[1] == pytest.approx(1.0)


def test_one_foreign_note_lowers_scale_consistency_by_its_duration_share() -> None:
    notes = [(60, 1.0), (62, 1.0), (63, 1.0), (64, 1.0)]  # Eb in C major: 3 of 4 beats
    assert melody_stats(notes).scale_consistency == pytest.approx(0.75)


def test_scale_consistency_is_duration_weighted() -> None:
    # C C# D fits no diatonic scale; C major (or Db major) holds 7 of the 8 beats, 2 of 3 notes.
    notes = [(60, 6.0), (61, 1.0), (62, 1.0)]
    assert melody_stats(notes).scale_consistency == pytest.approx(7 / 8)


def test_repeated_note_intervals_are_all_zero() -> None:
    stats = melody_stats([(67, 0.5)] * 9)
    assert stats.interval_hist[0] == pytest.approx(1.0)
    assert sum(stats.interval_hist.values()) == pytest.approx(1.0)
    assert set(stats.interval_hist) == set(range(-12, 13))
    assert stats.mean_abs_interval == 0.0 and stats.large_leap_rate == 0.0


def test_intervals_are_clipped_and_leaps_counted() -> None:
    stats = melody_stats([(60, 1.0), (79, 1.0), (60, 1.0), (67, 1.0), (69, 1.0)])
    # steps: +19 -> 12, -19 -> -12, +7, +2
    assert stats.interval_hist[12] == pytest.approx(0.25)
    assert stats.interval_hist[-12] == pytest.approx(0.25)
    assert stats.interval_hist[7] == pytest.approx(0.25)
    assert stats.mean_abs_interval == pytest.approx((19 + 19 + 7 + 2) / 4)
    assert stats.large_leap_rate == pytest.approx(0.5)  # the fifth (7) is not a large leap


def test_pc_hist_is_rotated_to_the_tonic_and_normalised() -> None:
    g_major = [(67 + MAJOR[d], 1.0) for d in (0, 2, 4, 2, 0, 4, 0, 1, 3, 5, 6, 0)]
    e_flat = transpose([(p, 0.0, d, 0, 0) for p, d in g_major], -4)
    hist_g = melody_stats(g_major).pc_hist
    hist_eb = melody_stats([(p, d) for p, _, d, _, _ in e_flat]).pc_hist
    assert hist_g.shape == (12,) and hist_g.sum() == pytest.approx(1.0)
    assert hist_g[0] == hist_g.max()  # G, the tonic, is the most frequent pitch class
    assert hist_g[1] == 0.0 and hist_g[6] == 0.0  # no Ab, no C#
    np.testing.assert_allclose(hist_g, hist_eb)


def test_melody_stats_rejects_empty_and_negative_durations() -> None:
    with pytest.raises(ConfigError):
        melody_stats([])
    with pytest.raises(ConfigError):
        melody_stats([(60, 1.0), (62, -0.5)])


def test_compare_histograms() -> None:
    p = np.array([0.5, 0.5, 0.0])
    assert compare_histograms(p, p) == pytest.approx(1.0)
    assert compare_histograms(p, np.array([0.0, 0.0, 1.0])) == 0.0
    assert compare_histograms(p, np.array([0.25, 0.25, 0.5])) == pytest.approx(0.5)
    assert compare_histograms({0: 0.7, 2: 0.3}, {0: 0.4, 1: 0.6}) == pytest.approx(0.4)
    with pytest.raises(ConfigError):
        compare_histograms(p, np.ones(4) / 4)


def test_same_melody_shape_in_two_keys_overlaps_fully() -> None:
    tune = [(p, d) for p, _, d, _, c in triad_tune(60, MAJOR, 1.0, 80) if c == 0]
    a = melody_stats(tune)
    b = melody_stats([(p + 5, d) for p, d in tune])
    assert compare_histograms(a.pc_hist, b.pc_hist) == pytest.approx(1.0)
    assert compare_histograms(a.interval_hist, b.interval_hist) == pytest.approx(1.0)
