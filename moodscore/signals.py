"""SIGINT and SIGTERM end a live process with the full panic, even while its event loop is stuck.

asyncio's signal handlers run on the event loop, so a loop that never comes back (a parser
stuck in a loop, a callback that blocks) would keep the process alive and a note hanging.
:class:`GracefulExit` instead takes both signals with plain :func:`signal.signal` handlers,
which Python runs in the main thread between any two bytecodes, loop or no loop. The handler
only starts a thread; that thread asks the engine to stop (the normal, tidy path) and, if the
process has not finished within ``grace`` seconds, runs ``emergency`` itself (stop the scheduler
with the panic, flush the recording) and exits with the signal's status. A second deadline ends
the process even if ``emergency`` itself hangs. A tidy shutdown that is slow but has already
silenced the music (``silenced()``) gets ``patience`` seconds more instead.

:func:`run_guarded` runs a live coroutine (``moodscore serve``, ``demo``) that way: it is handed
a :class:`Running` to fill in with its engine, scheduler and sink as they start.

Public API: :class:`GracefulExit`, :class:`Running`, :func:`run_guarded`.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from types import FrameType
from typing import Any, Callable, TypeVar

log = logging.getLogger(__name__)
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GracefulExit:
    """Install from the main thread; call :meth:`done` when the tidy shutdown has finished, then
    :meth:`uninstall`."""

    def __init__(self, request_stop: Callable[[], None], emergency: Callable[[], None], *,
                 silenced: Callable[[], bool] = lambda: False, grace: float = 1.0, hard: float = 1.8,
                 patience: float = 10.0) -> None:
        self.request_stop, self.emergency, self.grace, self.hard = request_stop, emergency, grace, hard
        self.silenced, self.patience = silenced, patience
        self._done = threading.Event()
        self._fired = threading.Lock()
        self._previous: dict[int, Any] = {}

    def install(self) -> bool:
        """Take SIGINT and SIGTERM; False (nothing done) outside the main thread."""
        if threading.current_thread() is not threading.main_thread():
            return False
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._on_signal)
        return True

    def done(self) -> None:
        self._done.set()

    def uninstall(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._fired.acquire(blocking=False):  # the first signal; later ones change nothing
            threading.Thread(target=self._stop, args=(signum,), name="moodscore-signal",
                             daemon=True).start()

    def _stop(self, signum: int) -> None:
        name = signal.Signals(signum).name
        log.info("%s: stopping", name)
        self.request_stop()
        if self._done.wait(self.grace):
            return
        if self.silenced() and self._done.wait(self.patience):
            return  # the tidy path is under way and the panic is out: let it finish
        log.error("%s: the event loop did not stop within %.1f s; sending the panic from the "
                  "signal thread and exiting", name, self.grace)
        killer = threading.Timer(max(0.0, self.hard - self.grace), os._exit, (128 + signum,))
        killer.daemon = True
        killer.start()
        try:
            self.emergency()
        except Exception:
            log.exception("emergency stop failed")
        finally:
            logging.shutdown()
            os._exit(128 + signum)


@dataclass
class Running:
    """What a live process has started, for the signal thread to stop or, failing that, silence."""

    engine: Any = None  # has stop(), callable from any thread
    scheduler: Any = None  # a MidiScheduler
    sink: Any = None  # a MidiSink
    guarded: bool = False  # signals are handled by GracefulExit, not by the event loop

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.stop()

    def silenced(self) -> bool:
        """The tidy path has stopped the scheduler, so its panic is out."""
        return self.scheduler is not None and not self.scheduler.running

    def emergency(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop(panic=True, timeout=0.2)
        if self.sink is not None:
            self.sink.close()


T = TypeVar("T")


def run_guarded(main: Callable[[Running], Coroutine[Any, Any, T]], *, grace: float = 1.0) -> T:
    """``asyncio.run(main(running))`` with SIGINT/SIGTERM handled by :class:`GracefulExit`."""
    running = Running()
    guard = GracefulExit(running.stop, running.emergency, silenced=running.silenced, grace=grace)
    running.guarded = guard.install()
    try:
        return asyncio.run(main(running))
    finally:
        guard.done()
        guard.uninstall()
