#!/usr/bin/env bash
# Rebuild the demo page's files in moodscore/demo/static/ from the npm registry (the versions in
# package-lock.json) and Debian's FluidR3_GM SoundFont (package fluid-soundfont-gm). Needs node
# and npm, python with moodscore importable, and that SoundFont; the result is committed, so
# `pip install . && moodscore demo` needs none of this. Extra arguments go to build.mjs
# (--quality Q for the Vorbis quality, --skip-soundfont to keep the SoundFont as it is).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
command -v npm >/dev/null || { echo "web/build.sh needs node and npm (Debian: apt-get install nodejs npm)" >&2; exit 1; }
npm ci --ignore-scripts --no-audit --no-fund
subset="$(mktemp)"
trap 'rm -f "$subset"' EXIT
(cd .. && python3 -m moodscore.demo.assets) > "$subset"
node build.mjs --subset "$subset" "$@"
