#!/usr/bin/env bash
# The compiled build (MOODSCORE_COMPILE=1 pip install ., setup.py): it builds from this tree,
# runs every module it lists as a C extension, passes the tests of the code it compiles (and of
# Ray Serve, whose snapshots pickle compiled objects), and
# gives the same output as the plain build that ran the whole suite (the host's sessions over a
# minute of music, and a generated MIDI file, byte for byte). Run after scripts/test.sh.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv=/tmp/moodscore-compiled
rm -rf "$venv"
# the plain environment's packages (pytest, the models' runtimes) are seen; this venv's own
# moodscore, the compiled one, comes first
python -m venv --system-site-packages "$venv"
MOODSCORE_COMPILE=1 "$venv/bin/pip" install -q --no-deps "$repo"
cd /tmp  # not the source tree: import the installed package
"$venv/bin/python" - <<'PY'
from moodscore.compiled import MODULES, compiled_modules, describe
assert compiled_modules() == list(MODULES), describe()
print("compiled build:", describe())
PY
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$repo/tests/arranger" "$repo/tests/engine" "$repo/tests/host" \
  "$repo/tests/models" "$repo/tests/scale" \
  "$repo/tests/test_compiled.py" \
  --ignore="$repo/tests/models/test_parity.py" \
  -k "not test_the_export_code_rebuilds"
# (those compare torch's checkpoints, which an install does not carry, with the ONNX graphs)
same() {  # the same text from both builds
  a="$(python -c "$1")"; b="$("$venv/bin/python" -c "$1")"
  [ "$a" = "$b" ] || { echo "the compiled build differs: $a against $b ($1)"; exit 1; }
  echo "both builds: $a"
}
same "from moodscore.host.bench import host_work; print(host_work(60, 60)[1])"
python -m moodscore.cli generate -v -0.4 -a 0.6 --bars 16 --seed 3 -o /tmp/moodscore-plain.mid > /dev/null
"$venv/bin/python" -m moodscore.cli generate -v -0.4 -a 0.6 --bars 16 --seed 3 -o "$venv/compiled.mid" > /dev/null
cmp /tmp/moodscore-plain.mid "$venv/compiled.mid"
echo "compiled build: the same host output and the same MIDI file as the plain build"
