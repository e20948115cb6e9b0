#!/usr/bin/env bash
# Fetch, here (with the package registry), the wheels that `bench --gpu-check` needs on a GPU
# machine that has Python 3.12 and torch but no network, split into two folders that each stay
# under a 64 MiB transfer: .whl/a (CTranslate2, for recognition on CUDA) and .whl/b (the rest).
# See docs/gpu-check.md for how they are carried and installed.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${GPU_PYTHON_VERSION:-3.12}
fetch() {  # fetch DEST SPEC...
  local dest=$1; shift
  mkdir -p "$dest"
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$py" \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
    -d "$dest" "$@"
}
version() {  # the version this project's environment resolved, so both sides run the same code
  uv pip show "$1" 2>/dev/null | awk '/^Version:/ {print $2}'
}
rm -rf .whl
fetch .whl/a "ctranslate2==$(version ctranslate2)"
fetch .whl/b "faster-whisper==$(version faster-whisper)" "av==$(version av)" "moshi==$(version moshi)" \
  "soundfile==$(version soundfile)" "soxr==$(version soxr)" "platformdirs"
du -sh .whl/a .whl/b
