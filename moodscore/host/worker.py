"""One generation worker for every session: earliest deadline first, batched across sessions.

Sessions hand in :class:`~moodscore.models.batched.Job` s (a conductor request with the time its
first bar must be scheduled). One thread runs them: the queue is a heap ordered by deadline,
jobs join a model's batch between steps as rows free up (continuous batching), so a new request
waits one step, not for a whole batch to finish. What a step costs is mostly fixed (the LSTM:
about 0.3 ms for one row, 3 ms for 64), so the worker makes few calls with many rows:

- A job is not started before ``lazy`` seconds from its deadline unless half a batch is waiting
  and a model has room for half a batch: then all that wait start together, in one prefill, not
  a few at a time into the running batch.
- When a job that waited for its time starts a batch from nothing, the jobs due in the
  ``gather`` seconds after it start with it. A job asked for at short notice (a mood change's
  rewrite) does not: sweeping the queue at each of those kept every batch a few rows.
- Steps are paced: at least ``step_gap`` seconds apart while no row and no waiting job is
  within ``urgent`` seconds of its deadline, so the jobs that arrive meanwhile share the next
  call (a phrase of about 48 steps then takes under a second, well within ``lazy``).

A job whose deadline is near (``urgent`` seconds) joins even when the batch is full, up to
the model's ``most_rows`` (the LSTM: twice ``max_batch``; the ABC: ``max_batch``, since more rows
would grow its slot buffers through a copy of the whole cache, a stall of half a second or
more just when the worker is behind), rather than
wait for a row to finish. Rows due within ``urgent`` seconds step on
their own, in a small batch that runs fast, until they are done: batching never holds up a
phrase that is nearly due (the others have seconds in hand). Only when the whole batch would be
too slow for them, though: while all rows together step fast enough for the urgent ones to
finish in 80% of the time they have left (at the pace of the recent full steps), they step with
the others (a mood change asks for a few bars due within a bar; stepped alone, such rows made
half of all model calls, of one or two rows each). Jobs whose session no longer wants them
(``still_wanted``) are dropped before any work, and rows in flight as soon as that happens (a
mood change that rewrites the bars, a closed session). Finished jobs go back through
``deliver`` (the caller makes it thread-safe).

The worker holds the GIL while it samples (Python, per row); the tick loop must not wait long
for it: :func:`share_the_gil` makes threads take turns every millisecond (Python's default is
5 ms), which keeps the tick within a few ms of due. The worker thread also runs at a lower
priority (nice +10 on Linux), so the tick gets the core first when both want it. And
:func:`calm_the_gc` keeps the cyclic garbage collector's pauses short: it skips what was there
at start (the models, the tables), collects young objects every 500 allocations (net of
deallocations, so the young generation can still hold several thousand) and the middle
generation at every third of those, and leaves full collections rare. Each pause is
proportional to the live young objects it traverses, so small rounds mean short pauses for
about the same total. In a compiled build notes and MIDI messages are not tracked at all
(:mod:`moodscore.compiled`), and what is left is mostly tuples the collector untracks the
first time it sees them. At 1,000 LSTM sessions (compiled; ``hold(1000, 120, 30)``, pauses
timed with ``gc.callbacks``) 5,000 allocations a round let the young generation reach 10,000-
50,000 objects and paused 8 ms at the median, over 20 ms in 23 of 80 rounds; 500 a
round paused 0.5 ms at the median. The settings before those (20,000, 20, 100) paused both
threads for 300-430 ms in each middle collection at 800 sessions; a full collection there
scans every session's live objects (about 0.8 s).

Public API: :class:`GenerationWorker`, :func:`share_the_gil`, :func:`calm_the_gc`.
"""
from __future__ import annotations

import gc
import heapq
import itertools
import logging
import os
import sys
import threading
import time
from typing import Callable

from ..models.batched import BatchedAbc, BatchedLstm, Job
from . import load

log = logging.getLogger(__name__)


SWITCH_INTERVAL = 0.001  # seconds a thread holds the GIL before another may take it
STEP_GAP = 0.015  # seconds, at least, from one step to the next while nothing is near due
WAIT_AT_MOST = 0.25  # seconds of one wait
STEPS_PER_BAR = 12  # model calls a bar of a phrase takes, about (ABC in 4/4: 8-9 tokens)


def share_the_gil() -> None:
    sys.setswitchinterval(SWITCH_INTERVAL)


GC_THRESHOLDS = (500, 2, 10_000)  # Python's default: (700, 10, 10)


def calm_the_gc() -> None:
    """``GC_THRESHOLDS``: young objects collected every 500 allocations, the middle
    generation at every third young collection, a full collection after 10,000 of those (and
    Python's own rule that the old generation has grown by a quarter); everything alive now
    (after one full collection) is kept out of every later one (``gc.freeze``). Cycles are still
    found: the sessions make none (a host's run left no cyclic garbage); a connection's, once
    old, wait for a full collection, which :class:`~moodscore.host.server.Host` also runs when
    its last session has gone."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class GenerationWorker:
    def __init__(self, models: dict[str, BatchedAbc | BatchedLstm], deliver: Callable[[list[Job]], None],
                 *, still_wanted: Callable[[Job], bool] = lambda job: True, urgent: float = 1.5,
                 lazy: float = 3.0, gather: float = 4.0, step_gap: float = STEP_GAP,
                 clock: Callable[[], float] = time.perf_counter, window: float = load.WINDOW) -> None:
        self.models, self.deliver, self.still_wanted = models, deliver, still_wanted
        self.urgent, self.lazy, self.gather, self.clock = urgent, lazy, gather, clock
        self.step_gap = step_gap
        self._heap: list[tuple[float, int, Job, float]] = []  # (deadline, order, job, when submitted)
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stop = False
        self.done = 0
        self.dropped = 0
        self.failed = 0
        self.batch_rows: list[int] = []  # rows per model call, the last 1000
        self.cpu = 0.0  # CPU seconds the worker thread has used
        self._pace: dict[str, float] = {}  # seconds a step of all a model's rows took, lately
        # of the clock's time, the thread's waits (for work, or pacing its steps), over `window` s
        self.waiting = load.Share(window, clock)
        self._thread = threading.Thread(target=self._run, name="moodscore-host-generate", daemon=True)

    def start(self) -> "GenerationWorker":
        share_the_gil()
        calm_the_gc()
        self._thread.start()
        return self

    def submit(self, job: Job) -> None:
        with self._cv:
            heapq.heappush(self._heap, (job.deadline, next(self._seq), job, self.clock()))
            self._cv.notify()

    def close(self, timeout: float = 5.0) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def queued(self) -> int:
        return len(self._heap)

    def in_flight(self) -> int:
        return sum(len(m) for m in self.models.values())

    def _admit(self) -> None:
        now = self.clock()
        with self._cv:
            held = []
            horizon = None  # jobs due to start by then start now
            # half a batch waits and a model has room for half a batch: they start together, in
            # one prefill; a running batch is not topped up a few rows at a time (each join
            # prefills apart from the rest, and the batch runs small)
            fill = self._fill
            bulk = {name: len(self._heap) >= fill and m.free >= fill for name, m in self.models.items()}
            while self._heap:
                deadline, _, job, submitted = self._heap[0]
                name = _model_of(job)
                model = self.models[name]
                if horizon is None:
                    # once one job that waited for its time is due to start a batch from nothing,
                    # those due in the next `gather` s start with it, to share its model calls (a
                    # job asked for at short notice, a mood's rewrite, starts alone: sweeping the
                    # queue each time kept every batch a few rows)
                    gathers = deadline - now <= self.lazy < deadline - submitted and not len(model)
                    horizon = now + self.lazy + (self.gather if gathers else 0.0)
                if deadline > horizon and not bulk[name]:
                    if any(bulk.values()):
                        held.append(heapq.heappop(self._heap))  # another model starts a batch
                        continue
                    break  # not due yet: it waits for others, to share their model calls
                room = model.free > 0 or (deadline - now < self.urgent and len(model) < model.most_rows)
                if not room:
                    held.append(heapq.heappop(self._heap))  # another model may still have room
                    continue
                heapq.heappop(self._heap)
                if not self.still_wanted(job):
                    self.dropped += 1
                    continue
                if not model.admit(job, force=True):
                    self.failed += 1
                    self.deliver([job])
            for item in held:
                heapq.heappush(self._heap, item)

    def _urgent_go_with_all(self, model: BatchedAbc | BatchedLstm, now: float) -> bool:
        """Whether the urgent rows step with all the others: the whole batch steps fast enough
        for them (:meth:`_in_time_with_all`), or half the rows or more are urgent (the worker is
        behind: a call of them all costs little more than of half, and stepping them apart
        would make the calls smaller just when it most needs them large)."""
        return 2 * model.urgent >= len(model) or self._in_time_with_all(model, now)

    def _in_time_with_all(self, model: BatchedAbc | BatchedLstm, now: float) -> bool:
        """Whether every urgent row of ``model`` would finish stepping with all its rows, at the
        pace of its recent full steps, in half the time it has left (about ``STEPS_PER_BAR``
        calls a bar, more than it takes): then isolating them would only cost model calls."""
        pace = self._pace.get(model.name)
        if pace is None:
            return False
        for row in model.rows[: model.urgent]:
            calls = max(4, row.job.bars * STEPS_PER_BAR - row.job.steps)
            if calls * pace > 0.8 * (row.job.deadline - now):
                return False
        return True

    @property
    def _fill(self) -> int:
        return max(1, min(m.max_batch for m in self.models.values()) // 2)

    def _run(self) -> None:
        _yield_to_the_tick()
        while True:
            with self._cv:
                while not self._stop and not self.in_flight():
                    if self._heap:
                        wait = self._heap[0][0] - self.lazy - self.clock()
                        if wait <= 0 or len(self._heap) >= self._fill:
                            break
                        self._wait(wait)
                    else:
                        self._wait(None)
                if self._stop:
                    return
            self.cpu = time.thread_time()
            self.waiting.mark()
            self._admit()
            now = self.clock()
            for model in self.models.values():
                self.dropped += len(model.discard(self.still_wanted))
                if not len(model):
                    continue
                model.promote(now + self.urgent)
                if model.urgent and self._urgent_go_with_all(model, now):
                    model.urgent = 0
                rows = model.active
                timed = rows == len(model) and not model.prefilling()
                started = time.perf_counter()
                try:
                    finished = model.step()
                    if timed:
                        pace = self._pace.get(model.name)
                        took = time.perf_counter() - started
                        self._pace[model.name] = took if pace is None else 0.8 * pace + 0.2 * took
                except Exception:  # a model call that fails fails its rows, not the worker
                    log.exception("batched %s step failed; %d rows dropped", model.name, rows)
                    finished = [r.job for r in model.rows]
                    for job in finished:
                        job.error = job.error or RuntimeError("model step failed")
                    model.rows.clear()
                    model.urgent = 0
                self.batch_rows.append(rows)
                del self.batch_rows[:-1000]
                if finished:
                    self.done += len(finished)
                    self.deliver(finished)
            self._pause(now)

    def _pause(self, stepped: float) -> None:
        """Wait until ``step_gap`` s after the step that began at ``stepped``, while no row and no
        waiting job is near its deadline: the rows that arrive meanwhile share the next model
        call rather than make calls of their own (a call's cost is mostly fixed: 1 row costs
        about as much as 16), and every row still finishes in well under ``lazy`` s."""
        if self.step_gap <= 0:
            return
        until = stepped + self.step_gap
        with self._cv:
            while not self._stop and not self._hurry() and (left := until - self.clock()) > 0:
                self._wait(left)

    def _wait(self, timeout: float | None) -> None:
        """``self._cv.wait`` (the lock held), counted as waiting for :meth:`busy`; at most
        ``WAIT_AT_MOST`` s (every caller waits in a loop that checks again), so that a long
        idle spell still leaves the samples a window is measured from."""
        self.waiting.begin()
        self._cv.wait(WAIT_AT_MOST if timeout is None else min(timeout, WAIT_AT_MOST))
        self.waiting.end()

    def busy(self) -> float | None:
        """The share of the last ``window`` seconds (5 by default) the thread spent working or
        waiting for the CPU, rather than waiting for work or pacing its steps; None until it has
        half a window's history. Near 1 it has no time to spare: more sessions would make
        phrases late. Any thread may ask."""
        waiting = self.waiting.of_last()
        return None if waiting is None else 1.0 - waiting

    def _hurry(self) -> bool:
        """A row in flight or a waiting job is due within ``urgent`` s, or jobs wait while a
        model's batch is full: no one could join the next step, so waiting would only slow
        the backlog down."""
        soon = self.clock() + self.urgent
        if self._heap and self._heap[0][0] < soon:
            return True
        for model in self.models.values():
            if self._heap and not model.free:
                return True
            if any(r.job.deadline < soon for r in model.rows):
                return True
        return False


NICE = 10  # how much lower the worker thread's priority is than the process's


def _yield_to_the_tick() -> None:
    """Lower this thread's priority (Linux: a thread's nice value is its own): the sessions' tick
    must send due output within milliseconds, the worker only finish phrases in seconds, and on
    a core they share the scheduler would otherwise split time evenly and let the tick wait."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + NICE))
    except (AttributeError, OSError):  # no per-thread priorities here: the tick takes its turn
        pass


def _model_of(job: Job) -> str:
    return getattr(job.tag, "model", "abc")
