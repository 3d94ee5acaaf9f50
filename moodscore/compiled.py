"""Which modules a compiled install builds with mypyc, and which of them this process runs
compiled.

``MOODSCORE_COMPILE=1 pip install .`` compiles :data:`MODULES` (the per-session hot path: the
conductor, the arranger, the host's tick, and the models' decoding loops and batches) to C
extensions with mypyc; a plain install runs them as Python. Both give the same output
(``scripts/check_compiled.sh`` checks it in CI). The list is read by ``setup.py`` without
importing the package, so this module imports nothing of it.

``@mypyc_attr(acyclic=True)`` (from here: mypy_extensions' decorator, or a stand-in that does
nothing where mypy is not installed) marks a class whose instances hold plain values only, and
so no reference cycle: compiled, they are kept out of the cyclic garbage collector, which then
never traverses them, nor the tuples that hold only such values once it has seen them once.

Not compiled: modules with pydantic models (mypyc compiles no classes with their metaclass),
and ``host.worker`` (mypyc 2.4 names its ``_thread`` attribute ``__thread`` in C, a keyword
of GCC's; its own Python is little of its time, which goes to the batches it steps).
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
from typing import Any, Callable, TypeVar

__all__ = ["MODULES", "compiled_modules", "describe", "mypyc_attr"]

T = TypeVar("T")

try:
    from mypy_extensions import mypyc_attr
except ImportError:  # a plain install without mypy: the attribute only speaks to mypyc
    def mypyc_attr(*attrs: str, **kwattrs: Any) -> Callable[[T], T]:  # type: ignore[misc]
        return lambda cls: cls

MODULES: tuple[str, ...] = (
    "moodscore.music",
    "moodscore.arranger",
    "moodscore.arranger.chords",
    "moodscore.arranger.harmony",
    "moodscore.arranger.parts",
    "moodscore.arranger.patterns",
    "moodscore.arranger.performance",
    "moodscore.arranger.voicing",
    "moodscore.engine.clock",
    "moodscore.engine.compose",
    "moodscore.engine.conductor",
    "moodscore.engine.mood",
    "moodscore.engine.theme",
    "moodscore.host.core",
    "moodscore.host.load",
    "moodscore.models.abc",
    "moodscore.models.batched",
    "moodscore.models.emotion",
    "moodscore.models.runtime",
    "moodscore.models.sampling",
)


def compiled_modules() -> list[str]:
    """Those of :data:`MODULES` that import as C extensions here (an empty list: plain Python)."""
    found = []
    for name in MODULES:
        spec = importlib.util.find_spec(name)
        if spec is not None and isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
            found.append(name)
    return found


def describe() -> str:
    """One line for logs and the bench: how this install runs its hot path."""
    found = compiled_modules()
    if not found:
        return "pure Python (MOODSCORE_COMPILE=1 pip install . compiles the hot path with mypyc)"
    if len(found) == len(MODULES):
        return f"compiled with mypyc ({len(found)} modules)"
    missing = sorted(set(MODULES) - set(found))
    return f"partly compiled with mypyc ({len(found)} of {len(MODULES)} modules; Python: {', '.join(missing)})"
