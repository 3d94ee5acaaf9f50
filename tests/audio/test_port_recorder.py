"""PortRecorder (the latency bench's JACK recorder) against a real dummy-driver JACK server: a
second JACK client plays a ramp that counts frames; the recording holds it sample for sample,
and each recorded frame's time follows the sample rate from when the recording began."""
from __future__ import annotations

import time

import jack
import numpy as np

from moodscore.audio.port_recorder import PortRecorder


def test_the_recording_holds_every_frame_at_its_cycles_time(jack_server) -> None:
    player = jack.Client("moodscore-test-ramp", no_start_server=True)
    out = player.outports.register("out")
    played = [0]

    @player.set_process_callback
    def _(frames: int) -> None:  # frame k of the stream is (k % 1000) / 1000: a ramp that counts
        k = played[0] + np.arange(frames)
        out.get_array()[:] = (k % 1000) / 1000.0
        played[0] += frames

    player.activate()
    xruns = jack_server.xruns()
    try:
        recorder = PortRecorder([f"{player.name}:out"], 3.0)
        began = time.perf_counter()
        recorder.start()
        assert recorder.done.wait(15), "the recording never filled"
        recorder.close()
    finally:
        player.deactivate()
        player.close()
    audio = recorder.audio[:, 0].astype(np.float64) / 32767
    # one continuous ramp: every step is +1/1000, or the wrap from 0.999 to 0
    steps = np.round(np.diff(audio) * 1000).astype(int)
    assert len(audio) == 3 * recorder.rate and set(np.unique(steps)) <= {1, -999}, np.unique(steps)
    # the first recorded frame left within a second of the start (connecting takes a moment),
    # and later frames at the sample rate from there, within 3 ms; a server that missed cycles
    # meanwhile (an xrun: a busy machine) is only ever later, never earlier
    first = recorder.time_of(0)
    assert began < first < began + 1.0, (began, first)
    drift = [recorder.time_of(i) - first - i / recorder.rate for i in range(0, len(audio), recorder.rate // 4)]
    if jack_server.xruns() == xruns:
        assert max(abs(d) for d in drift) < 0.003, drift
    else:
        assert min(drift) > -0.003 and all(b > a - 0.003 for a, b in zip(drift, drift[1:])), drift
    print(f"\nPortRecorder: {len(audio)} frames, first {1e3 * (first - began):.1f} ms after start(), "
          f"cycle times within {1e3 * max(abs(d) for d in drift):.2f} ms of the sample rate")
