#!/usr/bin/env bash
# Build the standalone one-folder bundle dist/dia2chat/ with PyInstaller, then smoke-test it.
#
#   packaging/build.sh              build, then run the smoke commands
#   packaging/build.sh --no-smoke   build only
#
# PyInstaller is not a project dependency: `uv run --with` adds it to a throw-away overlay of the
# project's environment for this run only. The smoke commands run the bundle from a temporary
# folder with a clean environment (no PYTHONPATH, no virtual environment on PATH, HF_HUB_OFFLINE=1
# and an empty model cache), so they show it works without Python or a network:
#   dia2chat --version
#   dia2chat say --demo -o x.wav       (tiny random models built into a temporary folder)
#   dia2chat chat --list-characters    (the shipped characters are found)
#   dia2chat chat --demo --headless    (Whisper base and SmolLM2 from the bundle, codec and
#                                       recording, from espeak-ng speech of a question)
#   dia2chat doctor --demo --no-audio  (exit 0: nothing needed for the demo is missing)
#   dia2chat bench --echo --rooms dry  (WebRTC's echo canceller from livekit's native library)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
smoke=1
[ "${1:-}" = "--no-smoke" ] && smoke=0

start=$(date +%s)
uv run --with "pyinstaller>=6.10" pyinstaller --noconfirm --log-level WARN \
  --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" packaging/dia2chat.spec
built=$(date +%s)
BUNDLE="$ROOT/dist/dia2chat"
echo "built $BUNDLE in $((built - start)) s; size $(du -sh "$BUNDLE" | cut -f1)"

[ "$smoke" = 1 ] || exit 0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() {  # the bundle, from an empty folder, with a minimal environment
  (cd "$tmp" && env -i HOME="$tmp/home" PATH=/usr/bin:/bin LANG=C.UTF-8 \
     XDG_CACHE_HOME="$tmp/cache" XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" \
     DIA2CHAT_DEMO_DIR="$tmp/demo" HF_HUB_CACHE="$tmp/hf" HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 \
     "$BUNDLE/dia2chat" "$@")
}
mkdir -p "$tmp/home"

version=$(run --version)
echo "smoke: --version -> $version"
case "$version" in *" 0."* | *" 1."*) ;; *) echo "unexpected --version output" >&2; exit 1 ;; esac

run say "[S1] Hello from the bundle. [S2] Hi!" --demo --seed 1 -o "$tmp/x.wav"
size=$(stat -c %s "$tmp/x.wav")
[ "$size" -gt 44 ] || { echo "say --demo wrote no audio" >&2; exit 1; }
echo "smoke: say --demo -> x.wav, $size bytes"

characters=$(run chat --list-characters)
case "$characters" in *resources/characters/ava.toml*) ;;
  *) echo "chat --list-characters: the shipped characters are missing" >&2; exit 1 ;; esac
echo "smoke: chat --list-characters finds the shipped characters"

espeak-ng -s 140 -w "$tmp/q.wav" "Hello there. Can you tell me the way to the train station?"
run chat --demo --headless --no-greeting --user-audio "$tmp/q.wav" --out "$tmp/session" > "$tmp/chat.txt" 2>&1
grep -q "station" "$tmp/chat.txt" || { echo "chat --demo did not recognise the question:" >&2;
  cat "$tmp/chat.txt" >&2; exit 1; }
for f in person.wav character.wav mix.wav transcript.json transcript.srt; do
  [ -s "$tmp/session/$f" ] || { echo "chat --headless did not write $f" >&2; exit 1; }
done
echo "smoke: chat --demo --headless recognised the question and recorded a session"

cublas=()
if [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ]; then  # CTranslate2's CUDA 12 libraries
  cublas=(libcublas.so.12 libcublasLt.so.12 libnvrtc.so.12)
fi
for f in faster_whisper/assets/silero_vad_v6.onnx libportaudio.so.2 \
         livekit/rtc/resources/liblivekit_ffi.so "${cublas[@]}"; do
  [ -f "$BUNDLE/_internal/$f" ] || { echo "the bundle lacks $f" >&2; exit 1; }
done

run doctor --demo --no-audio
echo "smoke: doctor --demo passed"

mkdir -p "$tmp/speech" && cp "$tmp/x.wav" "$tmp/speech/a.wav" && cp "$tmp/x.wav" "$tmp/speech/b.wav"
run bench --echo --rooms dry --seconds 20 --trials 1 --ratios 0 --speech "$tmp/speech" --asr-model none \
  > "$tmp/echo.md"
grep -q "| dry | aec3 |" "$tmp/echo.md" || { echo "bench --echo: no AEC3 figures" >&2; exit 1; }
echo "smoke: bench --echo ran WebRTC's echo canceller (livekit's native library)"
if [ "${#cublas[@]}" -gt 0 ]; then  # the bundle opens its own copy (no GPU is needed for that)
  report=$(run doctor --demo --no-audio --json || true)
  case "$report" in *"\"$BUNDLE/_internal/libcublas.so.12\""*) ;;
    *) echo "doctor: recognition does not open the bundle's CUDA 12 cuBLAS" >&2; exit 1 ;; esac
  case "$report" in *'"cuda_libs_ok": true'*) ;;
    *) echo "doctor: the bundle's CUDA 12 cuBLAS did not open" >&2; exit 1 ;; esac
  [ ! -e "$BUNDLE/_internal/nvidia/cublas" ] || { echo "a second copy of cuBLAS 12" >&2; exit 1; }
  echo "smoke: recognition opens the bundle's CUDA 12 cuBLAS"
fi
echo "bundle OK in $(( $(date +%s) - start )) s"
