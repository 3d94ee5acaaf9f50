"""``moodscore bench sessions``: how many sessions one core holds in real time, and what they cost.

A benchmark that prints a table, not a test. Run it pinned to one core (``taskset -c 1``).

1. Phrases per second against batch size (1 to 256) for the batched graphs: the ABC
   transformer at fp32 and int8, the LSTM at fp32. Each phrase is 4 bars that continue a
   previous phrase, with moods all over the plane.
2. Sessions held: :class:`~moodscore.host.core.HostCore` with N sessions on the wall clock and
   its one :class:`~moodscore.host.worker.GenerationWorker`, exactly as ``moodscore host`` runs
   them, minus the sockets (each session's output is encoded to JSON text and counted, not
   sent). Sessions join at ``ramp`` a second, each in a mood of its own that moves every 20-40 s
   (a new mood regenerates the rest of the phrase), at 120 BPM and at the fastest mood tempo.
   A count is held when, over the run, no bar missed its phrase and the tick loop sent 99% of
   due events within ``tick_slack`` ms. (Phrases that came after their deadline are counted
   too; a mood change just before a bar line asks for bars due at once, which then start one
   bar later, as in ``moodscore serve``: late, but no bar without its phrase.) The count doubles while it holds,
   then is bisected (``--sessions`` gives counts to try instead, from the smallest up to the first
   that fails).
3. For each count: p50/p99 of phrase lead time (ready before due), CPU (of the process) and
   RSS per session (beyond the models and a full batch's buffers, set up before the runs).

The last line states the sessions held per core.

Also printed first: :func:`host_work`, the sessions' CPU without generation (phrases made
beforehand, a virtual clock): the host's own cost, steadier from run to run than the rest.

Public API: :func:`run`, :func:`throughput`, :func:`hold`, :func:`host_work`.
"""
from __future__ import annotations

import ctypes
import gc
import hashlib
import heapq
import logging
import os
import pickle
import time
import tracemalloc
from typing import Callable, TypeVar
from dataclasses import dataclass

import numpy as np

from ..compiled import describe
from ..engine.protocol import SessionMessage, TempoMessage, VAMessage
from ..engine.template import Template, controls
from ..errors import BenchError, ConfigError
from ..models.batched import BatchedAbc, Job, abc_graph, load_batched
from ..models.runtime import load_generator
from ..music import Meter, Phrase
from .core import HostCore, HostFull, HostLimits, HostSession
from .worker import GenerationWorker

T = TypeVar("T")

BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def traffic(graph: str, rows: int = 64) -> tuple[float, float]:
    """MB a model call of the ABC's ``graph`` (``slots`` or ``resident``) is given and returns as
    host memory, decoding ``rows`` phrases at once: what would cross to a GPU and back."""
    model = load_batched("abc", max_batch=rows, graph=graph, prefer_gpu=False)
    model.run(_jobs("abc", rows, seed=rows))
    return model.sent / model.calls / 1e6, model.received / model.calls / 1e6


def _isolated(fn: Callable[[], T]) -> T:
    """``fn()`` in a forked child, where fork exists: each count of sessions starts from the same
    process (models loaded, a full batch run) and none inherits memory an earlier count freed,
    which would hide its own growth in RSS. The child returns its value, or its error, pickled."""
    if not hasattr(os, "fork"):
        return fn()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        try:
            data = pickle.dumps((True, fn()))
        except BaseException as err:  # noqa: BLE001 - reported in the parent
            data = pickle.dumps((False, f"{type(err).__name__}: {err}"))
        with os.fdopen(write, "wb") as f:
            f.write(data)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        raise BenchError(f"the bench's child process ended without a result (wait status {status})")
    ok, value = pickle.loads(data)
    if not ok:
        raise BenchError(f"the bench's child process failed: {value}")
    return value  # type: ignore[no-any-return]


def _trimmed() -> None:
    """Hand memory already freed back to the system, so RSS grows with what is allocated next."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: RSS then counts from what is resident
        pass


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _jobs(name: str, n: int, seed: int = 0) -> list[Job]:
    rng = np.random.default_rng(seed)
    contexts = []
    single = load_generator(name, precision="fp32")
    context = None
    for i in range(8):
        context = single.next_phrase(context, 0.5, 0.2, mode=controls(0.5, 0.2).mode, meter=Meter(4, 4),
                                     bars=4, rng=np.random.default_rng(i))
        contexts.append(context)
    jobs = []
    for i in range(n):
        v, a = (float(x) for x in rng.uniform(-1, 1, 2))
        jobs.append(Job(contexts[i % len(contexts)], v, a, controls(v, a).mode, Meter(4, 4), 4,
                        int(rng.integers(0, 10**6))))
    return jobs


def throughput(name: str, precision: str, batch: int, *, device: str = "cpu", rounds: int = 1,
               graph: str = "auto") -> float:
    """Phrases a second decoding ``batch`` phrases at once, ``rounds`` times."""
    model = load_batched(name, precision=precision, max_batch=batch, prefer_gpu=device == "cuda",
                         graph=graph if name == "abc" else "auto")
    model.run(_jobs(name, min(batch, 4), seed=99))  # warm up
    jobs = _jobs(name, batch * rounds, seed=batch)
    start = time.perf_counter()
    model.run(jobs)
    return len(jobs) / (time.perf_counter() - start)


class _Listeners:
    """The bench's sessions, as their clients would drive them: each joins at ``bpm`` in a mood
    of its own, which moves every 20-40 s (a new mood regenerates the rest of the phrase)."""

    def __init__(self, core: HostCore, bpm: float, rng: np.random.Generator, send: Callable[[str], None]) -> None:
        self.core, self.bpm, self.rng, self.send = core, bpm, rng, send
        self.sessions: list[HostSession] = []
        self._moves: list[tuple[float, int]] = []  # (when, session index): its next mood change

    def _mood(self) -> tuple[float, float]:
        v, a = (float(x) for x in self.rng.uniform(-1, 1, 2))
        return v, a

    def join(self, now: float) -> None:
        session = self.core.open(SessionMessage(seed=len(self.sessions)), self.send)
        self.core.handle(session, TempoMessage(bpm=self.bpm))
        v, a = self._mood()
        self.core.handle(session, VAMessage(valence=v, arousal=a, glide=0.0))
        session.bucket.tokens = 1e9  # the bench is its own client
        heapq.heappush(self._moves, (now + float(self.rng.uniform(20, 40)), len(self.sessions)))
        self.sessions.append(session)

    def move(self, now: float) -> None:
        """Send the mood changes due by ``now``."""
        while self._moves and self._moves[0][0] <= now:
            _, i = heapq.heappop(self._moves)
            v, a = self._mood()
            self.core.handle(self.sessions[i], VAMessage(valence=v, arousal=a))
            heapq.heappush(self._moves, (now + float(self.rng.uniform(20, 40)), i))


def host_work(n: int = 100, seconds: float = 60.0, bpm: float = 120.0, *, model: str = "lstm",
              step: float = 0.005, seed: int = 1, memory: bool = False) -> tuple[float, str]:
    """The host's own CPU, without generation: ``n`` sessions in :class:`HostCore` on a virtual
    clock (``step`` s a tick) for ``seconds`` of music, moods moving every 20-40 s, each request
    answered at once from phrases made beforehand. Returns (CPU ms per second of music per
    session, a digest of every text sent: the same code gives the same digest).

    ``memory``: instead, (KB per session of the memory the sessions hold at the end, traced by
    ``tracemalloc`` from before they join, after a collection; no digest): what a session keeps,
    without the allocator's slack or the batch's transient buffers that RSS also holds."""
    single = load_generator(model, precision="fp32")
    pool: dict[str, list] = {}
    for mode in sorted({controls(v, a).mode for v in np.linspace(-1, 1, 9) for a in np.linspace(-1, 1, 9)}):
        context = None
        for i in range(6):
            context = single.next_phrase(context, 0.0, 0.0, mode=mode, meter=Meter(4, 4), bars=4,
                                         rng=np.random.default_rng(i))
            pool.setdefault(mode, []).append(context)
    clock = [0.0]
    asked: list[Job] = []
    core = HostCore(asked.append, limits=HostLimits(max_sessions=n, start_delay=2.0), template=Template(),
                    clock=lambda: clock[0], advance_budget=None)
    texts: list[str] = []
    sent = [0]

    def count(text: str) -> None:
        sent[0] += len(text)

    if memory:
        gc.collect()
        tracemalloc.start()
        traced0 = tracemalloc.get_traced_memory()[0]
    listeners = _Listeners(core, bpm, np.random.default_rng(seed), count if memory else texts.append)
    for _ in range(n):
        listeners.join(0.0)
    cpu0 = time.process_time()
    for k in range(1, int(round(seconds / step)) + 1):
        now = clock[0] = k * step
        listeners.move(now)
        if asked:
            jobs, asked[:] = list(asked), []
            for job in jobs:
                made_for = pool.get(job.mode) or pool[min(pool)]
                made = made_for[job.seed % len(made_for)]
                job.phrase = made if made.bars == job.bars else Phrase(
                    [x for x in made.notes if x.start < job.bars * made.meter.beats], job.bars, made.meter,
                    made.tonic, made.mode)
            core.delivered(jobs)
        core.tick(now)
    cpu = time.process_time() - cpu0
    if memory:
        asked.clear()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - traced0
        tracemalloc.stop()
        return held / 1024 / n, ""
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    return cpu / seconds / n * 1000, digest


@dataclass
class Held:
    sessions: int
    bpm: float
    seconds: float
    misses: int
    late: int
    phrases: int
    lead_p50: float
    lead_p99: float
    tick_p99_ms: float
    tick_max_ms: float
    cpu_per_session_ms: float  # CPU ms per second of music, per session
    generation_share: float  # of that CPU, the generation worker's
    rss_per_session_kb: float  # the run's whole RSS growth (its fixed costs too) over its sessions
    mean_batch: float
    ok: bool
    rss_growth_mb: float = 0.0
    asked: int = 0  # joins tried (with admission, a refused one is tried again)
    refused: int = 0  # joins refused for the load (each retried at the next join's turn)


def hold(n: int, bpm: float, seconds: float, *, precision: str = "fp32", model: str = "abc",
         max_batch: int = 64, ramp: float = 25.0, tick: float = 0.005, tick_slack: float = 25.0,
         device: str = "cpu", models: dict | None = None, seed: int = 0,
         admission: float | None = None) -> Held:
    """Run ``n`` sessions at ``bpm`` for ``seconds`` of wall time after they have all joined
    (``ramp`` a second, each with 2 s from joining to its first note).

    ``admission``: the host's ``max_load`` (else none: every session joins, to find what the
    host holds). Refused joins are tried again in the next join's turn, at ``ramp`` a second,
    until ``n`` have joined or for ``n / ramp + seconds / 2`` s; then the sessions that joined
    play ``seconds`` more."""
    models = models or {model: load_batched(model, precision=precision, max_batch=max_batch,
                                            prefer_gpu=device == "cuda")}
    sent = [0]

    def sink(text: str) -> None:
        sent[0] += len(text)

    core: HostCore
    worker = GenerationWorker(models, lambda jobs: core.delivered(jobs),
                              still_wanted=lambda job: core.still_wanted(job))
    core = HostCore(worker.submit, limits=HostLimits(max_sessions=n, start_delay=2.0, max_load=admission or 1.0),
                    template=Template(), default_model=model)
    if admission:
        core.watch(worker)  # as moodscore host does
    worker.start()
    listeners = _Listeners(core, bpm, np.random.default_rng(seed), sink)
    sessions = listeners.sessions
    _trimmed()
    rss0 = _rss_mb()
    cpu0, t0 = time.process_time(), time.perf_counter()
    end = None
    asked = refused = 0
    joining = n / ramp + seconds / 2  # with admission, the longest refused joins are tried again
    try:
        while True:
            now = time.perf_counter()
            while end is None and len(sessions) < n and asked < (now - t0) * ramp + 1:
                asked += 1
                try:
                    listeners.join(now)
                except HostFull:
                    refused += 1
            if end is None and (len(sessions) == n or (admission and now - t0 >= joining)):
                end = now + seconds
            if end is not None and now >= end:
                break
            listeners.move(now)
            core.tick(now)
            time.sleep(max(0.0, tick - (time.perf_counter() - now)))
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        rss = _rss_mb()  # after the whole run: every session's state as it plays
    finally:
        worker.close()
    misses = sum(s.conductor.misses for s in sessions)
    late = sum(s.late for s in sessions)
    phrases = sum(s.phrases for s in sessions)
    leads = np.array([x for s in sessions for x in s.leads]) if phrases else np.zeros(1)
    lags = core.lags
    # late phrases are reported, not counted against: a bar-mode rewrite asked for just before its
    # bar line is late by design and its material starts one bar later (no bar goes without)
    tick_p99 = lags.percentile(99) * 1000
    ok = misses == 0 and tick_p99 <= tick_slack
    joined = len(sessions)
    return Held(joined, bpm, seconds, misses, late, phrases, float(np.percentile(leads, 50)),
                float(np.percentile(leads, 1)), tick_p99, lags.max * 1000,
                cpu / wall / max(joined, 1) * 1000, worker.cpu / max(cpu, 1e-9),
                (rss - rss0) * 1024 / max(joined, 1), float(np.mean(worker.batch_rows or [0])), ok,
                rss - rss0, asked, refused)


def rss_per_added_session(growth: list[tuple[int, float]]) -> float | None:
    """KB of RSS each further session adds: the least-squares slope of (sessions, MB of growth)
    over runs; None unless three runs had different counts (two runs' noise makes any slope)."""
    if len({n for n, _ in growth}) < 3:
        return None
    n, mb = np.array(growth, dtype=float).T
    return float(np.polyfit(n, mb, 1)[0] * 1024)


def _fastest_bpm(template: Template) -> float:
    return max(controls(v, a, template).tempo_bpm for v in (-1, 0, 1) for a in (-1, 0, 1))


def _print_held(h: Held) -> None:
    print(f"{h.sessions:8d} {h.bpm:6.0f} {h.seconds:6.0f} {h.phrases:8d} {h.misses:6d} {h.late:5d} "
          f"{h.lead_p50:9.0f} {h.lead_p99:9.0f} {h.tick_p99_ms:8.1f} {h.tick_max_ms:8.1f} "
          f"{h.cpu_per_session_ms:8.2f} {100 * h.generation_share:5.0f}% {h.rss_per_session_kb:8.1f} "
          f"{h.mean_batch:6.1f}  {'held' if h.ok else 'NOT held'}",
          flush=True)


def _search(attempt: Callable[[int], bool], start: int, counts: list[int] | None) -> int:
    """The largest count that holds: of ``counts``, tried from the smallest up to the first that
    fails (a larger one holding by luck would overstate), else doubling from ``start``, then
    bisecting."""
    if counts:
        held = 0
        for n in sorted(counts):
            if not attempt(n):
                break
            held = n
        return held
    lo, hi, n = 0, None, start
    while True:
        if attempt(n):
            lo = n
        else:
            hi = n
        if hi is None:
            n *= 2
        elif hi - lo <= max(25, lo // 8):
            return lo
        else:
            n = (lo + hi) // 2


ADMISSION = HostLimits().max_load  # the host's default


def run(*, minutes: float = 1.0, sessions: list[int] | None = None, precision: str = "fp32",
        model: str = "abc", max_batch: int = 64, device: str = "cpu", batches: tuple[int, ...] = BATCHES,
        start: int = 100, graph: str = "auto") -> int:
    """Print the table; return the sessions held per core (the smaller of the two tempos).
    ``graph``: the ABC's batched graph (:func:`~moodscore.models.batched.abc_graph`)."""
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    logging.getLogger("moodscore.engine.conductor").setLevel(logging.ERROR)  # misses are counted
    graph = abc_graph(graph, device == "cuda")
    if model == "abc" and graph == "resident" and precision != "fp32":
        raise ConfigError(f"the resident graph (CUDA's) runs at fp32 only, got --precision {precision}")
    print(f"moodscore bench sessions: {model}, {precision}, {graph} graph, max batch {max_batch}, device {device}, "
          f"cores {affinity} ({'one core' if len(affinity) == 1 else 'pin it: taskset -c 1'}), "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"the per-session hot path: {describe()}")
    print("\nphrases/s (4 bars each) against batch size")
    print("   batch " + "".join(f"{b:>8d}" for b in batches))
    for name, prec in (("abc", "fp32"), ("abc", "int8"), ("lstm", "fp32"), ("lstm", "int8")):
        if name == "abc" and prec == "int8" and graph == "resident":
            print(f"{name:>4} {prec:<4}   none: the resident graph runs at fp32 only", flush=True)
            continue
        rates = [throughput(name, prec, b, device=device, graph=graph) for b in batches]
        print(f"{name:>4} {prec:<4}" + "".join(f"{r:8.0f}" for r in rates), flush=True)
    if model == "abc":
        print("\nwhat a 64-row call of the ABC's CUDA graphs moves between host and device, MB to / from: "
              + "; ".join(f"{g} {a:.3f} / {b:.3f}" for g in ("slots", "resident") for a, b in [traffic(g)]))
    work, digest = host_work()
    print(f"\nthe host's own work, without generation (100 sessions, 120 BPM, 60 s of music on a virtual clock, "
          f"phrases made beforehand): {work:.2f} CPU ms per second of music per session (output digest {digest})")
    models = {model: load_batched(model, precision=precision, max_batch=max_batch, prefer_gpu=device == "cuda",
                                  graph=graph if model == "abc" else "auto")}
    models[model].run(_jobs(model, max_batch))  # a full batch first: its buffers are the models' cost
    batch = models[model]
    if isinstance(batch, BatchedAbc):
        batch.reserve()  # the slot buffers at the most they can grow to, resident
    print(f"\nsessions held in real time for {minutes:g} min each, after all joined. cpu: ms per second of music "
          "per session (gen: the generation worker's share); rss: the run's RSS growth beyond the models and "
          "a full batch, KB per session (each count runs in a process of its own); lead: ms phrases were ready before due (p50, 1st percentile); tick: ms due output "
          "waited; batch: mean rows per model call")
    print("sessions    bpm      s  phrases misses  late  lead p50  lead p01 tick p99 tick max "
          "cpu ms/s   gen   rss KB  batch")
    held = {}
    growth: list[tuple[int, float]] = []
    for bpm in (120.0, _fastest_bpm(Template())):
        def attempt(n: int, bpm: float = bpm) -> bool:
            h = _isolated(lambda: hold(n, bpm, minutes * 60, precision=precision, model=model,
                                       max_batch=max_batch, device=device, models=models))
            _print_held(h)
            if h.ok:  # a run that falls behind also holds its backlog
                growth.append((n, h.rss_growth_mb))
            return h.ok

        held[bpm] = _search(attempt, start, sessions)
    asked = 2 * max(held[120.0], start)
    print(f"\npast what it holds, as `moodscore host` runs (new sessions refused while the generation worker, "
          f"the tick or the CPU was busy more than {ADMISSION:.0%} of the last 5 s, or would be with the sessions "
          f"that just joined and one more; each refused join tried again at the next join's turn): {asked} asked "
          "at 120 BPM")
    h = _isolated(lambda: hold(asked, 120.0, minutes * 60, precision=precision, model=model, max_batch=max_batch,
                               device=device, models=models, admission=ADMISSION))
    _print_held(h)
    print(f"admitted {h.sessions} of {asked} ({h.refused} of {h.asked} joins refused for the load); those "
          f"admitted: {h.misses} missed bars, {'held' if h.ok else 'NOT held'}")
    marginal = rss_per_added_session(growth)
    if growth:
        worst_rss = max(mb * 1024 / n for n, mb in growth)
        print(f"\nRSS growth per session, fixed costs included, at most {worst_rss:.0f} KB in a run that held"
              + (f"; per added session {marginal:.0f} KB (least-squares slope over the {len(growth)} runs that "
                 "held; the allocator's slack and the batch's transient buffers make it noisy)"
                 if marginal is not None else ""))
    state = _isolated(lambda: host_work(100, 60.0, memory=True)[0])
    print(f"memory a session holds: {state:.0f} KB (traced allocations still live after 60 s of music, 100 "
          "sessions on a virtual clock, phrases made beforehand)")
    worst = min(held.values())
    print(f"\nsessions held per core: {worst} at {' and '.join(f'{b:g} BPM: {n}' for b, n in held.items())}")
    return worst

