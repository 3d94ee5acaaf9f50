"""The embedded synth without a sound device: FluidSynth with the packaged SoundFont, rendered
in blocks by BlockPlayer, events at their samples; SampleClock; one-line SoundFont errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moodscore.audio.synth import AT_ONCE, BlockPlayer, SampleClock, SoundFontSynth
from moodscore.errors import ConfigError

RATE = 48000
STEP = 64  # FluidSynth renders in 64-sample steps: an event starts on the next one


def onset(audio: np.ndarray, after: int = 0, level: int = 200) -> int:
    """The first sample at or after ``after`` louder than ``level``."""
    loud = np.flatnonzero(np.abs(audio[after:]).max(axis=1) > level)
    assert loud.size, "silent"
    return after + int(loud[0])


def play(events: list[tuple[int, list[int]]], frames: int, block: int) -> tuple[np.ndarray, BlockPlayer]:
    player = BlockPlayer(SoundFontSynth(rate=RATE))
    for index, data in events:
        player.push(index, data)
    out = [player.render(min(block, frames - done)) for done in range(0, frames, block)]
    return np.concatenate(out), player


@pytest.mark.parametrize("block", [256, 111, 1024])
def test_a_note_starts_at_its_sample_however_the_blocks_fall(block: int) -> None:
    events = [(3000, [0xC0, 0]), (3000, [0x90, 60, 110]), (9000, [0x80, 60, 0]),
              (20011, [0x99, 38, 120])]  # a snare on the drum channel
    audio, player = play(events, 30000, block)
    assert audio.dtype == np.int16 and audio.shape == (30000, 2)
    assert np.abs(audio[:3000]).max() <= 2  # nothing before the first note (but dither)
    first = onset(audio)
    assert 3000 <= first <= 3000 + STEP + 48, first
    drum = onset(audio, after=19000, level=2000)
    assert 20011 - 48 <= drum <= 20011 + STEP + 96, drum
    assert player.late == 0 and player.applied == len(events)


def test_block_size_does_not_change_the_sound() -> None:
    events = [(1000 + 2400 * i, [0x90, 60 + i, 100]) for i in range(6)]
    a, _ = play(events, 20000, 256)
    b, _ = play(events, 20000, 100)
    # the same events on the same 64-sample steps: nearly the same samples
    assert np.abs(a.astype(int) - b.astype(int)).max() < 0.01 * np.abs(a).max()


def test_an_event_already_past_plays_at_the_next_block_and_is_counted() -> None:
    player = BlockPlayer(SoundFontSynth(rate=RATE))
    player.render(4096)
    player.push(100, [0x90, 64, 100])  # sample 100 is long rendered
    audio = player.render(4096)
    assert player.late == 1 and onset(audio) <= STEP + 48


def test_panic_drops_waiting_notes_and_silences_at_once() -> None:
    player = BlockPlayer(SoundFontSynth(rate=RATE))
    player.push(0, [0x90, 60, 110])
    player.render(9600)
    player.push(20000, [0x90, 67, 110])  # waiting, then a panic comes first
    for channel in range(16):
        player.push(AT_ONCE, [0xB0 | channel, 123, 0])
        player.push(AT_ONCE, [0xB0 | channel, 120, 0])
    after = np.concatenate([player.render(256) for _ in range(120)])
    assert np.abs(after).max() == 0  # the reverb tail too, from the first sample
    assert player.pending() == 0
    player.push(player.frames + 500, [0x90, 62, 100])  # play again: sound comes back
    assert onset(player.render(4096)) >= 500


def test_sample_clock_follows_the_device_not_the_late_callbacks() -> None:
    clock = SampleClock(RATE, window_s=1.0)
    rng = np.random.default_rng(0)
    heard0 = 100.0
    for block in range(2000):  # 10.7 s of 256-frame blocks, callbacks up to 4 ms late
        index = block * 256
        clock.update(heard0 + index / RATE + rng.uniform(0, 0.004) * (block % 3 != 0), index)
    assert clock.origin is not None and abs(clock.origin - heard0) < 1e-9
    assert clock.index(heard0 + 1.0) == RATE


def test_sample_clock_follows_a_stream_that_loses_time() -> None:
    """A device that loses 16 ms (a JACK server that missed three 256-frame cycles) is heard
    later from then on: the clock follows within a quarter second, without an underrun flag,
    and within two blocks with one; late callbacks alone never move it."""
    rng = np.random.default_rng(1)
    for flagged in (False, True):
        clock = SampleClock(RATE)
        heard0, lost = 100.0, 0.016
        moved_at = None
        for block in range(4000):  # 21 s, callbacks up to 4 ms late two blocks in three
            index = block * 256
            after = block >= 2000
            heard = heard0 + index / RATE + lost * after + rng.uniform(0, 0.004) * (block % 3 != 0)
            clock.update(heard, index, underflow=flagged and block == 2000)
            assert clock.origin is not None
            if not after:
                assert abs(clock.origin - heard0) < 1e-9, block
            elif moved_at is None and abs(clock.origin - (heard0 + lost)) < 1e-3:
                moved_at = (block - 2000) * 256 / RATE
        assert moved_at is not None and moved_at <= (0.011 if flagged else 0.5), (flagged, moved_at)
        assert abs(clock.origin - (heard0 + lost)) < 1e-9 and clock.restarts == 1, (clock.origin, clock.restarts)


def test_a_missing_or_unreadable_soundfont_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^SoundFont .*nope.sf2 is not a file; give an .sf2 or .sf3"):
        SoundFontSynth(tmp_path / "nope.sf2")
    junk = tmp_path / "junk.sf2"
    junk.write_bytes(b"RIFF not a soundfont")
    with pytest.raises(ConfigError, match=r"^SoundFont .*junk.sf2 could not be read \(not an SF2/SF3"):
        SoundFontSynth(junk)


def test_sample_clock_without_the_jump_rule_keeps_its_origin_through_late_callbacks() -> None:
    """jump_s=None (miniaudio: reports are callback times): half a second of callbacks all 5 ms
    late leaves the origin where the on-time ones put it."""
    clock = SampleClock(RATE, jump_s=None)
    for block in range(1000):
        index = block * 256
        clock.update(100.0 + index / RATE + (0.005 if 500 <= block < 600 else 0.0), index)
    assert clock.origin == 100.0 and clock.restarts == 0
