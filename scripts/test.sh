#!/usr/bin/env bash
# All set-up for the tests, then the tests: the Debian packages the engine is tested against
# (a JACK server, FluidSynth with a GM soundfont, PortAudio for the embedded synth, liblo's
# oscsend), the train and test extras (torch's CPU build, music21, pytest), then pytest. Extra
# arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

need=(jackd2 fluidsynth libfluidsynth3 libportaudio2 fluid-soundfont-gm liblo-tools mono-mcs mono-runtime godot3-server chromium
      gcc libc6-dev)  # (the C compiler: the compiled build, scripts/check_compiled.sh)
missing=()
for pkg in "${need[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

pip install -q -e ".[train,test,film,tracker,scale]"
python -m pytest -q "$@"
