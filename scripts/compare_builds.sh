#!/usr/bin/env bash
# The host's own work (host_work: 100 sessions, 40 s of music on a virtual clock) in the plain
# build and the compiled one (the venv scripts/check_compiled.sh makes), both at once on one
# core, so they share its noise: alternating runs on this kind of machine drift by a third
# within minutes, a pair run together keeps its ratio. Usage: compare_builds.sh [ROUNDS] [CORE]
set -euo pipefail
rounds="${1:-3}"; core="${2:-1}"
compiled=/tmp/moodscore-compiled/bin/python
[ -x "$compiled" ] || { echo "no compiled build at $compiled: run scripts/check_compiled.sh first"; exit 1; }
code='from moodscore.host.bench import host_work; ms, digest = host_work(100, 40); print(f"{ms:.3f} {digest}")'
cd /tmp
for i in $(seq "$rounds"); do
  taskset -c "$core" python -c "$code" > /tmp/moodscore-plain.txt &
  taskset -c "$core" "$compiled" -c "$code" > /tmp/moodscore-compiled.txt &
  wait
  read -r p pd < /tmp/moodscore-plain.txt; read -r c cd < /tmp/moodscore-compiled.txt
  [ "$pd" = "$cd" ] || { echo "the builds' output differs: $pd against $cd"; exit 1; }
  echo "round $i: plain $p, compiled $c CPU ms per second of music per session ($(python -c "print(f'{1 - $c / $p:.0%} less')")), digest $pd"
done
