"""``moodscore render --ray``: many cue sheets rendered at once, one Ray task each.

Each task runs the very render of ``moodscore render`` (same model, template and seed, so the
same bytes as one at a time) into a file of its own, and hands back the bytes; the driver
writes ``<folder>/<sheet name>.mid`` atomically. Every sheet is checked before any task starts.
Ray joins the cluster at ``RAY_ADDRESS`` or starts a local one.

Public API: :func:`render_sheets`.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from ..errors import ConfigError
from ..export.atomic import atomic_write_bytes
from ..film import cuesheet


def _render_one(path: str, fps: str | None, model: str, seed: int, preset: str | None) -> bytes:
    from ..engine.template import Template, load_preset
    from ..film.render import render

    sheet = cuesheet.load(Path(path), fps)
    template = load_preset(preset) if preset else Template()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "cue.mid"
        render(sheet, out, model=model, template=template, seed=seed)
        return out.read_bytes()


def render_sheets(paths: list[Path], folder: Path, *, fps: str | None = None, model: str = "abc",
                  seed: int = 0, preset: Path | None = None) -> list[Path]:
    """Render every sheet in ``paths`` as a Ray task; the MIDI files written, in order."""
    import ray

    names = [p.stem for p in paths]
    if len(set(names)) != len(names):
        raise ConfigError("cue sheets must have different names: each becomes <folder>/<name>.mid")
    for p in paths:
        cuesheet.load(p, fps)  # every sheet checked before anything is made
    folder.mkdir(parents=True, exist_ok=True)
    if not ray.is_initialized():
        ray.init(log_to_driver=False, include_dashboard=False)
    task = ray.remote(_render_one)
    refs = [task.remote(str(p), fps, model, seed, str(preset) if preset else None) for p in paths]
    written = []
    for name, data in zip(names, ray.get(refs)):
        target = folder / f"{name}.mid"
        atomic_write_bytes(target, data)
        written.append(target)
    return written
