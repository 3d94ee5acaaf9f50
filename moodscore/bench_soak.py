"""``moodscore bench soak``: the engine plays for N minutes while a fuzzer hammers its inputs.

A real ``moodscore serve`` process (recording to a temporary MIDI file, no synth needed) gets
about ``rate`` messages a second, over OSC (UDP) and WebSocket together: valid moods,
stingers, tempos and transitions mixed with hostile input (random bytes, mutated datagrams and
bundles, the endless-loop bundle python-osc cannot parse, NaN and huge values, 60 kB strings,
far-future timetags, not-JSON, wrong types). At the end the engine is stopped with SIGINT and
the figures come from its own summary and its recording:

- messages sent, applied by the engine, and refused (by kind);
- deadline misses (phrases that came too late and were replaced by a variation);
- scheduler lateness p99 and max;
- stuck notes: note-ons in the recording without a note-off;
- the engine's RSS after 1 minute and at the end, and the growth between them.

Targets over 10 minutes: 0 misses, 0 stuck notes, RSS growth under 10%.

Public API: :func:`run`, :class:`Fuzzer`.
"""
from __future__ import annotations

import ast
import asyncio
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import mido

_OSC_SHARE = 0.7  # of the messages; the rest go over WebSocket


def _osc(address: str, tags: str = "", *args: bytes) -> bytes:
    def pad(b: bytes) -> bytes:
        return b + b"\x00" * (4 - len(b) % 4)
    return pad(address.encode()) + pad(("," + tags).encode()) + b"".join(args)


def _f(x: float) -> bytes:
    return struct.pack(">f", x)


def _s(text: str) -> bytes:
    b = text.encode()
    return b + b"\x00" * (4 - len(b) % 4)


def _bundle(*contents: bytes, timetag: bytes = b"\x00" * 7 + b"\x01") -> bytes:
    return b"#bundle\x00" + timetag + b"".join(struct.pack(">i", len(c)) + c for c in contents)


class Fuzzer:
    """Random valid and hostile input, reproducible from ``seed``; about one message in three is
    valid (the rest must be refused without harm)."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    def _mood(self) -> float:
        return round(self.rng.uniform(-1, 1), 3)

    def valid_osc(self) -> bytes:
        r = self.rng.random()
        if r < 0.6:
            return _osc("/mood/va", "ff", _f(self._mood()), _f(self._mood()))
        if r < 0.7:
            return _osc("/mood/tempo", "f", _f(self.rng.choice([0.0, 90.0, 140.0])))
        if r < 0.8:
            return _osc("/mood/transition", "s", _s(self.rng.choice(["bar", "phrase", "beat"])))
        if r < 0.9:
            return _osc("/mood/stinger", "s", _s(self.rng.choice(["victory", "rise", "hit"])))
        return _bundle(_osc("/mood/valence", "f", _f(self._mood())),
                       _osc("/mood/arousal", "f", _f(self._mood())))

    def hostile_osc(self) -> bytes:
        rng = self.rng
        kind = rng.randrange(9)
        if kind == 0:
            return rng.randbytes(rng.randrange(1, 200))
        if kind == 1:  # python-osc 1.10.2 loops for ever on this one
            return _bundle() + struct.pack(">i", -4)
        if kind == 2:
            return _osc("/mood/va", "ff", _f(float("nan")), _f(float("inf")))
        if kind == 3:
            return _osc("/mood/stinger", "s", _s("x" * 60_000))
        if kind == 4:  # years ahead (NTP seconds 4.2e9: 2033)
            return _bundle(_osc("/mood/play"), timetag=struct.pack(">II", 4_200_000_000, 0))
        if kind == 5:
            data = bytearray(self.valid_osc())
            for _ in range(rng.randrange(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            return bytes(data)
        if kind == 6:
            inner = _osc("/mood/play")
            for _ in range(rng.randrange(2, 12)):
                inner = _bundle(inner)
            return inner
        if kind == 7:
            return _osc("/mood/va", "fff" + "T" * rng.randrange(0, 40), _f(0.1), _f(0.1), _f(1e30))
        return _osc("/nowhere/" + "a" * rng.randrange(200), "i", struct.pack(">i", 7))

    def valid_json(self) -> str:
        r = self.rng.random()
        if r < 0.7:
            return json.dumps({"type": "va", "valence": self._mood(), "arousal": self._mood(),
                               "glide": round(self.rng.uniform(0, 3), 2)})
        if r < 0.85:
            return json.dumps({"type": "valence", "value": self._mood()})
        return json.dumps({"type": "tempo", "bpm": self.rng.choice([0, 100, 160])})

    def hostile_json(self) -> str | bytes:
        rng = self.rng
        kind = rng.randrange(7)
        if kind == 0:
            return rng.randbytes(rng.randrange(1, 300))
        if kind == 1:
            return '{"type":"va","valence":NaN,"arousal":1e999}'
        if kind == 2:
            return "[" * rng.randrange(100, 5000)
        if kind == 3:
            return json.dumps({"type": "stinger", "name": "x" * 15_000})
        if kind == 4:
            return json.dumps({"type": rng.choice(["va", "nope", 7, None]), "valence": "loud", "extra": [1, 2]})
        if kind == 5:
            return "x" * 20_000
        return json.dumps({"type": "transition", "mode": rng.choice(["sideways", 3, None])})

    def osc(self) -> bytes:
        return self.valid_osc() if self.rng.random() < 0.35 else self.hostile_osc()

    def json(self) -> str | bytes:
        return self.valid_json() if self.rng.random() < 0.35 else self.hostile_json()


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _stuck(path: Path) -> int:
    sounding: Counter[tuple[int, int]] = Counter()
    for msg in mido.MidiFile(path):
        if msg.type == "note_on" and msg.velocity:
            sounding[(msg.channel, msg.note)] += 1
        elif msg.type in ("note_on", "note_off") and sounding[(msg.channel, msg.note)]:
            sounding[(msg.channel, msg.note)] -= 1
    return sum(sounding.values())


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _send(osc_port: int, ws_port: int, seconds: float, rate: float, fuzzer: Fuzzer,
                sent: Counter[str], marks: dict[str, float], pid: int) -> None:
    from websockets.asyncio.client import connect

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    start = time.perf_counter()
    async with connect(f"ws://127.0.0.1:{ws_port}", max_size=None) as ws:
        async def drain() -> None:
            async for _ in ws:  # acks and errors, one per message
                sent["ws replies"] += 1
        reader = asyncio.create_task(drain())
        step = 0.01
        while (now := time.perf_counter() - start) < seconds:
            if "rss_1min" not in marks and now >= min(60.0, seconds * 0.5):
                marks["rss_1min"], marks["at"] = _rss_mb(pid), now
            due = int(now * rate) - sent["osc"] - sent["ws"]
            for _ in range(max(0, due)):
                if fuzzer.rng.random() < _OSC_SHARE:
                    udp.sendto(fuzzer.osc(), ("127.0.0.1", osc_port))
                    sent["osc"] += 1
                else:
                    await ws.send(fuzzer.json())
                    sent["ws"] += 1
            await asyncio.sleep(step)
        await asyncio.sleep(0.5)
        reader.cancel()
    udp.close()


def run(minutes: float = 10.0, *, rate: float = 1000.0, model: str = "abc", seed: int = 0) -> dict:
    """Soak a real engine for ``minutes`` at ``rate`` messages a second; print and return figures."""
    seconds = minutes * 60
    with tempfile.TemporaryDirectory(prefix="moodscore-soak-") as tmp:
        record = Path(tmp) / "soak.mid"
        log_path = Path(tmp) / "serve.log"
        osc_port, ws_port = _free_port(socket.SOCK_DGRAM), _free_port(socket.SOCK_STREAM)
        cmd = [sys.executable, "-m", "moodscore.cli", "serve", "--record", str(record), "--osc-port",
               str(osc_port), "--ws-port", str(ws_port), "--model", model, "--seed", str(seed)]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while "playing;" not in log_path.read_text(errors="replace"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moodscore serve did not start:\n{log_path.read_text()[-2000:]}")
                time.sleep(0.1)
            print(f"soak: {minutes:g} min at about {rate:g} messages/s "
                  f"({_OSC_SHARE:.0%} OSC, the rest WebSocket; about a third valid), model {model}",
                  flush=True)
            sent: Counter[str] = Counter()
            marks: dict[str, float] = {}
            asyncio.run(_send(osc_port, ws_port, seconds, rate, Fuzzer(seed), sent, marks, proc.pid))
            rss_end = _rss_mb(proc.pid)
            alive = proc.poll() is None
            proc.send_signal(signal.SIGINT)
            code = proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        text = log_path.read_text(errors="replace")
        found = re.search(r"stopped: (\{.*\})", text)
        if not found:
            raise RuntimeError(f"no summary from moodscore serve (exit {code}):\n{text[-2000:]}")
        summary = ast.literal_eval(found.group(1))
        stuck = _stuck(record)
    rejected = summary["rejected"]
    late = summary["lateness_ms"]
    rss_1 = marks.get("rss_1min", float("nan"))
    growth = (rss_end - rss_1) / rss_1 * 100
    figures = {"seconds": seconds, "sent_osc": sent["osc"], "sent_ws": sent["ws"], "ws_replies": sent["ws replies"],
               "applied": summary["applied"], "refused": sum(rejected.values()), "refused_by_kind": rejected,
               "misses": summary["misses"], "phrases": summary["phrases"], "lateness_p99_ms": late["p99_ms"],
               "lateness_max_ms": late["max_ms"], "stuck_notes": stuck, "rss_1min_mb": rss_1,
               "rss_end_mb": rss_end, "rss_growth_pct": growth, "loop_stalls": summary.get("loop_stalls", 0),
               "alive_to_the_end": alive, "exit_code": code}
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(rejected.items()))
    print(f"messages sent      {sent['osc'] + sent['ws']:>9}  (OSC {sent['osc']}, WebSocket {sent['ws']}, "
          f"{(sent['osc'] + sent['ws']) / seconds:.0f}/s); WebSocket replies {sent['ws replies']}")
    print(f"applied            {summary['applied']:>9}")
    print(f"refused            {sum(rejected.values()):>9}  ({kinds})")
    print(f"phrases            {summary['phrases']:>9}")
    print(f"deadline misses    {summary['misses']:>9}")
    print(f"lateness p99/max   {late['p99_ms']:>7.2f} / {late['max_ms']:.2f} ms over {late['count']} MIDI messages")
    print(f"stuck notes        {stuck:>9}")
    print(f"loop stalls        {summary.get('loop_stalls', 0):>9}  (longest {summary.get('longest_stall_s', 0)} s)")
    print(f"RSS                {rss_1:>7.1f} MB at {marks.get('at', 0):.0f} s, {rss_end:.1f} MB at the end "
          f"({growth:+.1f}%)")
    print(f"engine alive to the end: {'yes' if alive else 'NO'}; exit status {code}")
    return figures


if __name__ == "__main__":  # pragma: no cover
    run(float(os.environ.get("SOAK_MINUTES", "1")))
