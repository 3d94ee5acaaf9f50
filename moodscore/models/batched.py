"""Many decodings in one batched ONNX Runtime step: the generation side of ``moodscore host``.

Each job is one phrase request (the conductor's :class:`~moodscore.engine.conductor.Request`).
Its decoding is the generator's own loop (``AbcGenerator.decode`` / ``LstmGenerator.decode``),
constrained per row exactly as alone; this module only feeds many such loops at once. Rows join
and leave between steps (continuous batching), each at its own position:

- ABC transformer: on the CPU, ``abc.batch.gqa.onnx`` (:mod:`moodscore.models.transformer_gqa`),
  whose fused attention reads only each row's cached positions of a slot buffer of keys and
  values (one slot per row) and writes the new ones in place; on CUDA,
  ``abc.batch.resident.onnx`` (:mod:`moodscore.models.transformer_resident`), which takes the
  buffers the call before returned and returns them updated, so they stay on the device
  (I/O binding) and only tokens, masks and logits cross; ``abc.batch.onnx``
  (:mod:`moodscore.models.transformer_slots`), whose buffers the worker holds and writes, is
  the plain reference.
  Prompts are prefilled together, right-padded; then one step advances every row by a token.
  On the CPU the buffers hold only as many positions as the longest row's cache needs (in
  steps of ``SLOT_STEP``), not the model's whole block.
- LSTM: ``lstm.onnx`` as it is (its batch axis is dynamic): rows' states are stacked per step;
  contexts are prefilled in groups of equal length, so no row ever sees padding.

A row's numbers do not depend on the other rows, so a phrase decoded in a batch has the same
notes as decoded alone with the same seed (the test holds this for both models). The int8
graphs quantize activations per call over the whole batch, so at int8 that holds only alone.

Public API: :class:`Job`, :class:`BatchedAbc`, :class:`GqaAbc`, :class:`ResidentAbc`, :class:`BatchedLstm`,
:func:`load_batched`, :func:`abc_graph`, ``ABC_GRAPHS``.
"""
from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ModelError
from ..music import Meter, Phrase
from .runtime import (
    MODELS,
    PRECISIONS,
    AbcAsk,
    AbcGenerator,
    LstmGenerator,
    _session,
    load_card,
    model_file,
    providers,
    weights_dir,
)
from .emotion import mix_logits
from .sampling import sample_rows


@dataclass
class Job:
    """One phrase to decode; ``deadline`` orders the queue (earliest first), ``tag`` is the caller's."""

    context: Phrase | None
    valence: float
    arousal: float
    mode: str
    meter: Meter
    bars: int
    seed: int
    deadline: float = 0.0
    tag: Any = None
    phrase: Phrase | None = None
    error: Exception | None = None
    steps: int = 0  # model calls this job took part in

    @classmethod
    def of(cls, request: Any, deadline: float = 0.0, tag: Any = None) -> "Job":
        return cls(request.context, request.valence, request.arousal, request.mode, request.meter,
                   request.bars, request.seed, deadline, tag)


@dataclass
class _Row:
    job: Job
    loop: Generator[Any, Any, Phrase]
    ask: Any
    va: np.ndarray
    rng: np.random.Generator
    cached: int = 0
    extra: dict = field(default_factory=dict)


def _start(row_loop: Generator[Any, Any, Phrase], job: Job) -> Any:
    try:
        return next(row_loop)
    except Exception as err:  # a bad request fails alone
        job.error = err
        return None


class _Batched:
    """Rows in flight; subclasses run one model call per kind of ask."""

    name = ""

    def __init__(self, max_batch: int) -> None:
        if max_batch < 1:
            raise ConfigError(f"max_batch must be >= 1, got {max_batch}")
        self.max_batch = max_batch
        self.rows: list[_Row] = []
        self.urgent = 0  # rows[:urgent] are near their deadlines: while any is, only they step
        self.calls = 0
        # bytes given to and returned by the model calls as host memory: what crosses to a device
        # and back (counted by the graphs CUDA can run, ``slots`` and ``resident``)
        self.sent = self.received = 0

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def free(self) -> int:
        return self.max_batch - len(self.rows)

    @property
    def most_rows(self) -> int:
        """Rows a job near its deadline may still join up to, beyond ``max_batch``: twice it,
        where a row's state is all a row costs (the LSTM)."""
        return 2 * self.max_batch

    def admit(self, job: Job, force: bool = False) -> bool:
        """Start decoding ``job`` (``force``: even beyond ``max_batch``); False (and ``job.error``
        set) if it failed at once."""
        if not self.free and not force:
            raise ConfigError(f"batch is full ({self.max_batch} rows)")
        rng = np.random.default_rng(job.seed)
        loop = self._loop(job, rng)
        ask = _start(loop, job)
        if ask is None:
            return False
        self._add(_Row(job, loop, ask, np.array([job.valence, job.arousal], np.float32), rng))
        return True

    def _add(self, row: _Row) -> None:
        self.rows.append(row)

    def _move(self, src: int, dst: int) -> None:
        self.rows[dst] = self.rows[src]

    def _swap(self, i: int, j: int) -> None:
        self.rows[i], self.rows[j] = self.rows[j], self.rows[i]

    def _remove(self, row: _Row) -> None:
        """Drop ``row``: the last urgent row fills its place, the last row that one's, so the rows
        stay one block with the urgent ones first."""
        i = self.rows.index(row)
        if i < self.urgent:
            self.urgent -= 1
            if i != self.urgent:
                self._move(self.urgent, i)
            i = self.urgent
        last = len(self.rows) - 1
        if i != last:
            self._move(last, i)
        self.rows.pop()

    def discard(self, wanted: Callable[[Job], bool]) -> list[Job]:
        """Stop decoding the rows whose job is no longer ``wanted`` (a newer request replaced it,
        its session closed): their phrases would be thrown away. Returns those jobs."""
        gone = [r for r in self.rows if not wanted(r.job)]
        for r in gone:
            self._remove(r)
        return [r.job for r in gone]

    def promote(self, before: float) -> int:
        """Make every row due before ``before`` urgent (earliest deadline first: they alone step,
        in a small fast batch, until they are done); return how many are urgent."""
        for i in range(self.urgent, len(self.rows)):
            if self.rows[i].job.deadline < before:
                if i != self.urgent:
                    self._swap(i, self.urgent)
                self.urgent += 1
        return self.urgent

    @property
    def active(self) -> int:
        """Rows the next step runs: the urgent ones if any, else all."""
        return self.urgent or len(self.rows)

    def _send(self, row: _Row, value: Any) -> bool:
        """Give a row its model output; True while it goes on, False when it finished."""
        row.job.steps += 1
        try:
            row.ask = row.loop.send(value)
            return True
        except StopIteration as done:
            row.job.phrase = done.value
        except Exception as err:  # noqa: BLE001 - a failing row fails alone
            row.job.error = err
        return False

    def _loop(self, job: Job, rng: np.random.Generator) -> Generator[Any, Any, Phrase]:
        raise NotImplementedError

    def prefilling(self) -> bool:
        """Whether the next step prefills (a longer call than a step)."""
        raise NotImplementedError

    def step(self) -> list[Job]:
        """Advance every row by one model call; return the jobs that finished (or failed)."""
        raise NotImplementedError

    def run(self, jobs: list[Job]) -> list[Job]:
        """Decode ``jobs`` to the end, ``max_batch`` at a time, in order of admission."""
        waiting = list(jobs)
        while waiting or self.rows:
            while waiting and self.free:
                self.admit(waiting.pop(0))
            if self.rows:
                self.step()
        return jobs


SLOT_STEP = 16  # the slot buffers' positions are a multiple of this
PREFILL_ROWS = 16  # prompts an ABC prefill call takes, at most


class BatchedAbc(_Batched):
    """``abc.batch.onnx``: attention over every slot position, masked; the worker writes each
    step's new keys and values into the buffers."""

    name = "abc"
    keys_transposed = True  # keys (rows, H, hd, cap), ready for q @ k

    @property
    def most_rows(self) -> int:
        """``max_batch``: more rows would grow the slot buffers, which copies the whole cache:
        16 rows beyond a reserved batch of 64 made one step take 0.55 s, and ``bench sessions``
        runs that fell behind had stalls of 1.2-1.7 s with 300-350 MB more RSS."""
        return self.max_batch

    def __init__(self, generator: AbcGenerator, session: Any, max_batch: int = 64) -> None:
        super().__init__(max_batch)
        self.generator, self.session = generator, session
        c = generator.card["config"]
        self.layers, self.heads, self.hd = c["n_layer"], c["n_head"], c["n_embd"] // c["n_head"]
        self.slots = generator.block
        self.vectorised = True  # draw every row's token in one go (False: each loop samples its own)
        self.cap = 0  # slot positions the buffers hold now: enough for every row's cache
        self.resized = 0  # times the buffers changed their slot positions
        self._pool: list[list[np.ndarray]] = [[], []]  # the buffers' memory (see _resize)
        self._side = 0
        self._k: list[np.ndarray] = []  # per layer (rows, H, hd, cap): keys stored transposed
        self._v: list[np.ndarray] = []  # per layer (rows, H, cap, hd)
        self._grow(0)

    def _loop(self, job: Job, rng: np.random.Generator) -> Generator[AbcAsk, np.ndarray | int, Phrase]:
        return self.generator.decode(job.context, mode=job.mode, meter=job.meter, bars=job.bars, rng=rng)

    def _grow(self, n: int) -> None:
        """Slot buffers for ``n`` rows."""
        have = self._k[0].shape[0] if self._k else -1
        if have >= n:
            return
        self._resize(max(n, min(self.max_batch, 2 * max(have, 4))), self.cap)

    def _resize(self, size: int, cap: int) -> None:
        """Buffers of ``size`` rows by ``cap`` slot positions, keeping what the rows have cached.

        They are views of the front of flat arrays kept for the purpose, two sets that take
        turns (the rows are copied from one to the other), so a resize copies but neither maps
        nor zeroes fresh memory. Positions beyond a row's cache may hold any earlier finite
        key or value: they are masked (attention weight exactly 0), as after a row leaves."""
        side = 1 - self._side
        need = size * self.heads * self.hd * cap
        flat = self._pool[side]
        if not flat or flat[0].size < need:
            flat = self._pool[side] = [np.zeros(need, np.float32) for _ in range(2 * self.layers)]
        key = (size, self.heads, self.hd, cap) if self.keys_transposed else (size, self.heads, cap, self.hd)
        k = [f[:need].reshape(key) for f in flat[: self.layers]]
        v = [f[:need].reshape(size, self.heads, cap, self.hd) for f in flat[self.layers:]]
        self._side = side
        rows = min(size, self._k[0].shape[0], len(self.rows)) if self._k else 0  # the rest hold no row
        keep = min(cap, self.cap, max((r.cached for r in self.rows), default=0))
        kept = np.s_[:rows, :, :keep]  # a row's cached positions: the third axis of values
        for new, old in zip(k, self._k):
            at = np.s_[:rows, :, :, :keep] if self.keys_transposed else kept
            new[at] = old[at]
        for new, old in zip(v, self._v):
            new[kept] = old[kept]
        self._k, self._v, self.cap = k, v, cap

    def reserve(self) -> None:
        """Give the slot buffers, while no row is in flight, the memory they can ever grow to (both
        sets, ``max_batch`` rows by the model's whole block), written so that it is resident: the
        cache then counts as the batch's cost, as the models do, not as the sessions' (the
        sessions bench). The buffers' positions shrink back as the rows allow."""
        if self.rows:
            raise ConfigError(f"reserve needs an idle batch, {len(self.rows)} rows are in flight")
        need = self.max_batch * self.heads * self.hd * self.slots
        for side in (0, 1):
            self._pool[side] = [np.zeros(need, np.float32) for _ in range(2 * self.layers)]
            for flat in self._pool[side]:
                flat.fill(0.0)  # np.zeros maps pages lazily: touch them
        self._resize(self.max_batch, self.slots)
        self.cap = self.slots

    def _fit(self, need: int) -> None:
        """Slot positions for a cache of ``need``: each step attends over every slot position of
        the buffers, so they hold what the longest row needs, rounded up to ``SLOT_STEP``, and
        shrink when the longest row needs two steps less."""
        if need > self.cap or need + 2 * SLOT_STEP <= self.cap:
            cap = min(self.slots, -(-need // SLOT_STEP) * SLOT_STEP)
            if cap != self.cap:
                self.resized += 1
                self._resize(self._k[0].shape[0], cap)

    def _add(self, row: _Row) -> None:
        super()._add(row)
        self._grow(len(self.rows))

    def _move(self, src: int, dst: int) -> None:
        super()._move(src, dst)
        for buf in self._k + self._v:
            buf[dst] = buf[src]

    def _swap(self, i: int, j: int) -> None:
        super()._swap(i, j)
        for buf in self._k + self._v:
            buf[[i, j]] = buf[[j, i]]

    def prefilling(self) -> bool:
        return any(r.ask.prefill for r in self.rows[: self.active])

    def _feed(self, n: int, ids: np.ndarray, barpos: np.ndarray, pos: np.ndarray, va: np.ndarray,
              mask: np.ndarray, last: np.ndarray, slots: int) -> list[np.ndarray]:
        feed = {"idx": ids, "barpos": barpos, "pos": pos, "va": va, "past_mask": mask, "last": last}
        for i in range(self.layers):
            if slots:
                feed[f"past_k{i}"], feed[f"past_v{i}"] = self._k[i][:n], self._v[i][:n]
            else:
                feed[f"past_k{i}"] = np.zeros((n, self.heads, self.hd, 0), np.float32)
                feed[f"past_v{i}"] = np.zeros((n, self.heads, 0, self.hd), np.float32)
        self.calls += 1
        out: list[np.ndarray] = self.session.run(None, feed)
        self.sent += sum(x.nbytes for x in feed.values())
        self.received += sum(x.nbytes for x in out)
        return out

    def _prefill(self, index: list[int]) -> np.ndarray:
        rows = [self.rows[i] for i in index]
        ids, barpos = _prompts(rows)
        n, T = ids.shape
        logits, new_k, new_v = self._feed(
            n, ids, barpos, np.broadcast_to(np.arange(T), (n, T)).copy(), np.stack([r.va for r in rows]),
            np.zeros((n, 0), bool), np.array([len(r.ask.ids) - 1 for r in rows], np.int64), 0)
        self._fit(max([T] + [r.cached for r in self.rows]))
        for j, (i, r) in enumerate(zip(index, rows)):
            t = len(r.ask.ids)
            for layer in range(self.layers):
                self._k[layer][i, :, :, :t] = new_k[j, layer, :, :, :t]
                self._v[layer][i, :, :t] = new_v[j, layer, :, :t]
            r.cached = t
        return logits  # type: ignore[no-any-return]

    def step(self) -> list[Job]:
        n = self.active
        rows = self.rows[:n]
        # at most PREFILL_ROWS prompts a call: a prefill's activations are the largest a call
        # makes, and ONNX Runtime's arena keeps its peak (the rest prefill in the next turns)
        prefill = [i for i, r in enumerate(rows) if r.ask.prefill][:PREFILL_ROWS]
        if prefill:  # rows just prefilled sample first; every row steps in the next call
            drawing = [rows[i] for i in prefill]
            logits = self._prefill(prefill)
        else:
            drawing = rows
            logits = self._step(rows)
        # every row that got logits this call draws its next token now
        done = [r for r, value in zip(drawing, self._draws(drawing, logits)) if not self._send(r, value)]
        for r in done:
            self._remove(r)
        return [r.job for r in done]

    def _step(self, rows: list[_Row]) -> np.ndarray:
        """One token for each of ``rows`` (the first ``len(rows)``); their logits."""
        n = len(rows)
        ids = np.array([[r.ask.ids[0]] for r in rows], np.int64)
        barpos = np.array([[r.ask.barpos[0]] for r in rows], np.int64)
        start = np.array([r.ask.start for r in rows], np.int64)
        self._fit(max(int(start.max()) + 1, max(r.cached for r in self.rows)))
        mask = np.arange(self.cap)[None, :] < np.array([r.cached for r in rows])[:, None]
        logits, new_k, new_v = self._feed(n, ids, barpos, start[:, None], np.stack([r.va for r in rows]),
                                          mask, np.zeros(n, np.int64), self.cap)
        index = np.arange(n)
        for layer in range(self.layers):
            self._k[layer][index, :, :, start] = new_k[:, layer, :, :, 0]
            self._v[layer][index, :, start] = new_v[:, layer, :, 0]
        for j, r in enumerate(rows):
            r.cached = int(start[j]) + 1
        return logits  # type: ignore[no-any-return]

    def _draws(self, rows: list[_Row], logits: np.ndarray) -> list[Any]:
        """What each row's loop is sent: its next token, drawn here for every row at once (the
        draw each loop makes, from its own stream), or, with ``vectorised`` off, its logits."""
        if not self.vectorised:
            return list(logits)
        allowed = np.stack([self.generator.allowed(r.ask.remaining) for r in rows])
        u = np.array([r.rng.random() for r in rows])
        return [int(i) for i in sample_rows(logits, allowed, u, self.generator.sampling)]


class GqaAbc(BatchedAbc):
    """``abc.batch.gqa.onnx`` (:mod:`moodscore.models.transformer_gqa`), the CPU's graph: each
    layer's attention reads only a row's cached positions, and each step writes its new keys and
    values into the slot buffers itself, bound in place with ONNX Runtime's I/O binding."""

    keys_transposed = False  # keys (rows, H, cap, hd), as values

    def __init__(self, generator: AbcGenerator, session: Any, max_batch: int = 64) -> None:
        super().__init__(generator, session, max_batch)
        self._binding = session.io_binding()

    def _fit(self, need: int) -> None:
        """Slot positions for a cache of ``need``; they only grow: a step reads only each row's
        cached positions, so more slot positions cost memory, not time."""
        if need > self.cap:
            super()._fit(need)

    def _prefill(self, index: list[int]) -> np.ndarray:
        rows = [self.rows[i] for i in index]
        ids, barpos = _prompts(rows)
        n, T = ids.shape
        feed = {"idx": ids, "barpos": barpos, "pos": np.broadcast_to(np.arange(T), (n, T)).copy(),
                "va": np.stack([r.va for r in rows]), "seqlens": np.array([len(r.ask.ids) - 1 for r in rows], np.int32),
                "total": np.array(T, np.int32), "last": np.array([len(r.ask.ids) - 1 for r in rows], np.int64)}
        empty = np.zeros((n, self.heads, 0, self.hd), np.float32)
        for i in range(self.layers):
            feed[f"past_k{i}"] = feed[f"past_v{i}"] = empty
        self.calls += 1
        logits, *cache = self.session.run(None, feed)  # a prompt's padding is past its last position
        self._fit(max([T] + [r.cached for r in self.rows]))
        for j, (i, r) in enumerate(zip(index, rows)):
            t = len(r.ask.ids)
            for layer in range(self.layers):
                self._k[layer][i, :, :t] = cache[layer][j, :, :t]
                self._v[layer][i, :, :t] = cache[self.layers + layer][j, :, :t]
            r.cached = t
        return logits  # type: ignore[no-any-return]

    def _step(self, rows: list[_Row]) -> np.ndarray:
        import onnxruntime as ort

        n = len(rows)
        ids = np.array([r.ask.ids[0] for r in rows], np.int64)[:, None]
        barpos = np.array([r.ask.barpos[0] for r in rows], np.int64)[:, None]
        start = np.array([r.ask.start for r in rows], np.int64)  # == each row's cached positions
        self._fit(int(start.max()) + 1)  # grow only: every other row's cache already fits
        b = self._binding
        b.clear_binding_inputs()
        b.clear_binding_outputs()
        feed = {"idx": ids, "barpos": barpos, "pos": start[:, None], "va": np.stack([r.va for r in rows]),
                "seqlens": start.astype(np.int32), "total": np.array(start.max() + 1, np.int32),
                "last": np.zeros(n, np.int64)}  # held until the call is done: bound, not copied
        for name, value in feed.items():
            b.bind_cpu_input(name, value)
        b.bind_output("logits", "cpu")
        cache = [ort.OrtValue.ortvalue_from_numpy(buf[:n]) for buf in self._k + self._v]  # their memory
        for i, value in enumerate(cache):
            kind, layer = ("k", i) if i < self.layers else ("v", i - self.layers)
            b.bind_ortvalue_input(f"past_{kind}{layer}", value)
            b.bind_ortvalue_output(f"present_{kind}{layer}", value)
        self.calls += 1
        self.session.run_with_iobinding(b)
        for j, r in enumerate(rows):
            r.cached = int(start[j]) + 1
        return b.get_outputs()[0].numpy()  # type: ignore[no-any-return]


class ResidentAbc(BatchedAbc):
    """``abc.batch.resident.onnx`` (:mod:`moodscore.models.transformer_resident`), the CUDA
    provider's graph: the slot buffers stay where the model runs, bound with ONNX Runtime's I/O
    binding, and every call returns them updated. Only tokens, masks and logits cross to and
    from the device. The buffers hold the model's whole block of slot positions (a GPU has the
    memory, and resizing them would mean a copy through the host). Rows joining, leaving or
    changing places only change ``order``, the rows the next call keeps, in their new order.
    On the CPU (where tests run it), the same code keeps the buffers as ONNX Runtime values."""

    def __init__(self, generator: AbcGenerator, session: Any, max_batch: int = 64) -> None:
        import onnxruntime as ort

        super().__init__(generator, session, max_batch)  # its numpy buffers stay empty: unused
        self.cap = self.slots
        self.device = "cuda" if "CUDAExecutionProvider" in session.get_providers() else "cpu"
        self._binding = session.io_binding()
        self._names = [f"{kind}_{x}{i}" for kind in ("past", "present") for x in "kv" for i in range(self.layers)]
        shapes = [(1, self.heads, self.hd, self.slots)] * self.layers + [(1, self.heads, self.slots, self.hd)] * self.layers
        self._cache = [ort.OrtValue.ortvalue_from_numpy(np.zeros(shape, np.float32), self.device, 0)
                       for shape in shapes]  # one row to start: a new row's slots are masked, any row serves
        self._src: list[int] = []  # for each row, its row in ``_cache``

    def reserve(self) -> None:
        """Nothing to reserve: the buffers are the values ONNX Runtime returns."""
        if self.rows:
            raise ConfigError(f"reserve needs an idle batch, {len(self.rows)} rows are in flight")

    def _add(self, row: _Row) -> None:
        _Batched._add(self, row)
        self._src.append(0)

    def _move(self, src: int, dst: int) -> None:
        _Batched._move(self, src, dst)
        self._src[dst] = self._src[src]

    def _swap(self, i: int, j: int) -> None:
        _Batched._swap(self, i, j)
        self._src[i], self._src[j] = self._src[j], self._src[i]

    def _remove(self, row: _Row) -> None:
        super()._remove(row)
        self._src.pop()

    def _call(self, active: list[int], feed: dict[str, np.ndarray]) -> np.ndarray:
        """One call for the rows at ``active`` (in that order); every other row is kept, after them."""
        chosen = set(active)
        place = active + [p for p in range(len(self.rows)) if p not in chosen]
        feed["order"] = np.array([self._src[p] for p in place], np.int64)
        b = self._binding
        b.clear_binding_inputs()
        b.clear_binding_outputs()
        for name, value in feed.items():
            b.bind_cpu_input(name, value)
        half = 2 * self.layers
        for name, value in zip(self._names[:half], self._cache):
            b.bind_ortvalue_input(name, value)
        b.bind_output("logits", "cpu")
        for name in self._names[half:]:
            b.bind_output(name, self.device)
        self.calls += 1
        self.session.run_with_iobinding(b)
        logits, *self._cache = b.get_outputs()
        for q, p in enumerate(place):
            self._src[p] = q
        out: np.ndarray = logits.numpy()
        self.sent += sum(x.nbytes for x in feed.values())
        self.received += out.nbytes
        return out

    def _prefill(self, index: list[int]) -> np.ndarray:
        rows = [self.rows[i] for i in index]
        ids, barpos = _prompts(rows)
        n, T = ids.shape
        if T > self.slots:
            raise ModelError(f"a prompt of {T} tokens does not fit the model's {self.slots} positions")
        at = np.broadcast_to(np.arange(T), (n, T)).copy()
        logits = self._call(index, {
            "idx": ids, "barpos": barpos, "pos": at, "va": np.stack([r.va for r in rows]),
            "past_mask": np.zeros((n, self.slots), bool),
            "last": np.array([len(r.ask.ids) - 1 for r in rows], np.int64), "write": at})
        for r in rows:
            r.cached = len(r.ask.ids)
        return logits

    def _step(self, rows: list[_Row]) -> np.ndarray:
        n = len(rows)
        start = np.array([r.ask.start for r in rows], np.int64)  # == each row's cached positions
        logits = self._call(list(range(n)), {
            "idx": np.array([r.ask.ids[0] for r in rows], np.int64)[:, None],
            "barpos": np.array([r.ask.barpos[0] for r in rows], np.int64)[:, None],
            "pos": start[:, None], "va": np.stack([r.va for r in rows]),
            "past_mask": np.arange(self.slots)[None, :] < start[:, None],
            "last": np.zeros(n, np.int64), "write": start[:, None]})
        for j, r in enumerate(rows):
            r.cached = int(start[j]) + 1
        return logits


def _prompts(rows: list[_Row]) -> tuple[np.ndarray, np.ndarray]:
    """The rows' prompts, right-padded with zeros to the longest: ids and bar positions (n, T)."""
    T = max(len(r.ask.ids) for r in rows)
    ids = np.zeros((len(rows), T), np.int64)
    barpos = np.zeros((len(rows), T), np.int64)
    for j, r in enumerate(rows):
        ids[j, : len(r.ask.ids)] = r.ask.ids
        barpos[j, : len(r.ask.ids)] = r.ask.barpos
    return ids, barpos


class BatchedLstm(_Batched):
    name = "lstm"

    def __init__(self, generator: LstmGenerator, session: Any, max_batch: int = 64) -> None:
        super().__init__(max_batch)
        self.generator, self.session = generator, session
        c = generator.card["config"]
        self.layers, self.hidden = c["layers"], c["hidden"]
        self.vectorised = True  # draw every row's pitch in one go (False: each loop samples its own)
        # the last call's rows and their state out (and moods in), for the next call of the same rows
        self._last: tuple[list[_Row], np.ndarray, np.ndarray, np.ndarray] | None = None
        self._outs: list[tuple[list[_Row], np.ndarray]] = []  # this step's calls: rows, last logits
        self._scores: tuple[list[_Row], np.ndarray] | None = None  # the rows last drawn for, stacked

    def _loop(self, job: Job, rng: np.random.Generator
              ) -> Generator[np.ndarray, tuple[np.ndarray | int, np.ndarray], Phrase]:
        return self.generator.decode(job.context, job.valence, job.arousal, mode=job.mode, meter=job.meter,
                                     bars=job.bars, rng=rng)

    def _add(self, row: _Row) -> None:
        zero = np.zeros((self.layers, self.hidden), np.float32)
        job = row.job
        row.extra.update(h=zero, c=zero, fresh=True, score=self.generator.score(job.mode, job.valence, job.arousal))
        super()._add(row)

    def prefilling(self) -> bool:
        return any(r.extra["fresh"] for r in self.rows[: self.active])

    def _remove(self, row: _Row) -> None:
        self._last = None  # the rows change: nothing of a finished or dropped job is kept
        super()._remove(row)

    def _call(self, rows: list[_Row]) -> None:
        notes = np.stack([r.ask for r in rows])  # (n, T, 3): all of one length
        last = self._last
        if last is not None and len(last[0]) == len(rows) and all(a is b for a, b in zip(last[0], rows)):
            h, c, va = last[1], last[2], last[3]  # the rows of the last call, in its order: its state as is
        else:
            h = np.stack([r.extra["h"] for r in rows], axis=1)
            c = np.stack([r.extra["c"] for r in rows], axis=1)
            va = np.stack([r.va for r in rows])
        logits, timing, h, c = self.session.run(None, {"notes": notes, "va": va, "h": h, "c": c})
        self.calls += 1
        self._last = (list(rows), h, c, va)
        self._outs.append((rows, logits[:, -1]))
        for j, r in enumerate(rows):
            r.extra.update(h=h[:, j], c=c[:, j], fresh=False, out=(logits[j, -1], timing[j, -1]))

    def step(self) -> list[Job]:
        rows = self.rows[: self.active]
        self._outs = []
        fresh = [r for r in rows if r.extra["fresh"]]
        others = [r for r in rows if not r.extra["fresh"]] if fresh else rows
        groups: dict[int, list[_Row]] = {}
        for r in fresh:  # prefill: equal lengths together, so no row is padded
            groups.setdefault(len(r.ask), []).append(r)
        for group in groups.values():
            self._call(group)
        if others:  # the rows already going step in the same turn: joining rows do not hold them up
            self._call(others)
        done = []
        stepped = [r for r in rows if "out" in r.extra]
        for r, given in zip(stepped, self._draws(stepped)):
            if not self._send(r, given):
                done.append(r)
        for r in done:
            self._remove(r)
        return [r.job for r in done]

    def _draws(self, rows: list[_Row]) -> list[tuple[Any, np.ndarray]]:
        """What each row's loop is sent: its next pitch, drawn here for every row at once from
        the logits mixed with its emotion score (the draw each loop makes, from its own stream),
        and the timing; or, with ``vectorised`` off, its logits and the timing."""
        outs = [r.extra.pop("out") for r in rows]
        if not self.vectorised or not rows:
            return outs
        known = self._scores
        if known is None or len(known[0]) != len(rows) or any(a is not b for a, b in zip(known[0], rows)):
            known = self._scores = (list(rows), np.stack([r.extra["score"] for r in rows]))
        scores = known[1]  # the same rows as the last step's: their scores as they were stacked
        calls = self._outs
        if len(calls) == 1 and len(calls[0][0]) == len(rows) and all(a is b for a, b in zip(calls[0][0], rows)):
            logits = calls[0][1]  # one call stepped them all, in this order: its output as it is
        else:
            logits = np.stack([logit for logit, _ in outs])
        mixed = mix_logits(logits, scores, self.generator.mix)  # elementwise: each row as alone
        u = np.array([r.rng.random() for r in rows])
        pitches = sample_rows(mixed, np.ones(mixed.shape, bool), u, self.generator.sampling)
        return [(int(p), timing) for p, (_, timing) in zip(pitches, outs)]


ABC_GRAPHS = ("auto", "gqa", "slots", "resident")


def abc_graph(graph: str, prefer_gpu: bool, available: Sequence[str] | None = None) -> str:
    """The ABC's batched graph ``graph`` names: ``auto`` is ``resident`` exactly where the CUDA
    provider runs it (the fused attention runs there only at fp16), else ``gqa``. ``available``:
    the ONNX Runtime providers to choose among (this machine's by default)."""
    if graph not in ABC_GRAPHS:
        raise ConfigError(f"graph must be one of {', '.join(ABC_GRAPHS)}, got {graph!r}")
    if graph == "auto":
        found = providers() if available is None else list(available)
        return "resident" if prefer_gpu and "CUDAExecutionProvider" in found else "gqa"
    return graph


def load_batched(name: str, *, folder: Path | None = None, precision: str = "fp32", threads: int = 1,
                 prefer_gpu: bool = True, max_batch: int = 64, graph: str = "auto") -> BatchedAbc | BatchedLstm:
    """The shipped model ``name`` as a batched decoder (fp32 by default: see the module note).
    ``graph`` (ABC only): ``gqa`` (fused attention; ``auto`` on the CPU), ``resident`` (the
    cache kept on the device; ``auto`` on CUDA, fp32 only), ``slots`` (the cache held by the
    caller)."""
    if name not in MODELS:
        raise ConfigError(f"model must be one of {', '.join(MODELS)}, got {name!r}")
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    folder = folder or weights_dir()
    card = load_card(name, folder)
    if name == "abc":
        graph = abc_graph(graph, prefer_gpu)
        if graph == "resident" and precision != "fp32":
            raise ConfigError(f"the resident graph (CUDA's) runs at fp32 only, got {precision}: "
                              "the CUDA provider has no kernel for the int8 graphs' quantized matmuls")
        batched = card.get("batched") or {}
        if graph in ("gqa", "resident"):
            batched = batched.get(graph) or {}
        if precision not in batched:
            raise ModelError(f"model card {folder / 'abc.json'} names no batched {graph} {precision} graph: "
                             "run `moodscore export`")
        session = _session(folder / batched[precision], threads, prefer_gpu)
        # the generator only lends its decoding loop, vocabulary and masks: no session of its own
        kind = {"gqa": GqaAbc, "resident": ResidentAbc}.get(graph, BatchedAbc)
        return kind(AbcGenerator(_NoBackend(), card), session, max_batch)
    path = model_file(name, card, folder, precision)
    session = _session(path, threads, prefer_gpu)
    return BatchedLstm(LstmGenerator(_NoBackend(), card), session, max_batch)


class _NoBackend:
    """Stands in for a backend where only ``decode`` is used."""

    cached = 0

    def reset(self) -> None:
        raise ModelError("a batched decoder's generator runs no model of its own")

    def step(self, *args: Any) -> Any:
        raise ModelError("a batched decoder's generator runs no model of its own")

