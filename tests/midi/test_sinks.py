from __future__ import annotations

import logging
import os

import mido
import pytest

from moodscore.errors import ConfigError, OutputError
from moodscore.midi.sinks import FileRecorder, ListSink, MidiSink, RtMidiSink, TeeSink


def note(pitch: int, velocity: int = 64, channel: int = 0) -> mido.Message:
    return mido.Message("note_on", channel=channel, note=pitch, velocity=velocity)


class FlakySink(ListSink):
    """A memory sink whose endpoint can be pulled out and put back, like a USB synth."""

    def __init__(self) -> None:
        super().__init__()
        self.plugged = True
        self.opens = 0

    def _open(self) -> None:
        if not self.plugged:
            raise OutputError("not plugged in")
        self.opens += 1

    def _send(self, msg: mido.Message) -> None:
        if not self.plugged:
            raise OSError("device vanished")
        super()._send(msg)

    def _check(self) -> bool:
        return self.plugged

    def _probe(self) -> bool:
        return self.plugged


def test_list_sink_keeps_time_and_message(vclock) -> None:
    with ListSink(clock=vclock) as sink:
        assert sink.is_open and sink.connected
        vclock.t = 1.5
        sink.send(note(60))
    assert not sink.is_open
    assert [(t, m.bytes()) for t, m in sink.messages] == [(1.5, note(60).bytes())]


def test_send_on_a_closed_sink_is_an_output_error() -> None:
    sink = ListSink()
    with pytest.raises(OutputError, match="closed"):
        sink.send(note(60))
    assert isinstance(OutputError("x"), OSError)


def test_lost_endpoint_drops_logs_once_and_comes_back(caplog) -> None:
    sink = FlakySink().open()
    sink.send(note(60))
    sink.plugged = False
    with caplog.at_level(logging.WARNING, logger="moodscore.midi"):
        for pitch in (61, 62, 63):
            sink.send(note(pitch))  # never raises: the session goes on
    assert not sink.connected and sink.is_open
    assert sink.dropped == 3
    assert len([r for r in caplog.records if "lost" in r.getMessage()]) == 1
    assert sink.poll() is False
    sink.plugged = True
    assert sink.poll() is True and sink.connected and sink.reconnects == 1
    sink.send(note(64))
    assert [m.note for _, m in sink.messages] == [60, 64]
    sink.close()


def test_poll_notices_a_vanished_endpoint_without_a_send() -> None:
    sink = FlakySink().open()
    sink.plugged = False
    assert sink.poll() is False and not sink.connected
    sink.plugged = True
    assert sink.poll() is True and sink.opens == 2


def test_tee_sends_to_every_sink_and_closes_them() -> None:
    a, b = ListSink(), FlakySink()
    with TeeSink(a, b) as tee:
        assert a.is_open and b.is_open
        tee.send(note(60))
        b.plugged = False
        tee.send(note(61))  # b loses it, a still gets it
        assert not tee.connected
        b.plugged = True
        assert tee.poll()
        tee.send(note(62))
    assert not a.is_open and not b.is_open
    assert [m.note for _, m in a.messages] == [60, 61, 62]
    assert [m.note for _, m in b.messages] == [60, 62]
    assert b.dropped == 1


def test_tee_closes_what_it_opened_when_one_sink_fails() -> None:
    a, b = ListSink(), FlakySink()
    b.plugged = False
    with pytest.raises(OutputError):
        TeeSink(a, b).open()
    assert not a.is_open


def test_file_recorder_writes_type0_480ppq_at_120bpm(tmp_path, vclock) -> None:
    path = tmp_path / "take.mid"
    recorder = FileRecorder(path, clock=vclock)
    with recorder:
        recorder.send(mido.Message("program_change", program=5))
        vclock.t = 0.5
        recorder.send(note(60))
        recorder.send(mido.Message("clock"))  # realtime: not storable in a file
        vclock.t = 1.25
        recorder.send(mido.Message("note_off", note=60))
        assert not path.exists()  # written on close only
    midi = mido.MidiFile(path)
    assert midi.type == 0 and midi.ticks_per_beat == 480
    track = midi.tracks[0]
    assert track[0].type == "set_tempo" and track[0].tempo == 500_000
    ticks, events = 0, []
    for msg in track[1:]:
        ticks += msg.time
        if not msg.is_meta:
            events.append((ticks, msg.type))
    assert events == [(0, "program_change"), (480, "note_on"), (1200, "note_off")]
    assert recorder.skipped == 1
    assert sorted(os.listdir(tmp_path)) == ["take.mid"]  # no temporary file left behind


def test_file_recorder_refuses_a_missing_folder(tmp_path) -> None:
    with pytest.raises(OutputError, match="not a writable folder"):
        FileRecorder(tmp_path / "missing" / "take.mid").open()


def test_rtmidi_sink_validates_its_arguments() -> None:
    with pytest.raises(ConfigError, match="not both"):
        RtMidiSink("synth", virtual="out")
    with pytest.raises(ConfigError, match="alsa, jack, coremidi, winmm"):
        RtMidiSink("synth", api="pulse")
    with pytest.raises(OutputError, match="not supported by Windows"):
        RtMidiSink(virtual="out", api="winmm")
    assert isinstance(RtMidiSink(virtual="out", api="jack"), MidiSink)
