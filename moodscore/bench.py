"""``moodscore bench``: time one 4-bar phrase, ONNX Runtime against torch eager.

Both sides run the same decoding loop (:mod:`moodscore.models.runtime`) on the same weights
(the exported graph and the ``.pt`` state dict written beside it) on ``threads`` CPU threads.
Each phrase continues the previous one, as in a live session, while the mood walks round the
four quadrants. The ``+ arrangement`` rows time what the conductor does per phrase: generation,
then the phrase performed and arranged for every role of the default style (harmony, parts,
performance). A benchmark that prints figures, not a test.

Public API: :func:`run_bench`, :func:`time_phrases`, :func:`time_arrangement`.
"""
from __future__ import annotations

import platform
import time

import numpy as np

from .engine.template import controls
from .errors import ModelError
from .models.runtime import AbcGenerator, LstmGenerator, load_card, load_generator, weights_dir
from .music import Meter

_MOODS = ((0.8, 0.8), (-0.8, 0.8), (-0.8, -0.8), (0.8, -0.8), (0.0, 0.0))


def time_phrases(generator, phrases: int, *, warmup: int = 3, seed: int = 0,
                 arrange: bool = False) -> np.ndarray:
    """Milliseconds for each of ``phrases`` 4-bar phrases (after ``warmup`` untimed ones), with
    ``arrange`` the arrangement of each included."""
    from .arranger import arrange_parts
    from .engine.compose import perform

    rng = np.random.default_rng(seed)
    context = None
    times = []
    for i in range(warmup + phrases):
        v, a = _MOODS[i % len(_MOODS)]
        mode = controls(v, a).mode
        start = time.perf_counter()
        context = generator.next_phrase(context, v, a, mode=mode, meter=Meter(4, 4), bars=4, rng=rng)
        if arrange:
            ctl = controls(v, a)
            arrange_parts(perform(context, ctl, 0), ctl, seed=seed + i, phrase_index=i)
        if i >= warmup:
            times.append((time.perf_counter() - start) * 1000)
    return np.array(times)


def time_arrangement(generator, phrases: int, *, seed: int = 0) -> np.ndarray:
    """Milliseconds to arrange each of ``phrases`` generated 4-bar phrases for all five roles
    (the phrases are generated first, untimed)."""
    from .arranger import arrange_parts
    from .engine.compose import perform

    rng = np.random.default_rng(seed)
    made, context = [], None
    for i in range(phrases):
        v, a = _MOODS[i % len(_MOODS)]
        context = generator.next_phrase(context, v, a, mode=controls(v, a).mode, meter=Meter(4, 4), bars=4,
                                        rng=rng)
        made.append((perform(context, controls(v, a), 0), controls(v, a)))
    times = []
    for i, (phrase, ctl) in enumerate(made):
        start = time.perf_counter()
        arrange_parts(phrase, ctl, seed=seed + i, phrase_index=i)
        times.append((time.perf_counter() - start) * 1000)
    return np.array(times)


def _torch_generator(name: str, threads: int):
    try:
        import torch
    except ImportError:
        return None, "torch is not installed (pip install 'moodscore[train]')"
    from .models.lstm import MelodyLstm
    from .models.torch_backend import TorchAbcBackend, TorchLstmBackend, load_checkpoint
    from .models.transformer import AbcTransformer

    path = weights_dir() / f"{name}.pt"
    if not path.exists():
        return None, f"{path} is missing (written by `moodscore export`)"
    torch.set_num_threads(threads)
    model, _ = load_checkpoint(path)
    card = load_card(name)
    if name == "abc":
        if not isinstance(model, AbcTransformer):
            raise ModelError(f"{path} is not an ABC transformer checkpoint")
        return AbcGenerator(TorchAbcBackend(model), card), ""
    if not isinstance(model, MelodyLstm):
        raise ModelError(f"{path} is not an LSTM checkpoint")
    return LstmGenerator(TorchLstmBackend(model), card), ""


def _row(model: str, backend: str, ms: np.ndarray) -> str:
    return (f"{model:<5} {backend:<17} {np.median(ms):>9.2f} {np.percentile(ms, 99):>9.2f} "
            f"{ms.max():>9.2f} {len(ms):>8}")


def run_bench(which: str = "all", *, phrases: int = 50, threads: int = 1) -> None:
    names = ("abc", "lstm") if which == "all" else (which,)
    print(f"moodscore bench --model {which} --phrases {phrases} --threads {threads}")
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"one 4-bar phrase in 4/4 per call, each continuing the previous one")
    print(f"{'model':<5} {'backend':<17} {'median ms':>9} {'p99 ms':>9} {'max ms':>9} {'phrases':>8}")
    for name in names:
        card = load_card(name)
        timings: dict[str, np.ndarray] = {}
        for precision in ("fp32", *card.get("variants", {})):
            gen = load_generator(name, threads=threads, prefer_gpu=False, precision=precision)
            timings[precision] = time_phrases(gen, phrases)
            print(_row(name, f"onnxruntime {precision}", timings[precision]), flush=True)
            if precision == card.get("default_precision", "fp32"):
                print(_row(name, "+ arrangement", time_phrases(gen, phrases, arrange=True)), flush=True)
                print(_row(name, "arrangement only", time_arrangement(gen, phrases)), flush=True)
        torch_gen, why = _torch_generator(name, threads)
        if torch_gen is None:
            print(f"{name:<5} {'torch eager fp32':<17} skipped: {why}")
            continue
        torch_ms = time_phrases(torch_gen, phrases)
        print(_row(name, "torch eager fp32", torch_ms))
        for precision, ms in timings.items():
            print(f"{name:<5} {'ratio':<17} {np.median(torch_ms) / np.median(ms):>8.2f}x "
                  f"{np.percentile(torch_ms, 99) / np.percentile(ms, 99):>8.2f}x  "
                  f"(torch eager / onnxruntime {precision}, median and p99)")
    if "abc" in names:
        print("target: abc p99 under 30 ms with ONNX Runtime on one thread, generation plus arrangement "
              f"(the runtime uses {load_card('abc').get('default_precision', 'fp32')} by default)")
