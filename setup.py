"""The build, as pyproject.toml declares it, plus one option: ``MOODSCORE_COMPILE=1 pip install .``
compiles the per-session hot path (``moodscore/compiled.py`` lists it) to C extensions with
mypyc, about a third less of the host's CPU per session with the same output. Without it the
package is plain Python. Compile regular installs and wheels, not editable ones: an extension
built beside its source keeps running the old code after the source is edited."""
from __future__ import annotations

import os
import runpy

from setuptools import setup

# what the compiling build needs: mypy (mypyc), and the packages whose types the code uses
BUILD_NEEDS = ["mypy>=1.8", "numpy>=1.24", "pydantic>=2.5"]


def _compiling() -> bool:
    value = os.environ.get("MOODSCORE_COMPILE", "").strip().lower()
    if value in ("", "0", "no", "false", "off"):
        return False
    if value in ("1", "yes", "true", "on"):
        return True
    raise SystemExit(f"MOODSCORE_COMPILE must be 1 (compile with mypyc) or 0 (plain Python), not {value!r}")


if not _compiling():
    setup()
else:
    modules = runpy.run_path(os.path.join("moodscore", "compiled.py"))["MODULES"]
    paths = [os.path.join(*name.split(".")) for name in modules]
    paths = [p + ".py" if os.path.isfile(p + ".py") else os.path.join(p, "__init__.py") for p in paths]
    try:
        from mypyc.build import mypycify
    except ImportError:  # a PEP 517 build asks for its needs first (setuptools raises with them)
        setup(setup_requires=BUILD_NEEDS)
    else:
        setup(ext_modules=mypycify(["--ignore-missing-imports", *paths], opt_level="3", group_name="moodscore"),
              setup_requires=BUILD_NEEDS)
