"""A JACK MIDI receiver in a process of its own, for the JACK tests (and like a real synth).

It uses python-rtmidi without a Python callback: rtmidi queues incoming MIDI in C inside JACK's
process cycle, and a loop here drains the queue every half millisecond. A Python callback would
run in the JACK cycle and need the GIL there; a burst of 65 messages (a panic) then overruns a
5 ms cycle on a loaded machine, and JACK drops the MIDI of the cycle it missed. Usage::

    python jack_receiver.py --connect 'client:port'   # an input connected to that output
    python jack_receiver.py --virtual client port     # a virtual input others connect to

Prints ``ready`` once the port is up, then ``<time.perf_counter()> <hex bytes>`` per message
(CLOCK_MONOTONIC on Linux, the same clock as the test process's), until stdin closes.
"""
from __future__ import annotations

import argparse
import os
import select
import sys
import time

import rtmidi


def main() -> None:
    parser = argparse.ArgumentParser()
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--connect", metavar="OUTPUT")
    group.add_argument("--virtual", nargs=2, metavar=("CLIENT", "PORT"))
    args = parser.parse_args()
    client = args.virtual[0] if args.virtual else f"receiver-{os.getpid()}"
    midi_in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=client, queue_size_limit=4096)
    midi_in.ignore_types(sysex=False, timing=False, active_sense=True)
    if args.virtual:
        midi_in.open_virtual_port(args.virtual[1])
    else:
        midi_in.open_port(midi_in.get_ports().index(args.connect), "in")
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    while True:
        lines = []
        while (event := midi_in.get_message()) is not None:
            lines.append(f"{time.perf_counter():.6f} {bytes(event[0]).hex()}\n")
        if lines:
            out.write("".join(lines))
            out.flush()
        readable, _, _ = select.select([sys.stdin], [], [], 0.0005)
        if readable and not sys.stdin.readline():
            break  # the test closed our stdin
    midi_in.close_port()
    midi_in.delete()


if __name__ == "__main__":
    main()
