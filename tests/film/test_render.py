"""``moodscore render`` end to end: a cue sheet in, a MIDI file out, read back with mido as a DAW
would read it: SMPTE offset, markers, tempo map, hit points."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import mido
import pytest

from moodscore.film import cuesheet
from moodscore.film.score import fit_tempo, score
from moodscore.models.runtime import load_generator
from moodscore.music import Meter

EXAMPLE = Path(__file__).parents[2] / "examples" / "cue_sheet" / "reel1.json"
FRAME = 1001 / 30000  # one frame at 29.97


def moodscore(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "moodscore.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def timed(mid: mido.MidiFile) -> list[tuple[float, mido.Message]]:
    out, now = [], 0.0
    for msg in mid:  # mido plays the tempo map: times in seconds, as a DAW would
        now += msg.time
        out.append((now, msg))
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("render") / "reel1.mid"
    done = moodscore("render", EXAMPLE, "-o", out, "--model", "lstm")
    assert done.returncode == 0, done.stderr
    return out, done.stdout


def test_the_file_opens_at_the_sheet_start_with_a_marker_at_every_cue_point(rendered: tuple[Path, str]) -> None:
    path, stdout = rendered
    sheet = cuesheet.load(EXAMPLE)
    mid = mido.MidiFile(path)
    smpte = [m for m in mid.tracks[0] if m.type == "smpte_offset"]
    assert len(smpte) == 1 and (smpte[0].frame_rate, smpte[0].hours, smpte[0].minutes,
                                smpte[0].seconds, smpte[0].frames) == (29.97, 0, 59, 58, 0)
    markers = [(t, m.text) for t, m in timed(mid) if m.type == "marker"]
    expected = []
    for cue in sheet.cues:
        expected += [(sheet.seconds(cue.start), f"{cue.name} "), (sheet.seconds(cue.end), f"{cue.name} out")]
    assert len(markers) == len(expected)
    for (t, text), (want, prefix) in zip(markers, expected):
        assert text.startswith(prefix)
        assert abs(t - want) < FRAME, (text, t, want)
    assert "x real time" in stdout and "1M03" in stdout


def test_the_music_starts_on_each_in_point_and_stops_by_its_out_point(rendered: tuple[Path, str]) -> None:
    path, _ = rendered
    sheet = cuesheet.load(EXAMPLE)
    events = [(t, m) for t, m in timed(mido.MidiFile(path)) if m.type in ("note_on", "note_off")]
    ons = [t for t, m in events if m.type == "note_on" and m.velocity > 0]
    spans = [(sheet.seconds(c.start), sheet.seconds(c.end)) for c in sheet.cues]
    for lo, hi in spans:
        first = min(t for t in ons if t >= lo - FRAME)
        assert abs(first - lo) < FRAME  # the downbeat on the in point
    # nothing sounds outside the cues: every note starts and ends inside one
    for t, _ in events:
        assert any(lo - 0.002 <= t <= hi + 0.002 for lo, hi in spans), t


def test_phrase_boundaries_land_on_the_cue_points_within_a_frame() -> None:
    sheet = cuesheet.load(EXAMPLE)
    result = score(sheet, load_generator("lstm"))
    assert result.misses == 0
    for fit in result.fits:
        starts = [t for name, t in result.phrase_starts if name == fit.cue.name]
        phrase_s = fit.phrase_bars * 4 * 60 / fit.bpm
        assert len(starts) == fit.bars // fit.phrase_bars
        assert abs(starts[0] - fit.start) < FRAME
        assert abs(starts[-1] + phrase_s - fit.end) < FRAME  # the last phrase ends on the hit
        assert all(abs(b - a - phrase_s) < 1e-6 for a, b in zip(starts, starts[1:]))


def test_each_cue_has_its_own_mood(rendered: tuple[Path, str]) -> None:
    path, _ = rendered
    sheet = cuesheet.load(EXAMPLE)
    msgs = timed(mido.MidiFile(path))
    by_cue = {}
    for cue in sheet.cues:
        lo, hi = sheet.seconds(cue.start), sheet.seconds(cue.end)
        inside = [m for t, m in msgs if lo - 1e-3 <= t < hi]
        tempo = next(m.tempo for m in inside if m.type == "set_tempo")
        vel = [m.velocity for m in inside if m.type == "note_on" and m.velocity and m.channel == 0]
        programs = {m.channel: m.program for m in inside if m.type == "program_change"}
        by_cue[cue.name] = (mido.tempo2bpm(tempo), sum(vel) / len(vel), programs)
    calm, sad, chase, triumph = (by_cue[n] for n in ("1M01", "1M02", "1M03", "1M04"))
    assert calm[0] < 80 < 150 < chase[0] and triumph[0] > 150  # tempo follows arousal
    assert chase[1] > calm[1] and triumph[1] > calm[1]  # so does loudness
    assert calm[2][0] != chase[2][0]  # and the melody's instrument changes with the quadrant


def test_fit_prefers_whole_phrases_near_the_mood_tempo_and_refuses_impossible_cues() -> None:
    bpm, bars, pb = fit_tempo(32.0, 120.0, Meter())
    assert (bpm, bars, pb) == (120.0, 16, 4)
    bpm, bars, pb = fit_tempo(3.0, 100.0, Meter())  # too short for a 4-bar phrase near 100
    assert pb == bars < 4 and 20 <= bpm <= 300
    with pytest.raises(ValueError, match="one bar of 4/4 takes 0.80 s"):
        fit_tempo(0.5, 100.0, Meter())


def test_csv_sheet_with_fps(tmp_path: Path) -> None:
    csv = tmp_path / "cues.csv"
    csv.write_text("cue,in,out,mood,valence,arousal\n2M01,00:00:10:00,00:00:26:00,tense,,\n"
                   "2M02,00:00:26:00,00:00:40:00,,0.6,-0.6\n")
    out = tmp_path / "cues.mid"
    done = moodscore("render", csv, "-o", out, "--fps", "25", "--model", "lstm")
    assert done.returncode == 0, done.stderr
    smpte = next(m for m in mido.MidiFile(out).tracks[0] if m.type == "smpte_offset")
    assert (smpte.frame_rate, smpte.seconds) == (25, 10)


@pytest.mark.parametrize("change,says", [
    ({1: {"in": "01:00:30;00"}}, "cue 1M02: in: 01:00:30;00 overlaps cue 1M01"),
    ({0: {"out": "01:00:32;30"}}, "cue 1M01: out: .*frames must be 0-29"),
    ({2: {"mood": "xyzzy"}}, "cue 1M03: mood: no word"),
    ({3: {"out": "01:01:49;00"}}, "cue 1M04: out: the cue lasts 0.33 s"),
])
def test_a_malformed_sheet_writes_nothing_and_names_cue_and_field(tmp_path: Path, change: dict, says: str) -> None:
    data = json.loads(EXAMPLE.read_text())
    for i, fields in change.items():
        data["cues"][i].update(fields)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    out = tmp_path / "out.mid"
    done = moodscore("render", bad, "-o", out, "--wav", tmp_path / "out.wav")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert re.search(says, done.stderr), done.stderr
    assert list(tmp_path.iterdir()) == [bad]  # no MIDI, no WAV, no temporary file


def test_wav_through_fluidsynth_follows_the_cues(tmp_path: Path) -> None:
    import wave

    import numpy as np

    sheet = tmp_path / "two.json"
    sheet.write_text(json.dumps({"frame_rate": "25", "cues": [
        {"cue": "1M01", "in": "00:00:01:00", "out": "00:00:11:00", "mood": "calm"},
        {"cue": "1M02", "in": "00:00:13:00", "out": "00:00:23:00", "mood": "angry"}]}))
    mid, wav = tmp_path / "two.mid", tmp_path / "two.wav"
    done = moodscore("render", sheet, "-o", mid, "--wav", wav, "--model", "lstm")
    assert done.returncode == 0, done.stderr
    with wave.open(str(wav)) as w:
        rate = w.getframerate()
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(float)
    audio = audio.reshape(-1, 2).mean(axis=1)

    def rms(a: float, b: float) -> float:
        return float(np.sqrt(np.mean(audio[int(a * rate):int(b * rate)] ** 2)))

    # the file starts at the first cue (00:00:01:00): calm is 0-10 s, a gap, angry 12-22 s
    calm, gap, angry = rms(0.5, 9.5), rms(10.8, 11.9), rms(12.5, 21.5)
    assert calm > 100 and angry > 1.5 * calm, (calm, angry)  # not silent, and the cue changes it
    assert gap < 0.2 * calm, (gap, calm)  # the gap between cues is silent (after the release)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["two.json", "two.mid", "two.wav"]


def test_a_missing_soundfont_is_said_before_anything_is_written(tmp_path: Path) -> None:
    done = moodscore("render", EXAMPLE, "-o", tmp_path / "a.mid", "--wav", tmp_path / "a.wav",
                     "--soundfont", tmp_path / "none.sf2")
    assert done.returncode == 2 and "soundfont" in done.stderr and "is not a file" in done.stderr
    assert list(tmp_path.iterdir()) == []
