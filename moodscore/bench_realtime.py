"""``moodscore bench realtime``: latency, timing, misses, ingest and memory of the live engine.

Benchmarks that print figures, not tests:

1. event to first note that reflects it (p50, p99) for each transition mode: the live engine on
   the wall clock, a mood change every few seconds, time from the change to the first note of
   material generated for the new mood;
2. scheduler lateness, sent versus scheduled (p50, p99, max), during that run, while phrases
   are generated in the worker;
3. phrase deadline misses over a session on a virtual clock where every phrase costs the wall
   time its generation really took (one worker, as live);
4. OSC ingest: datagrams per second sent over loopback UDP and handled, with the backlog;
5. resident memory after 1 and after N minutes of that session.

Public API: :func:`run`.
"""
from __future__ import annotations

import asyncio
import os
import resource
import socket
import time

import numpy as np

from .engine.conductor import TRANSITIONS, Conductor, Request
from .engine.live import LiveEngine
from .engine.offline import run as run_offline
from .engine.protocol import RejectStats, VAMessage
from .midi.scheduler import MidiScheduler
from .midi.sinks import ListSink
from .models.runtime import load_generator
from .music import Phrase

_MOODS = ((0.8, 0.8), (-0.8, -0.8), (-0.8, 0.8), (0.8, -0.8))


def _pct(xs: list[float]) -> str:
    if not xs:
        return "n/a"
    a = np.array(xs)
    return f"p50 {np.median(a):7.1f}  p99 {np.percentile(a, 99):7.1f}  max {a.max():7.1f}  (n={len(a)})"


async def _latency_run(generator, transition: str, changes: int, every: float
                       ) -> tuple[list[float], list[float], dict]:
    sink = ListSink()
    sink.open()
    scheduler = MidiScheduler(sink).start()
    conductor = Conductor(transition=transition, seed=1)
    engine = LiveEngine(conductor, generator, scheduler)
    phrases: list[dict] = []
    bar_times: list[float] = []
    engine.listeners.append(lambda e: phrases.append(e) if e["type"] == "phrase" else None)
    engine.listeners.append(lambda e: bar_times.append(e["time"]) if e["type"] == "bar" else None)
    task = asyncio.create_task(engine.run())
    await asyncio.sleep(2.0)
    latencies, in_bars = [], []
    rng = np.random.default_rng(0)
    for i in range(changes):
        v, a = _MOODS[i % len(_MOODS)]
        await asyncio.sleep(float(rng.uniform(0, 1.0)))  # land anywhere in the bar
        sent = time.perf_counter()
        engine.submit(VAMessage(valence=v, arousal=a, glide=0.0))
        fresh: list[dict] = []
        while not fresh and time.perf_counter() - sent < 30:
            await asyncio.sleep(0.05)
            fresh = [p for p in phrases if p["mood"] == [v, a] and p["start_time"] >= sent - 1e-6]
        if fresh:
            start = min(p["start_time"] for p in fresh)
            latencies.append((start - sent) * 1000)
            in_bars.append(sum(sent < t < start - 1e-6 for t in bar_times))  # bar lines passed first
        await asyncio.sleep(every)
    engine.stop()
    await task
    scheduler.stop(panic=True)
    return latencies, in_bars, scheduler.lateness_stats()


def _deadline_session(generator, minutes: float) -> tuple[int, int, float, float]:
    """Virtual clock; each phrase is delivered after the wall time its generation took."""
    conductor = Conductor(seed=2)
    waiting: list[tuple[float, int, Phrase]] = []
    clock = {"now": 0.0}
    rss_1min = 0.0

    def fulfil(c: Conductor, gen, req: Request) -> None:
        start = time.perf_counter()
        phrase = gen.next_phrase(req.context, req.valence, req.arousal, mode=req.mode, meter=req.meter,
                                 bars=req.bars, rng=np.random.default_rng(req.seed))
        waiting.append((clock["now"] + time.perf_counter() - start, req.id, phrase))

    def tick(c: Conductor, now: float) -> None:
        nonlocal rss_1min
        clock["now"] = now
        for item in [w for w in waiting if w[0] <= now]:
            waiting.remove(item)
            c.deliver(item[1], item[2])
        if rss_1min == 0.0 and now >= 60:
            rss_1min = _rss_mb()

    seconds = minutes * 60

    def change(i: int):
        return lambda c, now: c.set_mood(now, *_MOODS[i % 4], glide=1.0)

    script = [(float(t), change(i)) for i, t in enumerate(np.arange(5.0, seconds, 7.0))]
    first = {"done": False}

    def first_then_timed(c: Conductor, gen, req: Request) -> None:
        if first["done"]:
            fulfil(c, gen, req)
            return
        first["done"] = True  # as the live engine does: the first phrase before the first bar
        c.deliver(req.id, gen.next_phrase(req.context, req.valence, req.arousal, mode=req.mode,
                                          meter=req.meter, bars=req.bars, rng=np.random.default_rng(req.seed)))

    run_offline(conductor, generator, seconds, script=script, fulfil_request=first_then_timed, on_tick=tick,
                collect=False)
    bars = int(seconds / 2)
    return conductor.misses, bars, rss_1min, _rss_mb()


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _ingest(rate: int, seconds: float) -> tuple[int, int, float]:
    """Send ``rate`` /mood/va datagrams a second for ``seconds``; (sent, handled, max lag ms)."""
    from pythonosc.osc_message_builder import OscMessageBuilder

    from .transport.osc import start_osc

    handled = {"n": 0}
    conductor = Conductor()
    conductor.play(0.0)

    def submit(msg: object) -> None:
        handled["n"] += 1
        conductor.set_mood(time.perf_counter(), msg.valence, msg.arousal)  # type: ignore[attr-defined]

    transport, proto = await start_osc(submit, "127.0.0.1", 0, RejectStats())
    port = transport.get_extra_info("sockname")[1]
    b = OscMessageBuilder("/mood/va")
    b.add_arg(0.5)
    b.add_arg(-0.25)
    packet = b.build().dgram
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sent = 0
    lag = 0.0
    start = time.perf_counter()
    batch = max(1, rate // 200)
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        for _ in range(batch):
            try:
                sock.sendto(packet, ("127.0.0.1", port))
                sent += 1
            except BlockingIOError:
                pass
        await asyncio.sleep(max(0.0, batch / rate - (time.perf_counter() - t0)))
        lag = max(lag, (time.perf_counter() - t0 - batch / rate) * 1000)
    await asyncio.sleep(0.5)
    transport.close()
    sock.close()
    return sent, handled["n"], lag


def run(*, model: str = "abc", changes: int = 12, every: float = 1.0, minutes: float = 10.0,
        transitions: tuple[str, ...] = TRANSITIONS) -> None:
    generator = load_generator(model, prefer_gpu=False)
    cmd = f"moodscore bench realtime --model {model} --changes {changes} --minutes {minutes:g}"
    print(cmd)
    print(f"1. event -> first note of material made for the new mood ({changes} changes per mode):")
    lateness: list[dict] = []
    for tr in transitions:
        lat, bars, late = asyncio.run(_latency_run(generator, tr, changes, every))
        lateness.append(late)
        print(f"   {tr:<9} ms: {_pct(lat)}")
        counts = {k: bars.count(k) for k in sorted(set(bars))}
        print(f"   {'':<9} bar lines that passed before it: " + ", ".join(f"{k}: {n}x" for k, n in counts.items()))
    print("2. scheduler lateness, sent - scheduled, ms, while phrases were generated:")
    for tr, late in zip(transitions, lateness):
        print(f"   {tr:<9} p50 {late['p50_ms']:.3f}  p99 {late['p99_ms']:.3f}  max {late['max_ms']:.3f}"
              f"  (n={late['count']})")
    misses, _, rss1, rss_end = _deadline_session(generator, minutes)
    print(f"3. phrase deadline misses over {minutes:g} min (virtual clock, real generation times): {misses}")
    print(f"5. resident memory: {rss1:.1f} MB after 1 min, {rss_end:.1f} MB after {minutes:g} min")
    print("4. OSC ingest over loopback UDP (/mood/va datagrams):")
    for rate in (1000, 5000, 10000, 20000):
        sent, handled, lag = asyncio.run(_ingest(rate, 3.0))
        print(f"   offered {rate:>6}/s: sent {sent / 3:>8.0f}/s, handled {handled / 3:>8.0f}/s, "
              f"lost {max(0, sent - handled)}, worst sender lag {lag:.1f} ms")
