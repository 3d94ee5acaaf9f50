"""Where the sound changes in a recording, and where a recording sits on the engine's clock.

The measuring half of ``moodscore bench audio-latency`` (numpy only, no I/O):

- :func:`timbre` — third-octave band levels from 400 Hz up (dB, less their mean) in 20 ms
  hops.
- :func:`change_at` — the hop in a window where the timbre (the band levels less their mean:
  the orchestration, not the notes) before and after differ most (the means of 1.5 s either
  side), moved to the sharpest step within 150 ms of it (the means of 0.1 s either side) in
  the bands the change made louder: the first notes of the new instruments; :func:`changes` gives it in seconds for each start.
- :func:`render_midi` — a ``--record`` file through the embedded synth, and :func:`file_zero`,
  the engine-clock time of its first tick (from the engine's bar events).
- :func:`best_lag` — the lag at which a reference best matches a recording
  (``rec[i + lag] ~ ref[i]``), by FFT cross-correlation of their first differences.

Public API: the functions above.
"""
from __future__ import annotations

import os

import mido
import numpy as np

HOP_S, SIDE_S, REFINE_S, STEP_S, WINDOW = 0.02, 1.5, 0.15, 0.06, 1024


def _mono(audio: np.ndarray) -> np.ndarray:
    return audio.astype(np.float64).mean(axis=1) if audio.ndim == 2 else audio.astype(np.float64)


def timbre(audio: np.ndarray, rate: int) -> np.ndarray:
    """Third-octave band levels from 400 Hz up, in dB, per 20 ms hop (hops x bands); 60 dB below
    the loudest counts as silence. Hop i is centred on ``i * HOP_S + WINDOW / 2 / rate`` s."""
    mono = _mono(audio)
    hop = round(HOP_S * rate)
    count = max(0, (len(mono) - WINDOW) // hop)
    frames = np.stack([mono[i * hop:i * hop + WINDOW] for i in range(count)]) * np.hanning(WINDOW)
    power = np.square(np.abs(np.fft.rfft(frames, axis=1)))
    freqs = np.fft.rfftfreq(WINDOW, 1 / rate)
    edges = 400 * 2 ** (np.arange(17) / 3)
    bands = np.stack([power[:, (freqs >= lo) & (freqs < hi)].sum(axis=1)
                      for lo, hi in zip(edges[:-1], edges[1:])], axis=1)
    return 10 * np.log10(bands + bands.max() * 1e-6 + 1e-12)


def change_at(bands: np.ndarray, lo: int, hi: int) -> int:
    """The hop in [lo, hi) at which the timbre changes most (see the module docstring)."""
    side, near = round(SIDE_S / HOP_S), round(REFINE_S / HOP_S)
    lo, hi = max(lo, side), min(hi, len(bands) - side)
    if hi <= lo:
        raise ValueError("the window is too short to look for a change in")
    shape = bands - bands.mean(axis=1, keepdims=True)  # the timbre, not the loudness
    csum = np.concatenate([np.zeros((1, shape.shape[1])), np.cumsum(shape, axis=0)])
    cuts = np.arange(lo, hi)
    jump = (csum[cuts + side] - 2 * csum[cuts] + csum[cuts - side]) / side  # after - before
    best = int(cuts[np.argmax(np.linalg.norm(jump, axis=1))])
    # the onset: the hop near it where the bands that the change made louder rise most
    louder = jump[best - lo] > 3.0
    if not louder.any():
        return best
    short = round(STEP_S / HOP_S)
    loud = np.concatenate([np.zeros(1), np.cumsum(bands[:, louder].sum(axis=1))])
    at = np.arange(max(short, best - near), min(len(bands) - short, best + near + 1))
    step = (loud[at + short] - 2 * loud[at] + loud[at - short]) / short
    return int(at[np.argmax(step)])


def changes(audio: np.ndarray, rate: int, starts: list[float], within: float = 6.0) -> list[float]:
    """Seconds into ``audio`` of the timbre change in the ``within`` seconds after each start."""
    bands = timbre(audio, rate)
    return [change_at(bands, round(s / HOP_S), round((s + within) / HOP_S)) * HOP_S
            + WINDOW / 2 / rate for s in starts]


def render_midi(path: str | os.PathLike[str], rate: int,
                soundfont: str | os.PathLike[str] | None = None) -> np.ndarray:
    """The file through the embedded synth, each event at its sample (stereo int16)."""
    from .synth import BlockPlayer, SoundFontSynth

    player = BlockPlayer(SoundFontSynth(soundfont, rate=rate))
    t = 0.0
    for msg in mido.MidiFile(path):
        t += msg.time
        if not msg.is_meta and hasattr(msg, "channel"):
            player.push(round(t * rate), msg.bytes())
    frames = int((t + 1.0) * rate)
    return np.concatenate([player.render(min(4096, frames - i)) for i in range(0, frames, 4096)])


def file_zero(path: str | os.PathLike[str], bars: list[float]) -> float:
    """The engine-clock time of the file's first tick: each bar starts with note-ons at its
    time; the file keeps 960 ticks a second, so the most common shift, then the median near it."""
    t, ons = 0.0, []
    for msg in mido.MidiFile(path):
        t += msg.time
        if msg.type == "note_on" and msg.velocity:
            ons.append(t)
    shifts = np.array([b - o for b in bars for o in ons])
    bins, counts = np.unique(np.round(shifts / 0.002), return_counts=True)
    mode = bins[np.argmax(counts)] * 0.002
    return float(np.median(shifts[np.abs(shifts - mode) < 0.002]))


def best_lag(rec: np.ndarray, ref: np.ndarray, lo: int | None = None, hi: int | None = None) -> int:
    """The lag at which ``ref`` best matches ``rec`` (``rec[i + lag] ~ ref[i]``), by FFT
    cross-correlation of their first differences; with ``lo``/``hi``, the best in [lo, hi]
    (music repeats: a bar away can match too)."""
    a, b = np.diff(_mono(rec), prepend=0.0), np.diff(_mono(ref), prepend=0.0)
    n = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    corr = np.fft.irfft(np.fft.rfft(a, n) * np.conj(np.fft.rfft(b, n)), n)
    lags = np.arange(n)
    lags[lags >= n // 2] -= n
    if lo is not None or hi is not None:
        corr = np.where((lags >= (lo if lo is not None else -n)) & (lags <= (hi if hi is not None else n)),
                        corr, -np.inf)
    return int(lags[np.argmax(corr)])
