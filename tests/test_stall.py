"""The music does not depend on the input path, on a real JACK server.

``moodscore serve`` (with the fault of ``stall_serve.py``) plays into a JACK MIDI receiver; one
UDP datagram then locks its event loop for good, as python-osc's endless bundle loop did. Notes
keep coming while the loop is stuck (new bars, not just the lookahead), the watchdog logs the
stall, and SIGTERM still ends the process within 2 s with every note ended and the full panic
(CC 123, 120, 121 and 64 on 16 channels), and the recording flushed.
"""
from __future__ import annotations

import secrets
import signal
import socket
import sys
import time
from pathlib import Path

import mido
from support import START_S, JackReceiver, ServerProcess, free_port, wait_until
from test_serve import jack_ports, panic_missing, stuck_notes

HARNESS = Path(__file__).with_name("stall_serve.py")


def test_a_stuck_event_loop_neither_stops_the_music_nor_the_exit(jack_server, tmp_path: Path) -> None:
    virtual = f"moodscore-stall-{secrets.token_hex(3)}"
    osc_port, ws_port = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
    record = tmp_path / "rec.mid"
    cmd = [sys.executable, str(HARNESS), "serve", "--midi-api", "jack", "--virtual-port", virtual,
           "--record", str(record), "--osc-port", str(osc_port), "--ws-port", str(ws_port),
           "--model", "lstm"]
    with ServerProcess(cmd, tmp_path / "serve.log", "playing;", "moodscore serve") as served:
        port = wait_until(lambda: [p for p in jack_ports("midi") if p.endswith(f":{virtual}")], 10,
                          "the virtual JACK port", lambda: str(jack_ports()))[0]
        receiver = JackReceiver(connect=port, start_s=START_S)
        try:
            wait_until(lambda: [m for _, m in receiver.got if m.type == "note_on" and m.velocity], 20,
                       "a note played")
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(b"/stall\x00\x00", ("127.0.0.1", osc_port))
            stalled = time.perf_counter()
            wait_until(lambda: "event loop stalled: no input handled" in served.log(), 5, "the watchdog's warning")
            time.sleep(4.0)
            during = [m for at, m in receiver.since(stalled + 1.0)
                      if m.type == "note_on" and m.velocity and at < stalled + 4.0]
            assert len(during) >= 4, f"{len(during)} notes in 3 s of a stuck loop:\n{served.log()[-2000:]}"
            assert served.proc.poll() is None
            t_term = time.perf_counter()
            served.proc.send_signal(signal.SIGTERM)
            code = served.proc.wait(5)
            exit_s = time.perf_counter() - t_term
            time.sleep(0.2)  # the receiver drains what JACK delivered in the last cycles
            got = [m for _, m in receiver.got]
            after = [m for _, m in receiver.since(t_term)]
        finally:
            receiver.close()
    print(f"\n{len(during)} notes in 3 s of a stuck loop; exit {exit_s * 1000:.0f} ms after SIGTERM (status {code})")
    assert exit_s < 2.0, served.log()[-2000:]
    assert code == 128 + signal.SIGTERM, served.log()[-2000:]
    assert "sending the panic from the signal thread" in served.log()
    assert stuck_notes(got) == {}
    assert panic_missing(after) == set(), sorted(panic_missing(after))
    assert mido.MidiFile(record).length > 3  # the recording was flushed on the way out
