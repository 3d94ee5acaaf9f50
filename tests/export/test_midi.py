"""The file writers: MIDI re-read with mido, determinism, atomic writes; the ABC writer."""
from __future__ import annotations

import os

import mido
import pytest

from moodscore.arranger import arrange
from moodscore.engine.template import controls
from moodscore.errors import ConfigError, OutputError
from moodscore.export.abcfile import abc_text, write_abc
from moodscore.export.atomic import atomic_write_bytes
from moodscore.export.midi import key_signature, render_midi, write_midi
from moodscore.music import Meter, Note, Phrase


def _phrase(shift: int = 0) -> Phrase:
    pitches = [60, 64, 67, 72, 67, 71, 74, 71, 65, 69, 72, 69, 67, 64, 62, 60]
    return Phrase([Note(p + shift, i * 1.0, 1.0, 90) for i, p in enumerate(pitches)], bars=4)


@pytest.fixture
def song():
    phrases = [_phrase(), _phrase(2)]
    accompaniment = [
        arrange(phrases[0], controls(0.6, 0.8)),
        arrange(phrases[1], controls(-0.5, -0.5)),
    ]
    return phrases, accompaniment


def _kwargs(**over):
    kw = dict(tempo_bpm=[120.0, 90.0], meter=Meter(4, 4), tonic=0, mode="maj", title="test song")
    kw.update(over)
    return kw


def _count(accompaniment, phrases, channel):
    notes = [n for p in phrases for n in p.notes] + [n for a in accompaniment for n in a]
    return sum(n.channel == channel for n in notes)


def test_file_round_trips_through_mido(tmp_path, song):
    phrases, accompaniment = song
    path = tmp_path / "song.mid"
    write_midi(path, phrases, accompaniment, **_kwargs())
    mid = mido.MidiFile(path)
    assert mid.type == 1 and mid.ticks_per_beat == 480

    conductor = mid.tracks[0]
    metas = {m.type: m for m in conductor}
    assert metas["track_name"].name == "test song"
    assert (metas["time_signature"].numerator, metas["time_signature"].denominator) == (4, 4)
    assert metas["key_signature"].key == "C"
    tempos = [(m.tempo, t) for m, t in _absolute(conductor) if m.type == "set_tempo"]
    assert tempos == [(mido.bpm2tempo(120), 0), (mido.bpm2tempo(90), 16 * 480)]

    names = [next(m.name for m in tr if m.type == "track_name") for tr in mid.tracks[1:]]
    assert names == ["Melody", "Pad", "Bass", "Counter", "Rhythm", "Drums"]
    for track, channel in zip(mid.tracks[1:], [0, 1, 2, 4, 5, 9]):
        msgs = [m for m in track if not m.is_meta]
        assert {m.channel for m in msgs} == {channel}
        assert msgs[0].type == "program_change"
        ons = [m for m in msgs if m.type == "note_on"]
        offs = [m for m in msgs if m.type == "note_off"]
        assert len(ons) == len(offs) == _count(accompaniment, phrases, channel)
        assert track[-1].type == "end_of_track"
    # Every track ends at the end of the last phrase.
    assert all(sum(m.time for m in tr) == 32 * 480 for tr in mid.tracks)
    assert mid.length == pytest.approx(16 * 0.5 + 16 * 60 / 90)


def _absolute(track):
    now = 0
    for msg in track:
        now += msg.time
        yield msg, now


def test_note_off_before_note_on_at_equal_times(song):
    phrases, _ = song
    mid = render_midi(phrases, None, **_kwargs())
    melody = mid.tracks[1]
    for (a, ta), (b, tb) in zip(_absolute(melody), list(_absolute(melody))[1:]):
        if ta == tb and a.type == "note_on" and b.type == "note_off":
            pytest.fail(f"note_on before note_off at tick {ta}")
    # Melody only: conductor plus one track.
    assert len(mid.tracks) == 2


def test_note_times_follow_phrase_offsets(song):
    phrases, accompaniment = song
    mid = render_midi(phrases, accompaniment, **_kwargs(tempo_bpm=100))
    ons = [(t, m.note) for m, t in _absolute(mid.tracks[1]) if m.type == "note_on"]
    assert ons[0] == (0, 60) and ons[16] == (16 * 480, 62)
    assert sum(m.type == "set_tempo" for m in mid.tracks[0]) == 2


def test_same_inputs_same_bytes(tmp_path, song):
    phrases, accompaniment = song
    a, b = tmp_path / "a.mid", tmp_path / "b.mid"
    write_midi(a, phrases, accompaniment, **_kwargs())
    write_midi(b, phrases, accompaniment, **_kwargs())
    assert a.read_bytes() == b.read_bytes()
    write_midi(a, phrases, accompaniment, **_kwargs())  # overwriting works too
    assert a.read_bytes() == b.read_bytes()


def test_programs_override(song):
    phrases, accompaniment = song
    mid = render_midi(phrases, accompaniment, **_kwargs(programs={0: 73, 2: 33}))
    programs = [next(m.program for m in tr if m.type == "program_change") for tr in mid.tracks[1:]]
    assert programs == [73, 48, 33, 73, 46, 0]


@pytest.mark.parametrize(
    ("tonic", "mode", "key"),
    [(0, "maj", "C"), (9, "min", "Am"), (2, "dor", "Am"), (7, "mix", "C"), (2, "maj", "D"),
     (5, "maj", "F"), (4, "min", "Em"), (0, "min", "Cm"), (6, "maj", "Gb"), (1, "maj", "Db"),
     (8, "min", "G#m"), (3, "min", "Ebm"), (11, "min", "Bm"), (4, "phr", "Am"), (5, "lyd", "C"),
     (11, "loc", "Am"), (9, "dor", "Em"), (2, "mix", "G")],
)  # fmt: skip
def test_key_signature(tonic, mode, key):
    assert key_signature(tonic, mode) == key


@pytest.mark.parametrize(
    "over",
    [dict(tempo_bpm=[120.0]), dict(tempo_bpm=0), dict(tempo_bpm=float("nan")), dict(mode="blues"),
     dict(tonic=12), dict(programs={0: 128}), dict(ticks_per_beat=0)],
)  # fmt: skip
def test_bad_arguments_raise_config_error(song, over):
    phrases, accompaniment = song
    with pytest.raises(ConfigError):
        render_midi(phrases, accompaniment, **_kwargs(**over))


def test_bad_notes_and_accompaniment_length(song):
    phrases, accompaniment = song
    with pytest.raises(ConfigError, match="one note list per phrase"):
        render_midi(phrases, accompaniment[:1], **_kwargs())
    bad = [Phrase([Note(130, 0.0, 1.0)], bars=1)]
    with pytest.raises(ConfigError, match="pitch 0..127"):
        render_midi(bad, None, **_kwargs(tempo_bpm=100))


def test_unwritable_path_raises_output_error_and_leaves_nothing(tmp_path, song):
    phrases, accompaniment = song
    missing = tmp_path / "no_such_dir" / "song.mid"
    with pytest.raises(OutputError, match="no_such_dir") as info:
        write_midi(missing, phrases, accompaniment, **_kwargs())
    assert "\n" not in str(info.value)
    assert isinstance(info.value.__cause__, OSError)
    assert list(tmp_path.iterdir()) == []


def test_failed_replace_removes_the_temp_file(tmp_path, song):
    phrases, accompaniment = song
    target = tmp_path / "taken"
    target.mkdir()
    (target / "keep").write_text("x")  # a non-empty directory cannot be replaced by a file
    with pytest.raises(OutputError, match="taken"):
        write_midi(target, phrases, accompaniment, **_kwargs())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "out.bin"
    atomic_write_bytes(path, b"old")
    with pytest.raises(OutputError):
        atomic_write_bytes(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_abc_file(tmp_path):
    path = tmp_path / "tune.abc"
    write_abc(path, "CDEF GABc|c2 G2 E2 C2|]\n", title="Calm\nsea", meter=Meter(4, 4),
              key_field="Ddor", tempo_bpm=92.4)  # fmt: skip
    assert path.read_text(encoding="utf-8") == (
        "X:1\nT:Calm sea\nM:4/4\nL:1/8\nQ:1/4=92\nK:Ddor\nCDEF GABc|c2 G2 E2 C2|]\n"
    )
    assert abc_text("C", title="t", meter="6/8", key_field="C", tempo_bpm=60, unit="1/16") \
        .splitlines()[2:4] == ["M:6/8", "L:1/16"]  # fmt: skip
    with pytest.raises(OutputError, match="nowhere"):
        write_abc(tmp_path / "nowhere" / "t.abc", "C", title="t", meter=Meter(), key_field="C",
                  tempo_bpm=100)  # fmt: skip
    assert os.listdir(tmp_path) == ["tune.abc"]
