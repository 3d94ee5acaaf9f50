"""``moodscore bench audio``: what the embedded synth costs and how it keeps time (figures, not tests).

- synth CPU: the demo's mood journey (calm, tense, triumphant, sad), made offline by the same
  conductor, rendered through FluidSynth in 1024-frame blocks with each event at its sample;
  CPU seconds per second of audio; and the same for the stems (a synth per part).
- mood to changed sound: on the same virtual clock, a mood message into another quadrant at
  random moments, to the first note of the engine's music in that mood (what a listener hears
  change), plus the audio path's fixed delay (``--ws-audio``: a block and the margin; a device:
  its logged latency).
- with ``--audio-device NAME``: the journey played live on that device for ``--minutes``,
  through the scheduler and the audio process, with PortAudio's underruns and the late events
  counted.

Public API: :func:`run`.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ..demo.journey import journey_script
from ..engine.conductor import Conductor
from ..engine.live import to_mido
from ..engine.offline import run as run_offline
from ..models.runtime import load_generator
from ..engine.protocol import STEM_CHANNELS
from .stream import BLOCK, MARGIN_S, RATE
from .synth import BlockPlayer, SoundFontSynth


def _journey(seconds: float, model: str):
    stages, script = journey_script(seconds)
    conductor = Conductor(seed=0)
    conductor.set_mood(0.0, stages[0].valence, stages[0].arousal, 0.0)
    return run_offline(conductor, load_generator(model), seconds, script=script)


def synth_cpu(seconds: float = 60.0, model: str = "lstm") -> dict[str, float]:
    timeline = _journey(seconds, model)
    player = BlockPlayer(SoundFontSynth(rate=RATE))
    stems = {channel: BlockPlayer(SoundFontSynth(rate=RATE)) for channel in STEM_CHANNELS}
    for e in sorted(timeline.events, key=lambda e: e.time):
        msg = to_mido(e)
        player.push(round(e.time * RATE), msg.bytes())
        if getattr(msg, "channel", None) in stems:
            stems[msg.channel].push(round(e.time * RATE), msg.bytes())
    start = time.process_time()
    for _ in range(int(seconds * RATE) // BLOCK):
        player.render(BLOCK)
    cpu = time.process_time() - start
    start = time.process_time()
    for _ in range(int(seconds * RATE) // BLOCK):
        for stem in stems.values():
            stem.render(BLOCK)
    stems_cpu = time.process_time() - start
    return {"seconds": seconds, "cpu_s": cpu, "cpu_per_audio_s_ms": cpu / seconds * 1e3,
            "realtime_x": seconds / cpu, "events": len(timeline.events),
            "stems_cpu_per_audio_s_ms": stems_cpu / seconds * 1e3}


def _quadrant(mood: tuple[float, float] | list[float]) -> tuple[bool, bool]:
    return mood[0] >= 0, mood[1] >= 0


def _move_to(valence: float, arousal: float) -> Callable[[Conductor, float], object]:
    return lambda conductor, now: conductor.set_mood(now, valence, arousal, 0.0)


def mood_to_sound(changes: int = 12, model: str = "lstm", seed: int = 0) -> np.ndarray:
    """Seconds from each mood message to the first note played in the new mood."""
    rng = np.random.default_rng(seed)
    corners = [(0.8, 0.7), (-0.8, 0.8), (-0.7, -0.7), (0.7, -0.7)]
    out = []
    generator = load_generator(model)
    for i in range(changes):
        at = 6.0 + float(rng.uniform(0, 4))
        first, then = corners[i % 4], corners[(i + 1) % 4]
        conductor = Conductor(seed=i)
        conductor.set_mood(0.0, *first, 0.0)
        timeline = run_offline(conductor, generator, at + 12.0, script=[(at, _move_to(*then))])
        phrases = [cb.time for cb in timeline.callbacks if cb.event["type"] == "phrase"
                   and cb.event.get("mood") and cb.time >= at
                   and _quadrant(cb.event["mood"]) == _quadrant(then)]
        bars = [cb.time for cb in timeline.callbacks if cb.event["type"] == "bar" and cb.time >= at]
        # the music turns at a bar (the transition); the phrase event says it is the new mood
        turned = min(phrases) if phrases else (min(bars) if bars else float("nan"))
        out.append(turned - at)
    return np.array(out)


def live_session(device: str, minutes: float, model: str = "lstm") -> dict[str, object]:
    from ..midi.scheduler import MidiScheduler
    from .sink import AudioSink

    seconds = minutes * 60.0
    timeline = _journey(seconds, model)
    sink = AudioSink(device).open()
    scheduler = MidiScheduler(sink).start()
    t0 = time.perf_counter() + 1.0
    scheduler.schedule_many([(t0 + e.time, to_mido(e)) for e in timeline.events])
    time.sleep(seconds + 1.5)
    scheduler.stop(panic=True)
    sink.close()
    return {**sink.stats(), "lateness_ms": scheduler.lateness_stats()}


def run(*, model: str = "lstm", changes: int = 12, minutes: float = 0.0, device: str | None = None) -> None:
    cpu = synth_cpu(model=model)
    print(f"synth: {cpu['seconds']:.0f} s of the journey ({cpu['events']} MIDI events) rendered in "
          f"{cpu['cpu_s']:.2f} CPU s: {cpu['cpu_per_audio_s_ms']:.1f} ms CPU per second of audio, "
          f"{cpu['realtime_x']:.0f}x real time; the {len(STEM_CHANNELS)} stems of --ws-audio-stems, each part "
          f"on a synth of its own, {cpu['stems_cpu_per_audio_s_ms']:.1f} ms more")
    waits = mood_to_sound(changes, model)
    path = BLOCK / RATE + MARGIN_S
    print(f"mood message to the music in the new quadrant ({changes} changes, transition bar): "
          f"p50 {np.median(waits):.2f} s, max {waits.max():.2f} s; in a --ws-audio frame "
          f"{path * 1e3:.0f} ms later, at a device its logged latency later")
    if device is not None and minutes > 0:
        stats = live_session(device, minutes, model)
        print(f"live on {stats['device']} for {minutes:g} min: {stats['blocks']} blocks, "
              f"{stats['underruns']} underruns, {stats['late_events']} late events, "
              f"latency {stats['latency_ms']} ms; scheduler lateness {stats['lateness_ms']}")
