"""The measuring half of ``moodscore bench audio-latency`` on sound made by the real synth.

Eight seconds through FluidSynth with the packaged SoundFont: a flute playing a pattern, then
at a known sample brass and strings playing another. The change is found there (to the
detector's 20 ms hop and its 60 ms step), not at one of the flute's notes before it;
and a recording that starts later is lined up with the whole render by :func:`best_lag`.
"""
from __future__ import annotations

import numpy as np
import pytest

from moodscore.audio.latency import best_lag, changes
from moodscore.audio.synth import BlockPlayer, SoundFontSynth

RATE = 48000


def music(change_s: float, seconds: float = 8.0) -> np.ndarray:
    player = BlockPlayer(SoundFontSynth(rate=RATE))
    player.push(0, [0xC0, 73])  # flute
    player.push(0, [0xC1, 61])  # brass
    player.push(0, [0xC2, 48])  # strings
    t = 0.0
    while t < seconds:
        new = t >= change_s
        notes = [(1, 60), (2, 48), (2, 55)] if new else [(0, 72 + int(t * 4) % 5)]
        for channel, pitch in notes:
            player.push(round(t * RATE), [0x90 | channel, pitch, 100])
            player.push(round((t + 0.2) * RATE), [0x80 | channel, pitch, 0])
        t += 0.25
    frames = int(seconds * RATE)
    return np.concatenate([player.render(min(4096, frames - i)) for i in range(0, frames, 4096)])


@pytest.mark.parametrize("change_s", [4.0, 5.0])
def test_the_change_is_found_at_the_new_instruments(change_s: float) -> None:
    audio = music(change_s, 9.0)
    found = changes(audio, RATE, [change_s - 1.6])[0]
    assert abs(found - change_s) <= 0.04, found  # a flute note starts 0.25 s before


def test_a_later_recording_is_lined_up_with_the_render() -> None:
    ref = music(4.0)
    rec = ref[12345:]  # the recorder started 12345 samples into the music
    assert best_lag(rec, ref) == -12345
