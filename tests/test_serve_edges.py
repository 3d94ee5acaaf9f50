"""``moodscore serve``'s edges from outside, with real clients: ``oscsend`` from a sender that
``--osc-allow`` does not list is dropped and counted; a listed one is applied; and
``moodscore panic`` sends the full panic to a JACK MIDI port for an engine that died hard."""
from __future__ import annotations

import subprocess
import sys
import time

import mido
from support import Engine, JackReceiver, wait_until
from test_serve import oscsend, panic_missing


def test_osc_from_outside_osc_allow_is_dropped_and_counted(tmp_path) -> None:
    with Engine(tmp_path / "lan", "--osc-allow", "192.168.77.0/24") as engine:
        oscsend(engine.osc_port, "/mood/va", "ff", 0.9, 0.9)
        wait_until(lambda: "rejected source input #1" in engine.log(), 10, "the drop logged")
        assert "not in --osc-allow 192.168.77.0/24" in engine.log()
        assert "applied" not in engine.log().split("rejected source")[0].split("playing;")[-1]
    with Engine(tmp_path / "local", "--osc-allow", "127.0.0.0/8") as engine:
        oscsend(engine.osc_port, "/mood/va", "ff", 0.9, 0.9)
        wait_until(lambda: 'applied {"type":"va","valence":0.89' in engine.log(), 10, "the mood applied")
        assert "rejected source" not in engine.log()


def test_a_bad_osc_allow_or_origin_is_one_line_and_status_2() -> None:
    for args, says in ((["--osc-allow", "10.0.0/33"], "--osc-allow must be an IP address or CIDR"),
                       (["--allow-origin", "localhost:3000"], "--allow-origin must be * or an origin")):
        done = subprocess.run([sys.executable, "-m", "moodscore.cli", "serve", "--record", "x.mid", *args],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and says in done.stderr and done.stderr.count("\n") == 1, done.stderr


def test_moodscore_panic_sends_the_full_panic_to_a_jack_port(jack_server) -> None:
    receiver = JackReceiver(virtual=("panic-target", "in"))
    try:
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "moodscore.cli", "panic", "--midi-api", "jack",
                               "--midi-port", "panic-target"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "sent the panic (64 messages" in done.stdout
        wait_until(lambda: not panic_missing([m for _, m in receiver.since(t0)]), 5, "the full panic",
                   lambda: str(sorted(panic_missing([m for _, m in receiver.since(t0)]))))
        assert all(isinstance(m, mido.Message) for _, m in receiver.got)
    finally:
        receiver.close()
    missing = subprocess.run([sys.executable, "-m", "moodscore.cli", "panic", "--midi-api", "jack",
                              "--midi-port", "no-such-synth"], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "no MIDI output matching 'no-such-synth'" in missing.stderr, missing.stderr
