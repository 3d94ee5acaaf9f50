"""The engine's music as PCM blocks for games to play through their own audio (``--ws-audio``).

:class:`PcmStream` is a MIDI sink: it renders the embedded synth (the same
:class:`~moodscore.audio.synth.BlockPlayer` as ``--audio``) on the engine clock, with no sound
device, and hands each block to ``publish`` as a binary audio frame
(:func:`moodscore.engine.protocol.pack_audio`) stamped with the music time of its first sample:
sample ``i`` of the stream is the music at engine time ``t0 + i / rate``, ``t0`` being when the
stream opened, and every MIDI event sounds at the sample of its scheduled time. So a game that
plays sample ``i`` knows which beat, bar or phrase (whose ``time`` is on the same clock) it is
hearing. A block is rendered once its last sample's music time is ``margin_s`` past, so events
the scheduler sends a little late still land on their sample; blocks therefore leave
``block / rate + margin_s`` after their music time, and a client buffers from there.

With ``publish_stems`` (``--ws-audio-stems``) each part is also rendered by a synth of its own
(the MIDI of its channel only) and every block goes out a second time as one stems frame:
flags ``AUDIO_STEMS``, a stereo pair per part in the order of ``STEM_CHANNELS``, so a game can
mix the layers itself. The stems add up to the mix (each synth's reverb and chorus included).

Public API: :class:`PcmStream`.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import mido
import numpy as np

from ..engine.protocol import AUDIO_STEMS, STEM_CHANNELS, pack_audio
from ..midi.base import MidiSink
from .synth import AT_ONCE, BlockPlayer, SoundFontSynth

log = logging.getLogger(__name__)

RATE, BLOCK, MARGIN_S = 48000, 1024, 0.015


class PcmStream(MidiSink):
    """Renders what it is sent, block by block on ``clock``, and calls ``publish(frame)``."""

    name = "audio stream"

    def __init__(self, publish: Callable[[bytes], object], soundfont: str | os.PathLike[str] | None = None,
                 *, rate: int = RATE, block: int = BLOCK, margin_s: float = MARGIN_S,
                 clock: Callable[[], float] = time.perf_counter,
                 publish_stems: Callable[[bytes], object] | None = None) -> None:
        super().__init__()
        self.publish, self.rate, self.block, self.margin_s, self.clock = publish, rate, block, margin_s, clock
        self.player = BlockPlayer(SoundFontSynth(soundfont, rate=rate))  # a bad SoundFont: said now
        self.publish_stems = publish_stems
        self.stems = ({channel: BlockPlayer(SoundFontSynth(soundfont, rate=rate)) for channel in STEM_CHANNELS}
                      if publish_stems is not None else {})
        self.t0 = 0.0
        self.blocks = 0
        self.behind = 0  # blocks rendered later than their due time by more than a block
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def _open(self) -> None:
        self.t0 = self.clock()
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._halt,), daemon=True,
                                        name="moodscore-audio-stream")
        self._thread.start()
        log.info("audio stream: %d Hz stereo in %d-frame blocks, each sent %.1f ms after its "
                 "music time", self.rate, self.block, (self.block / self.rate + self.margin_s) * 1e3)

    def _send(self, msg: mido.Message) -> None:
        self._send_at(msg, None)

    def _send_at(self, msg: mido.Message, at: float | None) -> None:
        if not hasattr(msg, "channel"):
            return
        index = AT_ONCE if at is None else max(0, round((at - self.t0) * self.rate))
        self.player.push(index, msg.bytes())
        stem = self.stems.get(msg.channel)
        if stem is not None:
            stem.push(index, msg.bytes())

    def _close(self) -> None:
        self._halt.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)

    def music_time(self, index: int) -> float:
        return self.t0 + index / self.rate

    def _run(self, halt: threading.Event) -> None:
        while not halt.is_set():
            start = self.player.frames
            due = self.music_time(start + self.block) + self.margin_s
            wait = due - self.clock()
            if wait > 0:
                if halt.wait(wait):
                    return
            elif -wait > self.block / self.rate:
                self.behind += 1
            try:
                pcm = self.player.render(self.block)
                self.publish(pack_audio(self.rate, 2, start, self.music_time(start), pcm.tobytes()))
                if self.publish_stems is not None:
                    stems = np.concatenate([stem.render(self.block) for stem in self.stems.values()], axis=1)
                    self.publish_stems(pack_audio(self.rate, stems.shape[1], start, self.music_time(start),
                                                  stems.tobytes(), AUDIO_STEMS))
                self.blocks += 1
            except Exception:  # one bad block must not end the stream
                log.exception("audio stream: rendering a block failed")

    def stats(self) -> dict[str, Any]:
        return {"stream_blocks": self.blocks, "stream_behind": self.behind,
                "stream_late_events": self.player.late}
