"""Structure measures on hand-made MIDI files whose chords, cadences and repeats are known."""
from __future__ import annotations

import mido
import pytest

from moodscore.errors import DataError
from moodscore.measure.references import load_references
from moodscore.measure.structure import SUMMARY_KEYS, measure, summarise

TPB = 480
C, F, G, AM = (48, 52, 55, 60), (53, 57, 60, 65), (43, 50, 55, 59), (45, 48, 52, 57)
# three 4-bar phrases: C F G C (authentic) | C Am F G (half) | C Am F C (plagal: neither)
CHORDS = [C, F, G, C, C, AM, F, G, C, AM, F, C]
MELODY = [64, 65, 69, 60, 64, 64, 69, 62, 64, 64, 69, 60]  # A over G in bar 3: no chord tone


def piece(meter=(4, 4), drums=True) -> mido.MidiFile:
    bar = meter[0] * 4 // meter[1]
    mid = mido.MidiFile(type=1, ticks_per_beat=TPB)
    mid.tracks.append(mido.MidiTrack([mido.MetaMessage("time_signature", numerator=meter[0],
                                                       denominator=meter[1])]))
    events: dict[int, list] = {0: [], 1: [], 9: []}
    for b, (chord, note) in enumerate(zip(CHORDS, MELODY)):
        t0, t1 = b * bar * TPB, (b + 1) * bar * TPB
        events[0] += [(t0, 1, note, 80), (t1, 0, note, 0)]
        vel = 60 if b % 2 else 80
        events[1] += [(t0, 1, p, vel) for p in chord] + [(t1, 0, p, 0) for p in chord]
        hits = (0, 1, 2, 3) if b % 2 else (0, 2)  # two drum bar patterns
        for h in hits:
            events[9] += [(t0 + h * TPB, 1, 36, 100), (t0 + h * TPB + 100, 0, 36, 0)]
    for ch, evs in events.items():
        if ch == 9 and not drums:
            continue
        track, now = mido.MidiTrack(), 0
        for tick, on, pitch, vel in sorted(evs, key=lambda e: (e[0], e[1])):
            kind = "note_on" if on else "note_off"
            track.append(mido.Message(kind, channel=ch, note=pitch, velocity=vel, time=tick - now))
            now = tick
        mid.tracks.append(track)
    return mid


def test_known_chords_give_known_harmony_measures():
    s = measure(piece())
    assert s.bars == 12
    assert s.harmonic_rhythm == pytest.approx(10 / 12)  # C-C and G-G across bars are no change
    assert s.cadences == ["authentic", "half", "other"]
    assert s.cadence_rate == pytest.approx(2 / 3)
    assert s.chord_tone_share == pytest.approx(11 / 12)


def test_rhythm_variety_parts_recurrence_and_velocity():
    s = measure(piece())
    assert s.pattern_variety == {0: pytest.approx(1 / 12), 1: pytest.approx(1 / 12),
                                 9: pytest.approx(2 / 12)}
    assert s.accompaniment_variety == pytest.approx(1 / 12)
    assert s.drum_variety == pytest.approx(2 / 12)
    assert s.parts == 3
    assert s.recurrence[4] == pytest.approx(5 / 8)
    assert s.recurrence[8] == pytest.approx(3 / 4)  # bars 1-4 against 9-12: E A C match, F/E not
    assert s.recurrence[1] == pytest.approx(2 / 11)  # E E in bars 5-6 and 9-10
    assert s.velocity_spread == pytest.approx(10 / 3)  # chords alternate 60/80; others constant


def test_bars_follow_the_time_signature():
    s = measure(piece(meter=(3, 4), drums=False))
    assert s.bars == 12 and s.cadences == ["authentic", "half", "other"]
    assert s.drum_variety is None and s.parts == 2


def test_a_melody_alone_has_no_harmony_measures_and_empty_files_are_refused():
    mid = piece()
    mid.tracks = mid.tracks[:2]
    s = measure(mid)
    assert s.harmonic_rhythm is None and s.cadence_rate is None and s.chord_tone_share is None
    assert s.recurrence[4] == pytest.approx(5 / 8)
    empty = mido.MidiFile(type=1)
    empty.tracks.append(mido.MidiTrack())
    with pytest.raises(DataError, match="no notes"):
        measure(empty)


def test_summary_means_and_the_cached_references():
    summary = summarise([measure(piece()), measure(piece(drums=False))])
    assert set(summary) == set(SUMMARY_KEYS)
    assert summary["parts"] == pytest.approx(2.5)
    refs = load_references()
    assert refs["command"].startswith("python -m moodscore.measure.references")
    for name in ("bach", "folk", "essen"):
        assert refs["sets"][name]["pieces"] >= 4
        assert set(refs["sets"][name]["means"]) == set(SUMMARY_KEYS)
    bach = refs["sets"]["bach"]["means"]
    assert 1.5 < bach["harmonic_rhythm"] < 4 and 0.6 < bach["chord_tone_share"] < 0.8


def test_a_seventh_added_to_the_final_triad_is_still_the_tonic_after_v():
    # bar 4 of the first phrase: G for two beats, then C7 (C E G Bb), then C
    mid = piece()
    track = mid.tracks[2]  # the chords
    events, t = [], 0
    for m in track:
        t += m.time
        events.append((t, m))
    bar4 = 3 * 4 * TPB
    kept = [(tk, m) for tk, m in events if not (bar4 <= tk < bar4 + 4 * TPB) and not
            (m.type == "note_off" and tk == bar4 + 4 * TPB and m.note in C)]
    new = [(bar4, mido.Message("note_on", channel=1, note=p, velocity=70)) for p in G]
    new += [(bar4 + 2 * TPB, mido.Message("note_off", channel=1, note=p)) for p in G]
    new += [(bar4 + 2 * TPB, mido.Message("note_on", channel=1, note=p, velocity=70)) for p in (48, 52, 55, 58)]
    new += [(bar4 + 3 * TPB, mido.Message("note_off", channel=1, note=p)) for p in (48, 52, 55, 58)]
    new += [(bar4 + 3 * TPB, mido.Message("note_on", channel=1, note=p, velocity=70)) for p in C]
    new += [(bar4 + 4 * TPB, mido.Message("note_off", channel=1, note=p)) for p in C]
    out, now = mido.MidiTrack(), 0
    for tk, m in sorted(kept + new, key=lambda x: (x[0], x[1].type == "note_on")):
        if m.is_meta:
            continue
        out.append(m.copy(time=tk - now))
        now = tk
    mid.tracks[2] = out
    s = measure(mid)
    assert s.cadences[0] == "authentic", s.cadences
