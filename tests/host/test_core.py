"""The host's socket-free core on a virtual clock: the conductor's own notes, cuts, no leftovers."""
from __future__ import annotations

import json

import numpy as np
import pytest

from moodscore.engine.conductor import Conductor
from moodscore.engine.offline import run as run_offline
from moodscore.engine.protocol import SessionMessage, StopMessage, SubscribeMessage, VAMessage
from moodscore.errors import ConfigError
from moodscore.host.core import HostCore, HostFull, HostLimits
from moodscore.host.load import CpuShare
from moodscore.models.batched import load_batched
from moodscore.models.runtime import load_generator

START = 0.5


class Clock:
    def __init__(self) -> None:
        self.now = -START  # the session opens START before its music's time 0

    def __call__(self) -> float:
        return self.now


def _host(model: str = "abc"):
    clock = Clock()
    batched = load_batched(model)
    core: HostCore

    def submit(job) -> None:  # generation takes no virtual time, as offline
        core.delivered(batched.run([job]))

    # advancing as often as the offline render steps: when a mood change lands in the schedule
    # depends on how far ahead the conductor has scheduled
    core = HostCore(submit, limits=HostLimits(start_delay=START), clock=clock, default_model=model,
                    advance_every=0.01, advance_budget=None)  # every advance on its virtual time
    return core, clock


def _notes(texts: list[str]) -> list[tuple[float, int, int, int]]:
    out = []
    for text in texts:
        event = json.loads(text)
        if event["type"] == "midi":
            out += [(event["time"], *m) for m in event["data"] if m[0] & 0xF0 == 0x90]
    return out


def test_a_host_session_plays_the_notes_the_conductor_plays_offline():
    core, clock = _host("lstm")
    sent: list[str] = []
    session = core.open(SessionMessage(seed=5, model="lstm"), sent.append)
    core.handle(session, SubscribeMessage(events=("bar", "phrase")))
    while clock.now < 20:
        if abs(clock.now - 6.0) < 1e-9:
            core.handle(session, VAMessage(valence=-0.8, arousal=0.7, glide=0.5))
        core.tick()
        clock.now = round(clock.now + 0.01, 6)
    conductor = Conductor(seed=5)
    timeline = run_offline(conductor, load_generator("lstm", precision="fp32"), 20,
                           script=[(6.0, lambda c, t: c.set_mood(t, -0.8, 0.7, 0.5))])
    offline = sorted((round(e.time, 6), 0x90 | e.channel, e.data1, e.data2) for e in timeline.events
                     if e.kind == "note_on" and e.time <= 19.9)
    live = sorted((t, s, p, v) for t, s, p, v in _notes(sent) if t <= 19.9)
    assert len(live) > 50 and live == offline
    phrases = [json.loads(t) for t in sent if '"type":"phrase"' in t]
    assert phrases and phrases[-1]["mood"] == [-0.8, 0.7]
    assert session.conductor.misses == 0 and session.late == 0


def test_stop_ends_every_sounding_note_and_a_closed_session_leaves_nothing():
    core, clock = _host()
    sent: list[str] = []
    session = core.open(SessionMessage(seed=2), sent.append)
    core.handle(session, VAMessage(valence=0.8, arousal=0.8))
    while clock.now < 4:
        core.tick()
        clock.now = round(clock.now + 0.01, 6)
    assert _notes(sent)
    core.handle(session, StopMessage())
    for _ in range(50):
        core.tick()
        clock.now = round(clock.now + 0.01, 6)
    sounding: dict[tuple[int, int], int] = {}
    panic = False
    for text in sent:
        event = json.loads(text)
        if event["type"] != "midi":
            continue
        for status, *data in event["data"]:
            kind, key = status & 0xF0, (status & 0x0F, data[0])
            if kind == 0x90 and data[1] > 0:
                sounding[key] = sounding.get(key, 0) + 1
            elif kind == 0x80 or (kind == 0x90 and data[1] == 0):
                sounding[key] = sounding.get(key, 0) - 1
            elif kind == 0xB0 and data[0] == 123:
                panic = True
    assert panic and all(n <= 0 for n in sounding.values())
    assert not session.pending and not session.sounding
    core.close(session.id)
    assert not core.sessions
    core.tick()
    assert not core._wakes or all(w[2] != session.id for w in core._wakes)


def test_sessions_differ_by_seed_and_by_mood():
    core, clock = _host()
    out: dict[int, list[str]] = {1: [], 2: []}
    sessions = {seed: core.open(SessionMessage(seed=seed), out[seed].append) for seed in out}
    while clock.now < 6:
        core.tick()
        clock.now = round(clock.now + 0.01, 6)
    pitches = {seed: [n[2] for n in _notes(texts)] for seed, texts in out.items()}
    assert pitches[1] and pitches[2] and pitches[1] != pitches[2]
    assert np.isfinite([s.conductor.misses for s in sessions.values()]).all()


def test_a_session_names_a_built_in_style_or_is_refused_with_the_list() -> None:
    import pytest

    from moodscore.errors import ConfigError
    from moodscore.host.core import session_style

    assert session_style(None) is None
    assert session_style("orchestral").name == "orchestral"
    with pytest.raises(ConfigError, match="style must be one of default, .*orchestral.*, got 'jazz'"):
        session_style("jazz")


def test_the_wait_histogram_keeps_every_wait_in_its_percentiles():
    from moodscore.host.core import LagHistogram

    waits = np.random.default_rng(0).exponential(0.004, 50_000)
    waits[:100] = 0.5  # the first outputs' long waits: the old deque of the last 20,000 dropped them
    h = LagHistogram()
    for w in waits:
        h.add(float(w))
    assert len(h) == 50_000 and h.max == 0.5
    for q in (50, 99, 99.9):
        assert abs(h.percentile(q) - np.percentile(waits, q)) <= LagHistogram.BIN
    assert h.percentile(99.9) > 0.02  # the early half-second waits count
    assert LagHistogram().percentile(99) == 0.0
    h.add(5.0)  # beyond the last bin: the largest wait
    assert h.percentile(100) == 5.0


def test_new_sessions_are_refused_while_the_worker_has_no_time_to_spare_but_resumed_ones_are_not():
    busy, clock = [None], Clock()
    core = HostCore(lambda job: None, limits=HostLimits(max_load=0.9), busy=lambda: busy[0], clock=clock)
    for _ in range(3):  # no history yet: admitted
        core.open(SessionMessage(), lambda text: None)
    busy[0] = 0.4  # under half the limit: room, whatever a session costs
    core.open(SessionMessage(), lambda text: None)
    busy[0] = 0.6  # four sessions all along made it 60% busy: five would make it 75%
    for _ in range(30):
        clock.now += 0.25
        core.tick()
    core.open(SessionMessage(), lambda text: None)
    assert core.sessions_lately() == 4  # the fifth has not shown its cost yet
    busy[0] = 0.7  # and six, at what four cost, 105%
    with pytest.raises(HostFull, match=r"generation worker was busy 70% .* with 4 sessions or more \(for 15 s\), so 6 would "
                                       r"make it 105% .* above 90%, --max-load"):
        core.open(SessionMessage(), lambda text: None)
    assert len(core.sessions) == 5 and core.refused == 1
    core.open(SessionMessage(id="moved"), lambda text: None, resumed=True)  # its listener already plays
    assert "moved" in core.sessions
    assert core.load() == ("generation worker", 0.7)
    busy[0] = 0.95  # over the limit: refused, however many sessions made it so
    for _ in range(30):
        clock.now += 0.25
        core.tick()
    with pytest.raises(HostFull, match="busy 95%"):
        core.open(SessionMessage(), lambda text: None)
    never = HostCore(lambda job: None, limits=HostLimits(max_load=1.0), busy=lambda: 1.0)
    never.open(SessionMessage(), lambda text: None)
    with pytest.raises(ConfigError, match="max_load"):
        HostLimits(max_load=0.0)


def test_the_tick_measures_its_own_share_of_the_clock():
    clock = Clock()
    core = HostCore(lambda job: None, clock=clock)
    core.ticking.begin()
    clock.now += 4.0  # a tick that took four seconds of five
    core.ticking.end()
    clock.now += 1.0
    assert core.load() == ("tick", 0.8)


def test_the_processs_cpu_share_counts_in_the_load_too():
    clock, used = Clock(), [0.0]
    cpu = CpuShare(window=2.0, cores=1, clock=clock, cpu=lambda: used[0])
    core = HostCore(lambda job: None, limits=HostLimits(max_load=0.8), clock=clock, cpu=cpu)
    for _ in range(8):  # the tick marks it; 0.45 s of CPU each half second
        clock.now += 0.5
        used[0] += 0.45
        core.tick()
    what, share = core.load()
    assert what == "CPU" and abs(share - 0.9) < 1e-9
    with pytest.raises(HostFull, match="its CPU was busy 90%"):
        core.open(SessionMessage(), lambda text: None)
