"""How busy a thread has been lately: the share of the last few seconds of wall time it spent in
one state (working, or waiting for work), for the host's admission of new sessions.

A :class:`Share` counts the spans its thread marks with :meth:`~Share.begin` and
:meth:`~Share.end` and keeps (time, seconds counted so far) about every quarter second, so
:meth:`~Share.of_last` is one subtraction over a window, including a span still open. One
thread marks; any thread may read.

A :class:`CpuShare` samples the process's CPU time the same way: the share of its cores it used.

Public API: :class:`Share`, :class:`CpuShare`, :class:`Samples`, ``WINDOW``.
"""
from __future__ import annotations

import os
import threading
import time
from collections import deque
from typing import Callable

WINDOW = 5.0  # seconds a share is measured over
_EVERY = 0.25  # seconds between kept samples


class Samples:
    """(time, value) about every quarter second, the last ``window`` s' and one before them;
    one thread adds, any reads."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._kept: deque[tuple[float, float]] = deque()
        self._lock = threading.Lock()

    def due(self, now: float) -> bool:
        """Whether :meth:`add` would keep a sample at ``now`` (so a costly value need not be read)."""
        return not self._kept or now - self._kept[-1][0] >= _EVERY

    def add(self, now: float, total: float) -> None:
        kept = self._kept
        if not self.due(now):
            return
        with self._lock:
            kept.append((now, total))
            while len(kept) > 2 and kept[1][0] <= now - self.window:
                kept.popleft()

    def since(self, now: float) -> tuple[float, float] | None:
        """The last sample at or before ``now - window`` (else the first); None until it is
        half a window old."""
        with self._lock:
            then, total = self._kept[0]
            for t, x in self._kept:
                if t > now - self.window:
                    break
                then, total = t, x
        return (then, total) if now - then >= self.window / 2 else None

    def within(self, now: float) -> list[float]:
        """The values sampled in the last ``window`` s."""
        with self._lock:
            return [x for t, x in self._kept if t > now - self.window]


class Share:
    def __init__(self, window: float = WINDOW, clock: Callable[[], float] = time.perf_counter) -> None:
        self.window, self.clock = window, clock
        self.total = 0.0  # seconds counted, all along
        self._since: float | None = None  # the open span's start
        self._samples = Samples(window)
        self.mark()  # history starts now

    def begin(self) -> None:
        self._since = self.clock()

    def end(self, now: float | None = None) -> None:
        since = self._since
        if since is None:
            return
        now = self.clock() if now is None else now
        self._since = None
        self.total += now - since
        self.mark(now)

    def mark(self, now: float | None = None) -> None:
        """Keep a sample, if the last is a quarter second old (a thread in one long span keeps
        none meanwhile: call it now and then)."""
        self._samples.add(self.clock() if now is None else now, self.total)

    def of_last(self) -> float | None:
        """The share (0 to 1) of about the last ``window`` s spent in the counted state: since
        the last sample at or before the window's start (to within the samples' quarter
        second, or a long span's length), an open span counted from its start; None until half
        a window has been seen."""
        now = self.clock()
        start = self._samples.since(now)
        if start is None:
            return None
        then, total_then = start
        since = self._since
        total = self.total + (now - max(since, then) if since is not None else 0.0)
        return max(0.0, min(1.0, (total - total_then) / (now - then)))


class CpuShare:
    """The process's CPU time over the last ``window`` s of wall time, as a share of the cores it
    may run on (``cores``: its affinity): what the tick and the worker together use. Sampled
    with :meth:`mark` (about every quarter second is kept); any thread may read."""

    def __init__(self, window: float = WINDOW, cores: int | None = None,
                 clock: Callable[[], float] = time.perf_counter,
                 cpu: Callable[[], float] = time.process_time) -> None:
        self.window, self.clock, self.cpu = window, clock, cpu
        self.cores = cores or _cores()
        self._samples = Samples(window)
        self.mark()

    def mark(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        if self._samples.due(now):  # the process's CPU time is read only for a sample kept
            self._samples.add(now, self.cpu())

    def of_last(self) -> float | None:
        """The share (0 to 1) of the cores' time the process used over about the last
        ``window`` s; None until half a window has been seen."""
        now, cpu = self.clock(), self.cpu()
        start = self._samples.since(now)
        if start is None:
            return None
        then, cpu_then = start
        return max(0.0, min(1.0, (cpu - cpu_then) / (now - then) / self.cores))


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity here (macOS, Windows): every core
        return os.cpu_count() or 1
