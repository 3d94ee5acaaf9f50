"""Send timed MIDI messages on time, from a dedicated thread, and never leave a note hanging.

:class:`MidiScheduler` keeps a heap of ``(time, message)`` ordered by time, then note-offs
before everything else, then insertion order. Its thread sleeps on a condition until about
``spin_s`` before the next event (a newly scheduled earlier event wakes it), busy-waits the
rest, hands the message to the sink and records how late it was. It tracks which notes sound,
so :meth:`~MidiScheduler.panic` and :meth:`~MidiScheduler.cancel_after` can end exactly those;
panic also runs on :meth:`~MidiScheduler.stop`, when the thread dies of an exception, and on
SIGINT/SIGTERM once :func:`install_signal_handlers` is in place. A second thread polls the sink
about once a second so a lost port comes back on its own.

Times are seconds on ``clock`` (``time.perf_counter`` unless given); the conductor's event
times are on the same clock.

Public API: :class:`MidiScheduler`, :func:`install_signal_handlers`, :func:`panic_messages`.
"""
from __future__ import annotations

import heapq
import logging
import math
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from types import FrameType

import mido

from ..errors import ConfigError, MoodscoreError
from .base import MidiSink

log = logging.getLogger(__name__)

ALL_NOTES_OFF, ALL_SOUND_OFF, RESET_CONTROLLERS, SUSTAIN = 123, 120, 121, 64
_Entry = tuple[float, int, int, mido.Message]  # (time, rank, sequence, message)


def _is_note_off(msg: mido.Message) -> bool:
    return bool(msg.type == "note_off" or (msg.type == "note_on" and msg.velocity == 0))


def _rank(msg: mido.Message) -> int:
    # At equal times note-offs (and transport) go first, so a repeated note is re-struck.
    return 0 if _is_note_off(msg) or msg.is_realtime else 1


def panic_messages() -> list[mido.Message]:
    """CC 123 (all notes off), 120 (all sound off), 121 (reset controllers), 64=0 on 16 channels."""
    return [mido.Message("control_change", channel=ch, control=cc, value=0)
            for ch in range(16) for cc in (ALL_NOTES_OFF, ALL_SOUND_OFF, RESET_CONTROLLERS, SUSTAIN)]


class MidiScheduler:
    """Plays scheduled messages into ``sink`` on ``clock`` from a daemon thread."""

    def __init__(self, sink: MidiSink, *, clock: Callable[[], float] = time.perf_counter,
                 spin_s: float = 0.002, reconnect_s: float | None = 1.0, keep: int = 10_000) -> None:
        if not spin_s >= 0:
            raise ConfigError(f"spin_s must be >= 0 seconds, got {spin_s!r}")
        if reconnect_s is not None and not reconnect_s > 0:
            raise ConfigError(f"reconnect_s must be > 0 seconds or None, got {reconnect_s!r}")
        self.sink, self.clock, self.spin_s, self.reconnect_s = sink, clock, spin_s, reconnect_s
        self.error: BaseException | None = None  # what killed the thread, if anything
        self._heap: list[_Entry] = []
        self._seq = 0
        self._cond = threading.Condition(threading.RLock())
        # Held from popping an event to having sent it, and by panic/cancel_after/clock_stop,
        # so they never miss a note that is on its way out.
        self._send_lock = threading.RLock()
        self._sounding: dict[tuple[int, int], int] = {}
        self._late: deque[float] = deque(maxlen=keep)
        self._late_count, self._late_max = 0, 0.0
        self._running = False
        self._threads: list[threading.Thread] = []
        self._halt = threading.Event()
        self._tick = mido.Message("clock")  # this very object marks MIDI clock ticks in the heap
        self._bpm_fn: Callable[[], float] | None = None
        self._tick_s = 60.0 / (120 * 24)

    # -- scheduling --------------------------------------------------------------------------
    def now(self) -> float:
        return self.clock()

    @property
    def running(self) -> bool:
        return self._running

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def next_time(self) -> float | None:
        """When the earliest pending event is due; None when nothing is pending."""
        with self._cond:
            return self._heap[0][0] if self._heap else None

    def sounding(self) -> dict[tuple[int, int], int]:
        """``{(channel, pitch): count}`` of the notes sent and not yet ended."""
        with self._send_lock:
            return dict(self._sounding)

    def schedule(self, at: float, msg: mido.Message) -> None:
        """Send ``msg`` at time ``at`` (now if it is past); safe from any thread."""
        self.schedule_many([(at, msg)])

    def schedule_many(self, events: Iterable[tuple[float, mido.Message]]) -> None:
        items = list(events)
        for at, msg in items:
            if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at):
                raise ConfigError(f"event time must be a finite number of seconds, got {at!r}")
            if not isinstance(msg, mido.Message):
                raise ConfigError(f"event must be a mido.Message, got {type(msg).__name__}")
        with self._cond:
            head = self._heap[0] if self._heap else None
            for at, msg in items:
                self._push(float(at), msg)
            if self._heap and self._heap[0] is not head:
                self._cond.notify_all()

    def _push(self, at: float, msg: mido.Message, rank: int | None = None) -> _Entry:
        self._seq += 1
        entry = (at, _rank(msg) if rank is None else rank, self._seq, msg)
        heapq.heappush(self._heap, entry)
        return entry

    def cancel_after(self, t: float, channels: Iterable[int] | None = None, *,
                     hold: bool = False) -> int:
        """Drop pending events at or after ``t`` (on ``channels``; None: all); return how many.

        Notes that will still sound at ``t`` are ended at ``t``, as an offline cut does; with
        ``hold`` they keep their own scheduled note-offs instead (ended at ``t`` only if none
        is pending). Either way nothing is left hanging. MIDI clock ticks are kept.
        """
        chans = None if channels is None else set(channels)

        def hit(msg: mido.Message) -> bool:
            if msg is self._tick:
                return False
            return chans is None or getattr(msg, "channel", None) in chans

        with self._send_lock, self._cond:
            keep: list[_Entry] = []
            cut: list[_Entry] = []
            for entry in self._heap:
                (cut if entry[0] >= t and hit(entry[3]) else keep).append(entry)
            on = {k: n for k, n in self._sounding.items() if chans is None or k[0] in chans}
            for _, _, _, msg in sorted(keep):
                if hit(msg) and msg.type in ("note_on", "note_off"):
                    key = (msg.channel, msg.note)
                    if _is_note_off(msg):
                        on[key] = max(0, on.get(key, 0) - 1)
                    else:
                        on[key] = on.get(key, 0) + 1
            offs: dict[tuple[int, int], list[_Entry]] = {}
            for entry in sorted(cut):
                if _is_note_off(entry[3]):
                    offs.setdefault((entry[3].channel, entry[3].note), []).append(entry)
            self._heap = keep
            reused = 0
            for (channel, note), count in sorted(on.items()):
                if hold:
                    kept = offs.get((channel, note), [])[:count]
                    self._heap.extend(kept)
                    count -= len(kept)
                    reused += len(kept)
                for _ in range(count):
                    self._seq += 1
                    off = mido.Message("note_off", channel=channel, note=note, velocity=0)
                    self._heap.append((t, 0, self._seq, off))
            heapq.heapify(self._heap)
            self._cond.notify_all()
            return len(cut) - reused

    # -- panic -------------------------------------------------------------------------------
    def panic(self) -> None:
        """Drop everything pending (MIDI clock aside), end every sounding note, reset 16 channels.

        Sends a note-off per sounding note (twice if struck twice), then CC 123, 120, 121 and
        64=0 on each channel. Runs now, from the calling thread.
        """
        with self._send_lock:
            with self._cond:
                self._heap = [e for e in self._heap if e[3] is self._tick]
                heapq.heapify(self._heap)
            sounding, self._sounding = self._sounding, {}
            for (channel, note), count in sorted(sounding.items()):
                for _ in range(count):
                    self.sink.send(mido.Message("note_off", channel=channel, note=note, velocity=0))
            for msg in panic_messages():
                self.sink.send(msg)

    # -- MIDI clock --------------------------------------------------------------------------
    def clock_out(self, bpm_fn: Callable[[], float], *, at: float | None = None) -> None:
        """Send 'start' at ``at`` (default: now), then 24 'clock' per beat at ``bpm_fn()`` bpm."""
        with self._cond:
            if self._bpm_fn is not None:
                raise ConfigError("MIDI clock is already running; call clock_stop() first")
            start = self.clock() if at is None else float(at)
            self._bpm_fn = bpm_fn
            self._push(start, mido.Message("start"), rank=0)
            self._push(start, self._tick, rank=0)
            self._cond.notify_all()

    def clock_stop(self, at: float | None = None) -> None:
        """Stop the MIDI clock and send 'stop' at ``at`` (default: now)."""
        with self._send_lock, self._cond:
            if self._bpm_fn is None:
                return
            self._bpm_fn = None
            self._heap = [e for e in self._heap if e[3] is not self._tick]
            heapq.heapify(self._heap)
            self._push(self.clock() if at is None else float(at), mido.Message("stop"), rank=0)
            self._cond.notify_all()

    def _next_tick(self, at: float) -> None:
        assert self._bpm_fn is not None
        try:
            bpm = float(self._bpm_fn())
            if not 1.0 <= bpm <= 1000.0:
                raise ValueError(f"{bpm} bpm is outside 1..1000")
            self._tick_s = 60.0 / (bpm * 24)
        except Exception as err:  # a bad tempo must not stop the clock: keep the last one
            log.warning("MIDI clock: bpm_fn failed (%s); keeping %.1f bpm", err,
                        60.0 / (self._tick_s * 24))
        self._push(at + self._tick_s, self._tick, rank=0)

    # -- thread ------------------------------------------------------------------------------
    def start(self) -> MidiScheduler:
        """Start the sending thread (and the sink poller); a no-op when running."""
        with self._cond:
            if self._running:
                return self
            self._running, self.error = True, None
            self._halt = threading.Event()
            self._threads = [threading.Thread(target=self._run, name="moodscore-midi", daemon=True)]
            if self.reconnect_s is not None:
                self._threads.append(threading.Thread(target=self._poll_sink, args=(self._halt,),
                                                      name="moodscore-midi-poll", daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, panic: bool = True, timeout: float = 2.0) -> None:
        """Stop the thread; stop the MIDI clock if it runs; then :meth:`panic` unless told not to."""
        with self._send_lock:
            with self._cond:
                self._running = False
                clock_was_on = self._bpm_fn is not None
                self._bpm_fn = None
                self._heap = [e for e in self._heap if e[3] is not self._tick]
                heapq.heapify(self._heap)
                self._cond.notify_all()
            self._halt.set()
            if not self.sink.is_open:
                log.warning("%s closed before the scheduler stopped: no panic sent", self.sink.name)
            else:
                if clock_was_on:
                    self.sink.send(mido.Message("stop"))
                if panic:
                    self.panic()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout)

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    while self._running:
                        if not self._heap:
                            self._cond.wait()
                            continue
                        delay = self._heap[0][0] - self.clock() - self.spin_s
                        if delay <= 0:
                            break
                        self._cond.wait(delay)
                    else:
                        return
                with self._send_lock:
                    with self._cond:
                        if not self._running:
                            return
                        if not self._heap or self._heap[0][0] - self.clock() > self.spin_s:
                            continue  # panic, cancel_after or clock_stop changed the heap
                        at, _, _, msg = heapq.heappop(self._heap)
                        if msg is self._tick:
                            self._next_tick(at)
                    while self.clock() < at:
                        pass  # the last spin_s: a sleep would overshoot by more than this
                    self._deliver(msg, at)
                    late = self.clock() - at
                with self._cond:
                    self._late.append(late)
                    self._late_count += 1
                    self._late_max = max(self._late_max, late)
        except Exception as err:
            self.error = err
            log.exception("MIDI scheduler thread failed; sending panic")
            try:
                self.panic()
            except Exception:
                log.exception("panic after scheduler failure failed too")
            self._running = False
            self._halt.set()

    def _deliver(self, msg: mido.Message, at: float) -> None:
        self.sink.send(msg, at)
        if msg.type in ("note_on", "note_off"):
            key = (msg.channel, msg.note)
            if _is_note_off(msg):
                if self._sounding.get(key, 0) > 1:
                    self._sounding[key] -= 1
                else:
                    self._sounding.pop(key, None)
            else:
                self._sounding[key] = self._sounding.get(key, 0) + 1

    def _poll_sink(self, halt: threading.Event) -> None:
        assert self.reconnect_s is not None
        while not halt.wait(self.reconnect_s):
            try:
                self.sink.poll()
            except Exception:
                log.exception("polling %s failed", self.sink.name)

    def flush_until(self, t: float) -> int:
        """Send every event due at or before ``t`` now, in order, without waiting or timing.

        For offline renders and tests on a virtual clock shared with the sink: step the clock
        to each :meth:`next_time` and flush to it. Not while the thread runs. Returns how many
        were sent.
        """
        if self._running:
            raise ConfigError("flush_until() is for a stopped scheduler; the thread is running")
        sent = 0
        with self._send_lock:
            while True:
                with self._cond:
                    if not self._heap or self._heap[0][0] > t:
                        return sent
                    at, _, _, msg = heapq.heappop(self._heap)
                    if msg is self._tick:
                        self._next_tick(at)
                self._deliver(msg, at)
                sent += 1

    # -- measurements ------------------------------------------------------------------------
    def lateness_stats(self) -> dict[str, float]:
        """Send time minus scheduled time: p50 and p99 over the last ``keep`` events, max and
        count over all, in milliseconds."""
        with self._cond:
            late = sorted(self._late)
            count, worst = self._late_count, self._late_max

        def pct(p: float) -> float:
            return late[max(0, math.ceil(p / 100 * len(late)) - 1)] * 1e3 if late else 0.0

        return {"count": count, "p50_ms": pct(50), "p99_ms": pct(99), "max_ms": worst * 1e3}


def install_signal_handlers(scheduler: MidiScheduler,
                            signals: Iterable[int] = (signal.SIGINT, signal.SIGTERM)
                            ) -> Callable[[], None]:
    """On SIGINT/SIGTERM stop ``scheduler`` with a panic, then exit as the signal would have.

    The previous handler then runs (SIGINT's default raises ``KeyboardInterrupt``); where there
    was none, SIGTERM raises ``SystemExit(143)``. Call from the main thread. Returns a function
    that puts the previous handlers back (the handler also does so when it fires).
    """
    if threading.current_thread() is not threading.main_thread():
        raise MoodscoreError("install_signal_handlers() must be called from the main thread")
    previous: dict[int, Callable[[int, FrameType | None], object] | int | None] = {}

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        restore()
        try:
            scheduler.stop(panic=True)
        except Exception:
            log.exception("panic on signal %d failed", signum)
        before = previous[signum]
        if before is signal.SIG_IGN:
            return
        if callable(before):
            before(signum, frame)
            return
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    for signum in signals:
        previous[signum] = signal.signal(signum, on_signal)
    return restore
