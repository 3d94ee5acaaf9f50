"""``moodscore serve`` with a fault injected: the OSC datagram ``/stall`` makes the event loop
spin for ever in Python code, as python-osc 1.10.2's bundle parser does on a bundle element of
size -4. Used by ``test_stall.py``; run as ``python tests/stall_serve.py serve ...``."""
from __future__ import annotations

import sys

import moodscore.transport.osc as osc

_read = osc.read_datagram


def _read_or_stall(data: bytes):  # noqa: ANN202
    if data.startswith(b"/stall\x00"):
        while True:  # holds the loop, lets other threads run between bytecodes, like the real bug
            pass
    return _read(data)


osc.read_datagram = _read_or_stall  # type: ignore[assignment]

if __name__ == "__main__":
    from moodscore.cli import main

    sys.exit(main(sys.argv[1:]))
