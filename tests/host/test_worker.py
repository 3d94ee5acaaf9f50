"""The one generation worker: earliest deadline first, late starts that gather jobs, drops."""
from __future__ import annotations

import threading
import time

import pytest

from moodscore.host.core import SessionTag
from moodscore.host.worker import GenerationWorker
from moodscore.models.batched import BatchedLstm, Job, load_batched
from moodscore.music import Meter


def _job(i: int, deadline: float) -> Job:
    return Job(None, 0.5, 0.5, "maj", Meter(4, 4), 2, i, deadline, SessionTag(f"s{i}", i, "lstm"))


def test_jobs_start_by_deadline_gather_those_due_soon_and_skip_the_unwanted():
    done: list[tuple[float, Job]] = []
    lock = threading.Lock()

    def deliver(jobs: list[Job]) -> None:
        with lock:
            done.extend((time.perf_counter(), j) for j in jobs)

    unwanted = {3}
    worker = GenerationWorker({"lstm": load_batched("lstm", max_batch=16)}, deliver, lazy=0.5, gather=1.0,
                              still_wanted=lambda job: job.seed not in unwanted).start()
    try:
        t0 = time.perf_counter()
        jobs = [_job(0, t0 + 2.0), _job(1, t0 + 0.3), _job(2, t0 + 2.8), _job(3, t0 + 0.4), _job(4, t0 + 6.0)]
        for job in jobs:
            worker.submit(job)
        deadline = time.monotonic() + 20
        while len(done) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        at = {j.seed: t - t0 for t, j in done}
        assert set(at) == {0, 1, 2, 4} and worker.dropped == 1  # 3 was no longer wanted: no work
        assert at[1] < 0.3  # due soonest, started at once, in time
        assert 1.5 - 0.1 <= at[0] < 2.0  # not started before lazy s from its deadline
        assert at[2] < 2.2  # due within `gather` s of job 0: started with it
        assert at[4] >= 5.4  # alone, much later
        assert all(j.phrase is not None and j.phrase.bars == 2 for _, j in done)
    finally:
        worker.close()


@pytest.mark.parametrize("graph", ["auto", "resident"])  # the CPU's graph and CUDA's, run here
def test_a_row_no_longer_wanted_stops_in_flight(graph):
    # a mood change (or a closed session) makes a job moot while it decodes: it stops there
    done: list[Job] = []
    worker = GenerationWorker({"abc": load_batched("abc", max_batch=8, graph=graph)}, done.extend, lazy=5.0,
                              still_wanted=lambda job: not (job.seed == 1 and job.steps >= 3)).start()
    try:
        t0 = time.perf_counter()
        jobs = [Job(None, 0.5, 0.5, "maj", Meter(4, 4), 4, i, t0 + 1.0, SessionTag(f"s{i}", i, "abc"))
                for i in range(3)]
        for job in jobs:
            worker.submit(job)
        deadline = time.monotonic() + 30
        while len(done) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        assert sorted(j.seed for j in done) == [0, 2] and worker.dropped == 1
        assert jobs[1].phrase is None and jobs[1].steps == 3 < jobs[0].steps  # stopped after 3 calls
        assert worker.in_flight() == 0
    finally:
        worker.close()


class _Watched:
    """A batched model with some of its methods replaced by the test's (a compiled class's own
    cannot be: ``MOODSCORE_COMPILE=1``); everything else, attributes set included, is the model's."""

    def __init__(self, model, **methods) -> None:
        object.__setattr__(self, "_model", model)
        for name, method in methods.items():
            object.__setattr__(self, name, method)

    def __getattr__(self, name: str):
        return getattr(self._model, name)

    def __setattr__(self, name: str, value) -> None:
        setattr(self._model, name, value)

    def __len__(self) -> int:
        return len(self._model)


def test_when_half_a_batch_waits_it_all_starts_together():
    # jobs far from due, arriving one by one (as sessions ask a phrase ahead): once half a batch
    # (4 of max_batch 8) waits, all four start in one batch, not the earliest alone at each arrival
    admitted: list[int] = []
    model = load_batched("lstm", max_batch=8)

    def record(job: Job, force: bool = False) -> bool:
        admitted.append(len(worker._heap))  # noqa: SLF001 - jobs still waiting when one starts
        return model.admit(job, force)

    worker = GenerationWorker({"lstm": _Watched(model, admit=record)}, lambda jobs: None, lazy=0.5).start()
    try:
        t0 = time.perf_counter()
        for i in range(6):
            worker.submit(_job(i, t0 + 60 + i))
            time.sleep(0.2)
        deadline = time.monotonic() + 10
        while worker.done < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        first = admitted[0] + 1  # 4, unless the worker woke late and more had come
        assert first >= 4 and admitted[:first] == list(range(first - 1, -1, -1))  # they left together
        assert worker.done >= first and worker.queued == 6 - first  # the rest wait for their time
    finally:
        worker.close()


def _admitted(*dues: float) -> tuple[GenerationWorker, BatchedLstm]:
    """A worker (not started) whose LSTM batch holds a 2-bar job (about 24 calls) per deadline."""
    worker = GenerationWorker({"lstm": load_batched("lstm", max_batch=8)}, lambda jobs: None)
    model = worker.models["lstm"]
    for i, due in enumerate(dues):
        model.admit(_job(i, due))
    return worker, model  # type: ignore[return-value]


def test_urgent_rows_step_with_the_batch_only_while_its_pace_finishes_them_in_time():
    now = 100.0
    worker, model = _admitted(now + 1.0, now + 30.0, now + 40.0)
    assert model.promote(now + worker.urgent) == 1
    assert not worker._in_time_with_all(model, now)  # noqa: SLF001 - no full step timed yet: alone
    worker._pace["lstm"] = 0.01  # noqa: SLF001 - 24 calls x 10 ms = 0.24 s, well within 0.8 x 1 s
    assert worker._in_time_with_all(model, now)  # noqa: SLF001
    worker._pace["lstm"] = 0.05  # noqa: SLF001 - 24 x 50 ms = 1.2 s: too slow, it steps alone
    assert not worker._in_time_with_all(model, now)  # noqa: SLF001


def test_steps_are_paced_while_nothing_is_near_due_and_jobs_that_arrive_meanwhile_share_them():
    # four jobs arriving 30 ms apart, each about 24 calls: paced 50 ms apart, they decode in the
    # same calls; unpaced, each would finish alone before the next came
    worker = GenerationWorker({"lstm": load_batched("lstm", max_batch=8)}, lambda jobs: None, lazy=10.0,
                              step_gap=0.05).start()
    model = worker.models["lstm"]
    try:
        t0 = time.perf_counter()
        jobs = [_job(i, t0 + 8.0) for i in range(4)]
        for job in jobs:
            worker.submit(job)
            time.sleep(0.03)
        deadline = time.monotonic() + 20
        while worker.done < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        took = time.perf_counter() - t0
        assert worker.done == 4 and all(j.phrase is not None for j in jobs)
        steps = sum(j.steps for j in jobs)
        assert model.calls < 0.6 * steps  # shared: about a quarter as many calls as rows stepped
        assert took >= 0.5 * jobs[0].steps * worker.step_gap  # paced
    finally:
        worker.close()


def test_a_job_near_its_deadline_is_not_paced():
    worker = GenerationWorker({"lstm": load_batched("lstm", max_batch=8)}, lambda jobs: None, step_gap=0.05).start()
    try:
        t0 = time.perf_counter()
        job = _job(0, t0 + 1.0)  # within `urgent` (1.5 s) of due
        worker.submit(job)
        deadline = time.monotonic() + 20
        while worker.done < 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        took = time.perf_counter() - t0
        assert job.phrase is not None and job.steps >= 10
        assert took < 0.5 * job.steps * worker.step_gap  # as fast as it steps, in time
    finally:
        worker.close()


def test_urgent_rows_go_with_the_rest_when_half_the_batch_or_more_is_urgent():
    now = 100.0
    worker, model = _admitted(now + 1.0, now + 30.0, now + 40.0, now + 50.0)
    worker._pace["lstm"] = 0.5  # noqa: SLF001 - a slow pace: the batch is not in time for them
    assert model.promote(now + worker.urgent) == 1
    assert not worker._urgent_go_with_all(model, now)  # noqa: SLF001 - one of four: it steps alone
    model.urgent = 0
    assert model.promote(now + 35.0) == 2  # two of four near due (a backlog): all four step
    assert worker._urgent_go_with_all(model, now)  # noqa: SLF001


def test_urgent_jobs_beyond_a_full_abc_batch_wait_for_a_row_and_the_lstms_join():
    # the ABC's slot buffers would grow (a copy of the whole cache) for rows beyond max_batch
    abc, lstm = load_batched("abc", max_batch=4), load_batched("lstm", max_batch=4)
    assert (abc.most_rows, lstm.most_rows) == (4, 8)
    for name, model in (("abc", abc), ("lstm", lstm)):
        seen: list[int] = []

        def counted(model=model, seen=seen):
            seen.append(len(model))
            return model.step()

        worker = GenerationWorker({name: _Watched(model, step=counted)}, lambda jobs: None).start()
        try:
            t0 = time.perf_counter()
            for i in range(8):  # all due within `urgent`: none waits for its time
                worker.submit(Job(None, 0.5, 0.5, "maj", Meter(4, 4), 2, i, t0 + 1.0, SessionTag(f"s{i}", i, name)))
            deadline = time.monotonic() + 30
            while worker.done < 8 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert worker.done == 8
            assert max(seen) == model.most_rows  # the ABC never past its batch; the LSTM up to twice
        finally:
            worker.close()


def test_busy_is_the_share_of_time_the_worker_works_rather_than_waits():
    worker = GenerationWorker({"lstm": load_batched("lstm", max_batch=8)}, lambda jobs: None, lazy=0.5,
                              window=1.0).start()
    try:
        assert worker.busy() is None  # under half a window seen
        time.sleep(0.8)
        assert worker.busy() < 0.1  # nothing to do: it waited all along
        t0 = time.perf_counter()
        for i in range(4000):  # phrases due at once, more than it can make in the window
            worker.submit(_job(i, t0))
        time.sleep(1.0)
        assert worker.busy() > 0.8 and worker.done < 4000
    finally:
        worker.close()
