"""The contract every MIDI sink follows, modelled on mido's ports.

:class:`MidiSink` owns the lock and the state (closed, open, connected or lost, messages dropped);
a backend overrides only ``_open``, ``_send`` and ``_close``, plus optional hooks: ``_send_at``
for a backend that places each message at its scheduled time itself (a synth rendering ahead
of the clock gets the time the scheduler meant, not the moment the message reached it), and two for
endpoints that can come and go: ``_check`` (is it still there? fast, called under the lock) and
``_probe`` (could it be opened now? may be slow, called without the lock). When reopening a
lost endpoint, ``_open`` runs without the lock too, while sends are being dropped.

A sink never lets a lost endpoint take the session down: a failing ``_send`` or a failed
``_check`` marks the sink lost, logs once, and further messages are dropped and counted until
:meth:`MidiSink.poll` (the scheduler calls it about once a second) gets it back.

Public API: :class:`MidiSink`.
"""
from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import TypeVar

import mido

from ..errors import OutputError

log = logging.getLogger(__name__)
S = TypeVar("S", bound="MidiSink")


class MidiSink:
    """Base class of MIDI outputs: ``open()``, ``send(msg)``, ``close()``, ``poll()``."""

    name: str = "sink"

    def __init__(self) -> None:
        # Re-entrant, so a panic from a signal handler can run while this thread is in send().
        self._lock = threading.RLock()
        self._reconnecting = threading.Lock()
        self._open_state = False
        self._connected = False
        self.dropped = 0  # messages dropped while the endpoint was lost
        self.reconnects = 0

    # -- hooks for backends ------------------------------------------------------------------
    def _open(self) -> None:
        """Acquire the endpoint; raise :class:`OutputError` when that fails."""

    def _send(self, msg: mido.Message) -> None:
        raise NotImplementedError

    def _send_at(self, msg: mido.Message, at: float | None) -> None:
        """Send ``msg``, scheduled for clock time ``at`` (None: now); by default ``_send``."""
        self._send(msg)

    def _close(self) -> None:
        """Release the endpoint; called at most once per successful ``_open``."""

    def _check(self) -> bool:
        """Whether the endpoint is still there; must be fast (runs under the lock)."""
        return True

    def _probe(self) -> bool:
        """Whether reopening could succeed now; may be slow (runs without the lock)."""
        return True

    # -- public contract ---------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self._open_state

    @property
    def connected(self) -> bool:
        """Open and reaching its endpoint (False while lost)."""
        return self._open_state and self._connected

    def open(self: S) -> S:
        """Open the sink (a no-op when open); raise :class:`OutputError` when it cannot."""
        with self._lock:
            if not self._open_state:
                self._open()
                self._open_state = self._connected = True
        return self

    def send(self, msg: mido.Message, at: float | None = None) -> None:
        """Send one message now (``at``: the clock time it was scheduled for, if it was);
        dropped (and counted) while the endpoint is lost."""
        with self._lock:
            if not self._open_state:
                raise OutputError(f"{self.name}: send() on a closed sink; call open() first")
            if not self._connected:
                self.dropped += 1
                return
            try:
                self._send_at(msg, at)
            except Exception as err:  # a vanished port must not end the session
                self._lose(f"send failed: {err}")
                self.dropped += 1

    def close(self) -> None:
        """Close the sink; a no-op when closed."""
        with self._lock:
            if not self._open_state:
                return
            self._open_state = False
            if self._connected:
                self._connected = False
                self._close()

    def poll(self) -> bool:
        """Check the endpoint and try to get a lost one back; return :attr:`connected`."""
        with self._lock:
            if not self._open_state:
                return False
            if self._connected:
                try:
                    alive = self._check()
                except Exception as err:
                    log.debug("%s: check failed: %s", self.name, err)
                    alive = False
                if alive:
                    return True
                self._lose("endpoint vanished")
        try:
            ready = self._probe()
        except Exception as err:
            log.debug("%s: probe failed: %s", self.name, err)
            ready = False
        return self.reconnect() if ready else False

    def reconnect(self) -> bool:
        """Close and reopen the endpoint now (also after a server restart); return success.

        The reopening runs outside the lock: meanwhile ``send`` drops instead of waiting, so
        a slow reopen never delays whoever shares the sending thread.
        """
        if not self._reconnecting.acquire(blocking=False):
            return False  # another thread is at it
        try:
            with self._lock:
                if not self._open_state:
                    return False
                if self._connected:
                    self._connected = False
                    self._close_quietly()
            try:
                self._open()
            except Exception as err:
                log.debug("%s: reconnect failed: %s", self.name, err)
                return False
            with self._lock:
                if not self._open_state:  # closed while we were reopening
                    self._close_quietly()
                    return False
                self._connected = True
                self.reconnects += 1
            log.warning("%s: reconnected (%d messages dropped so far)", self.name, self.dropped)
            return True
        finally:
            self._reconnecting.release()

    # -- helpers -----------------------------------------------------------------------------
    def _lose(self, why: str) -> None:
        self._connected = False
        log.warning("%s: output lost (%s); dropping messages until it is back", self.name, why)
        self._close_quietly()

    def _close_quietly(self) -> None:
        try:
            self._close()
        except Exception as err:  # the endpoint is already gone; closing is best effort
            log.debug("%s: close failed: %s", self.name, err)

    def __enter__(self: S) -> S:
        return self.open()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if not self._open_state else "open" if self._connected else "lost"
        return f"<{type(self).__name__} {self.name!r} {state}>"
