#!/usr/bin/env bash
# run.sh — builds promobot and runs it on the embedded default config (console chat, SQLite file).
# usage: scripts/run.sh [CONFIG]      (default: config/promobot.example.json)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh run
[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
exec ./build/promobot --config "${1:-config/promobot.example.json}"
