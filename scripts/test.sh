#!/usr/bin/env bash
# test.sh - installs what is missing, then builds and runs the whole test suite twice:
# plain with -Werror, and under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc)

echo "== build (plain, -Werror) =="
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAJ_WERROR=ON >/dev/null
cmake --build build-test -j"$jobs"
echo "== tests (plain) =="
(cd build-test && ctest --output-on-failure -j"$jobs")

echo "== build (ASan + UBSan, -Werror) =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DAJ_WERROR=ON -DAJ_ASAN=ON -DAJ_UBSAN=ON -DAJ_BENCHMARKS=OFF >/dev/null
cmake --build build-asan -j"$jobs"
echo "== tests (ASan + UBSan) =="
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
   ctest --output-on-failure -j"$jobs")
echo "== all tests passed, plain and under ASan+UBSan =="
