"""Test support shared across folders: waiting, free ports, a subscribed WebSocket client, a JACK
MIDI receiver in its own process, and ``moodscore serve`` in a process of its own with no MIDI
hardware (it records to a file).

``import support`` works from any test: ``tests/conftest.py`` puts this folder on ``sys.path``.
"""
from __future__ import annotations

import ast
import contextlib
import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import mido
from websockets.sync.client import connect

RECEIVER = Path(__file__).parent / "midi" / "jack_receiver.py"
START_S = 60.0  # loading the model on a busy machine takes a while


@contextlib.contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fail (TimeoutError) if the block runs longer than ``seconds``, even if it never returns
    (an endless loop in Python code): SIGALRM interrupts it. Main thread only."""
    def late(signum: int, frame: object) -> None:
        raise TimeoutError(f"took more than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, late)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def wait_until(predicate: Callable[[], Any], timeout: float, what: str,
               why: Callable[[], str] = lambda: "") -> Any:
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout:g} s. {why()}")
        time.sleep(0.01)
    return result


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WsClient:
    """A subscribed WebSocket client: events in ``events`` as (arrival, event), replies in order."""

    def __init__(self, port: int) -> None:
        self._stack = ExitStack()
        self.ws = self._stack.enter_context(connect(f"ws://127.0.0.1:{port}", open_timeout=10,
                                                    max_size=None))
        self.events: list[tuple[float, dict]] = []
        self.replies: queue.Queue[tuple[float, dict]] = queue.Queue()
        self.closed: BaseException | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        assert self.request({"type": "subscribe"}) == {"type": "ack"}

    def _read(self) -> None:
        try:
            for frame in self.ws:
                data, at = json.loads(frame), time.perf_counter()
                if data["type"] in ("ack", "error"):
                    self.replies.put((at, data))
                else:
                    self.events.append((at, data))
        except Exception as err:  # noqa: BLE001 - kept to be reported by whoever asks
            self.closed = err
        else:
            self.closed = ConnectionError("closed")

    def request(self, message: dict | str) -> dict:
        self.ws.send(message if isinstance(message, str) else json.dumps(message))
        try:
            return self.replies.get(timeout=10)[1]
        except queue.Empty:
            raise AssertionError(f"no reply to {str(message)[:80]!r} (connection: {self.closed})") from None

    def of(self, kind: str, since: float = 0.0) -> list[tuple[float, dict]]:
        return [(at, e) for at, e in list(self.events) if e["type"] == kind and at >= since]

    def close(self) -> None:
        self._stack.close()
        self._reader.join(10)



class ServerProcess:
    """A ``moodscore`` command in a process of its own, its output in ``log_path``: started,
    waited for until its log says ``ready``, and ended with SIGINT as Ctrl-C would."""

    def __init__(self, cmd: Sequence[str], log_path: Path, ready: str, name: str) -> None:
        self.log_path, self.name = log_path, name
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(list(cmd), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(lambda: self._alive() and ready in self.log(), START_S,
                       f"{ready!r} from {name}", self.log)
        except BaseException:
            self.close()
            raise

    def _alive(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
        return True

    def __enter__(self):  # noqa: ANN204 (returns the subclass)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def summary(self) -> dict:
        """The statistics the command logs as it stops (after :meth:`close`)."""
        line = next(line for line in self.log().splitlines() if ": stopped: {" in line)
        return ast.literal_eval(line.split("stopped: ", 1)[1])  # type: ignore[no-any-return]

    def close(self) -> int | None:
        """SIGINT, as Ctrl-C would; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


class Engine(ServerProcess):
    """``moodscore serve --record`` on free ports, with a subscribed :class:`WsClient`.

    ``events`` are what the engine sent back (beat, bar, phrase); ``recording()`` is the MIDI
    file it wrote, read after :meth:`close` (the recorder flushes on exit)."""

    def __init__(self, folder: Path, *extra: str, model: str = "lstm",
                 wrap: Callable[[list[str]], list[str]] | None = None) -> None:
        """``wrap``: the command line to run instead, given the engine's (it must exec it)."""
        folder.mkdir(parents=True, exist_ok=True)
        self.record = folder / "engine.mid"
        self.osc_port, self.ws_port = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
        self.ws: WsClient | None = None
        cmd = [sys.executable, "-m", "moodscore.cli", "serve", "--record", str(self.record),
               "--osc-port", str(self.osc_port), "--ws-port", str(self.ws_port), "--model", model, *extra]
        super().__init__(wrap(cmd) if wrap else cmd, folder / "engine.log", "playing;", "moodscore serve")
        try:
            self.ws = WsClient(self.ws_port)
        except BaseException:
            self.close()
            raise

    def of(self, kind: str, since: float = 0.0) -> list[tuple[float, dict]]:
        assert self.ws is not None
        return self.ws.of(kind, since)

    def moods(self, since: float = 0.0) -> list[tuple[float, float]]:
        """The (valence, arousal) of each phrase the engine made since ``since``."""
        return [tuple(e["mood"]) for _, e in self.of("phrase", since) if e.get("mood")]

    def close(self) -> int | None:
        code = super().close()
        if self.ws is not None:
            self.ws.close()
        return code


class JackReceiver:
    """A JACK MIDI input in a child process (``midi/jack_receiver.py``), connected to an output,
    ``JackReceiver(connect='client:port')``, or a virtual input of its own,
    ``JackReceiver(virtual=('client', 'port'))``; ``got`` holds (arrival, message) as they come."""

    def __init__(self, *, connect: str | None = None,
                 virtual: tuple[str, str] | None = None, start_s: float = 10.0) -> None:
        args = ["--connect", connect] if connect else ["--virtual", *virtual]  # type: ignore[misc]
        self.proc = subprocess.Popen([sys.executable, str(RECEIVER), *args], text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.got: list[tuple[float, mido.Message]] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(start_s):
            self.close()
            raise AssertionError(f"JACK receiver {args} did not come up")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip() == "ready":
                self._ready.set()
            elif line.strip():
                stamp, data = line.split()
                self.got.append((float(stamp), mido.Message.from_hex(data)))

    def since(self, t: float) -> list[tuple[float, mido.Message]]:
        return [(at, m) for at, m in list(self.got) if at >= t]

    def messages(self) -> list[mido.Message]:
        return [m for _, m in list(self.got)]

    def wait_for(self, count: int, timeout: float = 2.0, settle: float = 0.05) -> list[mido.Message]:
        """What arrived once ``count`` messages have (or time ran out), after ``settle`` more."""
        deadline = time.monotonic() + timeout
        while len(self.got) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(settle)  # so that extra messages would show
        return self.messages()

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(5)
