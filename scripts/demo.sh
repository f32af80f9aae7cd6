#!/usr/bin/env bash
# demo.sh - installs what is missing, builds ajuste and runs `ajuste demo` (no server needed).
# Extra arguments go to `ajuste demo` (e.g. --json, --records 100000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DAJ_TESTS=OFF -DAJ_BENCHMARKS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target ajuste >/dev/null
exec build/cmd/ajuste demo "$@"
