"""Live intensity over JACK: ``moodscore serve`` on a virtual JACK port (dummy driver), a JACK
MIDI receiver in its own process, intensity sent with liblo's ``oscsend``; the parts that join
arrive at the next bar line, each on its own channel. Run with ``pytest -s`` for the figures."""
from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import mido
import pytest

from support import START_S, JackReceiver, ServerProcess, WsClient, free_port, wait_until

if TYPE_CHECKING:
    from conftest import JackServer

LOOKAHEAD_S = 0.2


def _midi_ports() -> list[str]:
    out = subprocess.run(["jack_lsp", "-t"], check=False, capture_output=True, text=True, timeout=10).stdout
    ports, current = [], None
    for line in out.splitlines():
        if not line.startswith("\t"):
            current = line.strip()
        elif current and "midi" in line:
            ports.append(current)
    return ports


def _oscsend(port: int, address: str, types: str, *args: object) -> float:
    started = time.perf_counter()
    done = subprocess.run(["oscsend", "localhost", str(port), address, types, *map(str, args)],
                          check=False, capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, done.stderr
    return started


def test_intensity_adds_parts_at_the_next_bar_line_over_jack(jack_server: JackServer, tmp_path: Path) -> None:
    if shutil.which("oscsend") is None:
        pytest.fail("oscsend is not on PATH: apt-get install -y liblo-tools", pytrace=False)
    virtual = f"moodscore-layers-{secrets.token_hex(3)}"
    osc_port, ws_port = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
    served = ServerProcess([sys.executable, "-m", "moodscore.cli", "serve", "--midi-api", "jack",
                            "--virtual-port", virtual, "--osc-port", str(osc_port), "--ws-port", str(ws_port),
                            "--style", "orchestral", "--record", str(tmp_path / "rec.mid")], tmp_path / "serve.log", "playing;", "moodscore serve")
    receiver = ws = None
    try:
        port = wait_until(lambda: [p for p in _midi_ports() if p.endswith(f":{virtual}")], 10,
                          "the virtual JACK port", lambda: str(_midi_ports()))[0]
        receiver = JackReceiver(connect=port, start_s=START_S)
        ws = WsClient(ws_port)
        low = _oscsend(osc_port, "/mood/intensity", "f", 0.0)
        wait_until(lambda: len(ws.of("bar", low)) >= 4, 20, "four bars", served.log)
        sent = _oscsend(osc_port, "/mood/intensity", "f", 1.0)
        wait_until(lambda: len(ws.of("bar", sent)) >= 4, 20, "four bars after the change", served.log)
        bars = [e["time"] for _, e in ws.of("bar")]
        bar_s = bars[1] - bars[0]
        first = next(t for t in bars if t > sent + LOOKAHEAD_S + 0.02)  # the first bar not scheduled yet

        def channels(lo: float, hi: float) -> set[int]:
            return {m.channel for at, m in receiver.since(lo) if at < hi and m.type == "note_on" and m.velocity}

        settled = [t for t in bars if low + LOOKAHEAD_S + 0.02 < t < sent - bar_s]
        assert settled, bars
        quiet = channels(settled[0], sent)
        full = channels(first, first + 2 * bar_s)
        print(f"\nbar {bar_s:.2f} s; sent {sent:.3f}, first full bar {first:.3f} "
              f"({first - sent:.2f} s later): channels {sorted(quiet)} -> {sorted(full)}")
        assert len(quiet) <= 3 and quiet <= {0, 1, 2}
        assert full == {0, 1, 2, 4, 5, 9} and len(full) >= 6
        joined = [at for at, m in receiver.since(sent) if m.type == "note_on" and m.velocity
                  and m.channel in (4, 5, 9)]
        assert min(joined) >= first - 0.03, (min(joined), first)  # at the bar line, not before
        # /mood/style switches the orchestration at the next bar line
        switched = _oscsend(osc_port, "/mood/style", "s", "chiptune")
        wait_until(lambda: [m for at, m in receiver.since(switched) if m.type == "program_change"
                            and m.channel == 9 and m.program == 25], 10, "the TR-808 kit", served.log)
        at = next(at for at, m in receiver.since(switched) if m.type == "program_change" and m.channel == 9)
        wait_until(lambda: [e for _, e in ws.of("bar", switched) if e["time"] >= at - 0.03], 10,
                   "the bar event of that bar", served.log)
        bars = [e["time"] for _, e in ws.of("bar", switched)]
        assert bars and min(abs(at - b) for b in bars) < 0.03, (at, bars)  # on a bar line
        assert served.close() == 0
    finally:
        served.close()
        for part in (ws, receiver):
            if part is not None:
                part.close()
    # the recording (flushed on exit) has every program change from the first bar on
    changes = [(m.channel, m.program) for m in mido.MidiFile(tmp_path / "rec.mid") if m.type == "program_change"]
    first = dict(changes[:7])
    assert set(first) == {0, 1, 2, 3, 4, 5, 9}  # every part's instrument, and the stingers'
    assert first[9] == 48 and first[2] == 43  # --style orchestral: the orchestra kit, contrabass
    assert (9, 25) in changes[7:]  # and the chiptune's TR-808 kit after /mood/style
