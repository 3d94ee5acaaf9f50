"""Batched decoding across rows at different positions: the same notes as alone, per row."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from moodscore.engine.template import controls
from moodscore.errors import ConfigError
from moodscore.models import batched as batched_module
from moodscore.models.batched import GqaAbc, Job, ResidentAbc, abc_graph, load_batched
from moodscore.models.runtime import load_card, load_generator, weights_dir
from moodscore.music import Meter

METERS = [Meter(4, 4), Meter(3, 4), Meter(6, 8), Meter(4, 4), Meter(2, 4)]


def _jobs(name: str, n: int, seed: int) -> list[Job]:
    """Requests as sessions make them: moods all over the plane, 1-4 bars, with and without a
    previous phrase to continue (so prompts, and positions, differ row by row)."""
    single = load_generator(name, precision="fp32")
    rng = np.random.default_rng(seed)
    context = None
    jobs = []
    for i in range(n):
        v, a = (float(x) for x in rng.uniform(-1, 1, 2))
        mode = controls(v, a).mode
        meter = METERS[i % len(METERS)]
        jobs.append(Job(context if i % 3 else None, v, a, mode, meter, int(rng.integers(1, 5)),
                        int(rng.integers(0, 10**6))))
        context = single.next_phrase(context if context is not None and context.meter == meter else None,
                                     v, a, mode=mode, meter=meter, bars=4, rng=np.random.default_rng(i))
    return jobs


def _alone(name: str, jobs: list[Job]) -> list:
    single = load_generator(name, precision="fp32")
    return [single.next_phrase(j.context, j.valence, j.arousal, mode=j.mode, meter=j.meter, bars=j.bars,
                               rng=np.random.default_rng(j.seed)) for j in jobs]


# the ABC's CPU graph, its CUDA graph (the cache kept on the device: here, as ONNX Runtime values on
# the CPU) and the caller-held slot graph, all run here
MODELS = [("abc", "gqa"), ("abc", "resident"), ("abc", "slots"), ("lstm", "auto")]


@pytest.mark.parametrize("name,graph", MODELS)
@pytest.mark.parametrize("max_batch", [64, 5])
def test_a_phrase_decoded_in_a_batch_has_the_notes_it_has_alone(name, graph, max_batch):
    # max_batch 5: rows join as others finish, so the batch holds rows at many positions
    jobs = _jobs(name, 24, seed=max_batch)
    alone = _alone(name, jobs)
    batched = load_batched(name, max_batch=max_batch, graph=graph)
    batched.run(jobs)
    assert [j.error for j in jobs] == [None] * len(jobs)
    for job, phrase in zip(jobs, alone):
        assert job.phrase is not None
        assert job.phrase.notes == phrase.notes
        assert job.phrase.tokens == phrase.tokens and job.phrase.bars == job.bars
    assert batched.calls * 2 < sum(j.steps for j in jobs)  # rows share calls
    if name == "abc" and graph != "resident":  # the slot buffers followed the longest row, not the whole block
        assert batched.resized >= 2 and batched.cap < batched.slots


@pytest.mark.parametrize("name", ["abc", "lstm"])
def test_rows_drawn_together_draw_what_each_row_draws_on_its_own(name):
    # the batch draws every row's token (pitch) in one go; each loop sampling its own logits is the reference
    jobs = _jobs(name, 24, seed=11)
    for j in jobs[::5]:
        j.bars = 14  # the ABC's rows restart (out of positions) along the way; the LSTM's run long
    apart = [Job(j.context, j.valence, j.arousal, j.mode, j.meter, j.bars, j.seed) for j in jobs]
    together = load_batched(name, max_batch=7)
    assert together.vectorised
    together.run(jobs)
    each = load_batched(name, max_batch=7)
    each.vectorised = False
    each.run(apart)
    assert [j.phrase.tokens for j in jobs] == [j.phrase.tokens for j in apart]  # type: ignore[union-attr]
    assert [j.phrase.notes for j in jobs] == [j.phrase.notes for j in apart]  # type: ignore[union-attr]
    assert together.calls == each.calls


@pytest.mark.parametrize("graph", ["gqa", "resident", "slots"])
def test_abc_prefills_at_most_prefill_rows_prompts_a_call(graph):
    # a prefill's activations are the largest a call makes (ONNX Runtime's arena keeps its peak)
    model = load_batched("abc", max_batch=32, graph=graph)
    jobs = _jobs("abc", 20, seed=6)
    for job in jobs:
        model.admit(job)
    model.step()
    assert sum(j.steps for j in jobs) == batched_module.PREFILL_ROWS == 16
    model.step()
    assert all(j.steps == 1 for j in jobs)  # the other four, in the next turn
    apart = [Job(j.context, j.valence, j.arousal, j.mode, j.meter, j.bars, j.seed) for j in jobs]
    load_batched("abc", max_batch=1, graph=graph).run(apart)
    model.run([])
    assert [j.phrase.notes for j in jobs] == [j.phrase.notes for j in apart]  # type: ignore[union-attr]


def test_lstm_rows_joining_a_running_batch_do_not_hold_up_the_rows_stepping():
    # a joining row prefills in the same turn as the others step: no turn of prefill alone
    model = load_batched("lstm", max_batch=8)
    jobs = _jobs("lstm", 3, seed=4)
    for job in jobs[:2]:
        model.admit(job)
    for _ in range(3):
        model.step()
    before = [j.steps for j in jobs[:2]]
    model.admit(jobs[2])
    calls = model.calls
    model.step()
    assert [j.steps for j in jobs[:2]] == [s + 1 for s in before] and jobs[2].steps == 1
    assert model.calls == calls + 2  # the prefill, and the step of the rows already going
    apart = [Job(j.context, j.valence, j.arousal, j.mode, j.meter, j.bars, j.seed) for j in jobs]
    load_batched("lstm", max_batch=1).run(apart)
    model.run([])
    assert [j.phrase.notes for j in jobs] == [j.phrase.notes for j in apart]  # type: ignore[union-attr]


@pytest.mark.parametrize("graph", ["gqa", "resident", "slots"])
def test_abc_rows_that_run_out_of_positions_restart_as_alone(graph):
    jobs = _jobs("abc", 6, seed=3)
    for j in jobs:
        j.bars = 14  # longer than the model's positions hold beside the prompt: a restart
    alone = _alone("abc", jobs)
    load_batched("abc", graph=graph).run(jobs)
    assert [j.phrase.notes for j in jobs] == [p.notes for p in alone]  # type: ignore[union-attr]


def test_a_bad_request_fails_alone():
    jobs = _jobs("abc", 4, seed=4)
    jobs[1].meter = Meter(7, 8)  # a meter the model does not know
    jobs[2].bars = 0
    load_batched("abc").run(jobs)
    assert jobs[1].error is not None and "M:7/8" in str(jobs[1].error)
    assert jobs[2].error is not None and "bars" in str(jobs[2].error)
    assert jobs[0].phrase is not None and jobs[3].phrase is not None


@pytest.mark.parametrize("graph", ["gqa", "slots"])
def test_batched_graphs_are_small_and_share_the_single_graphs_weights(graph):
    card = load_card("abc")
    graphs = card["batched"]["gqa"] if graph == "gqa" else card["batched"]
    for precision in ("fp32", "int8"):
        path = weights_dir() / graphs[precision]
        assert path.stat().st_size < 200_000  # the weights stay in abc.onnx / abc.int8.onnx
    int8 = load_batched("abc", precision="int8", graph=graph)
    jobs = _jobs("abc", 3, seed=5)
    int8.run(jobs)
    assert all(j.phrase is not None and j.phrase.bars == j.bars for j in jobs)


def test_the_lstm_batch_runs_its_int8_graph():
    int8 = load_batched("lstm", precision="int8")
    jobs = _jobs("lstm", 5, seed=6)
    int8.run(jobs)
    assert all(j.phrase is not None and j.phrase.bars == j.bars and j.phrase.notes for j in jobs)
    assert int8.calls > 0


def test_the_cpu_gets_the_fused_attention_graph_and_a_bad_graph_name_is_refused():
    assert isinstance(load_batched("abc", prefer_gpu=False), GqaAbc)
    with pytest.raises(ConfigError, match="graph must be one of auto, gqa, slots, resident"):
        load_batched("abc", graph="paged")


def test_cuda_gets_the_resident_graph_at_fp32_only():
    cuda = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert abc_graph("auto", prefer_gpu=True, available=cuda) == "resident"
    assert abc_graph("auto", prefer_gpu=False, available=cuda) == "gqa"
    assert abc_graph("auto", prefer_gpu=True, available=["CPUExecutionProvider"]) == "gqa"
    assert abc_graph("slots", prefer_gpu=True, available=cuda) == "slots"
    with pytest.raises(ConfigError, match="resident graph .CUDA's. runs at fp32 only, got int8"):
        load_batched("abc", precision="int8", graph="resident", prefer_gpu=False)


def test_the_resident_graph_keeps_each_rows_cache_as_rows_come_and_go():
    # rows join as others finish, two leave mid-phrase (discarded): the buffers the next call is
    # given are the values the call before returned, and each row still finds its own cache row
    assert (weights_dir() / load_card("abc")["batched"]["resident"]["fp32"]).stat().st_size < 200_000
    jobs = _jobs("abc", 14, seed=21)
    alone = _alone("abc", jobs)
    model = load_batched("abc", max_batch=6, graph="resident")
    assert isinstance(model, ResidentAbc)
    waiting, dropped, gone = list(jobs), [jobs[1], jobs[3]], []
    while waiting or model.rows:
        while waiting and model.free:
            model.admit(waiting.pop(0))
        model.step()
        if model.calls == 9:
            gone = model.discard(lambda j: all(j is not d for d in dropped))
        rows = model._cache[0].shape()[0]
        assert len(set(model._src)) == len(model._src) and all(0 <= q < rows for q in model._src)
    assert len(gone) == 2 and all(any(g is d for d in dropped) for g in gone)
    for job, phrase in zip(jobs, alone):
        if all(job is not d for d in dropped):
            assert job.phrase is not None and job.phrase.notes == phrase.notes


def test_the_export_code_rebuilds_the_shipped_batched_graphs(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from moodscore.export.onnx import export_abc_batched

    for name in ("abc.onnx", "abc.int8.onnx", "abc.json"):
        shutil.copy(weights_dir() / name, tmp_path / name)
    export_abc_batched(weights_dir() / "abc.pt", tmp_path)
    for name in ("abc.batch.onnx", "abc.batch.int8.onnx", "abc.batch.gqa.onnx", "abc.batch.gqa.int8.onnx",
                 "abc.batch.resident.onnx"):
        assert (tmp_path / name).read_bytes() == (weights_dir() / name).read_bytes(), name


def test_the_export_code_rebuilds_the_shipped_lstm_graphs(tmp_path):
    pytest.importorskip("torch")
    from moodscore.export.onnx import export_lstm

    export_lstm(weights_dir() / "lstm.pt", tmp_path)  # (its card lacks the training record: not compared)
    for name in ("lstm.onnx", "lstm.int8.onnx"):
        assert (tmp_path / name).read_bytes() == (weights_dir() / name).read_bytes(), name
    assert load_card("lstm", tmp_path)["variants"] == load_card("lstm")["variants"]


@pytest.mark.parametrize("name,graph", MODELS)
def test_urgent_rows_step_alone_first_and_keep_their_notes(name, graph):
    jobs = _jobs(name, 12, seed=7)
    alone = _alone(name, jobs)
    for i, job in enumerate(jobs):
        job.deadline = 10.0 * (i % 4)  # rows due at 0, 10, 20, 30
    batched = load_batched(name, max_batch=12, graph=graph)
    for job in jobs:
        batched.admit(job)
    order = []
    clock = 0.0
    while len(batched):
        clock += 0.05
        urgent = batched.promote(clock)
        assert all(r.job.deadline < clock for r in batched.rows[:urgent])
        order += batched.step()
    assert [j.phrase.notes for j in jobs] == [p.notes for p in alone]  # type: ignore[union-attr]
    due = [j.deadline for j in order]
    assert due[: due.count(0.0)] == [0.0] * due.count(0.0)  # the earliest due finished first


def test_the_resident_graph_sends_the_model_no_cache_and_gets_none_back():
    # what would cross to a GPU and back per call: the slot graph's cache goes both ways; the
    # resident graph's stays with the model: tokens, masks and logits only
    jobs = _jobs("abc", 16, seed=8)
    copies = [Job(j.context, j.valence, j.arousal, j.mode, j.meter, j.bars, j.seed) for j in jobs]
    slots, resident = load_batched("abc", graph="slots"), load_batched("abc", graph="resident")
    slots.run(jobs)
    resident.run(copies)
    assert [j.phrase.notes for j in jobs] == [j.phrase.notes for j in copies]  # type: ignore[union-attr]
    c = load_card("abc")["config"]
    tokens = 16 * (4 * 8 * c["block_size"] + c["block_size"] + 3 * 8 + 8)  # 16 rows' ids, positions, mask...
    assert resident.sent / resident.calls < tokens < 2 * c["n_layer"] * c["n_embd"] * 16 * 4 * 16  # < 16 slots' cache
    assert 20 * resident.sent / resident.calls < slots.sent / slots.calls
    assert resident.received / resident.calls <= 16 * c["vocab_size"] * 4  # the logits, nothing more
    assert slots.received / slots.calls > 4 * resident.received / resident.calls


@pytest.mark.parametrize("graph", ["gqa", "slots", "resident"])
def test_reserved_slot_buffers_keep_the_notes(graph):
    # the bench reserves the buffers' largest size before it counts memory; decoding is the same
    jobs = _jobs("abc", 6, seed=13)
    alone = _alone("abc", jobs)
    model = load_batched("abc", max_batch=4, graph=graph)
    model.reserve()
    if graph != "resident":
        c = load_card("abc")["config"]
        assert all(flat.size == 4 * c["n_embd"] * c["block_size"] for side in model._pool for flat in side)
    model.run(jobs)
    assert [j.phrase.notes for j in jobs] == [p.notes for p in alone]  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="idle batch"):
        model.admit(Job(None, 0.0, 0.0, "maj", Meter(4, 4), 1, 1))
        model.reserve()
