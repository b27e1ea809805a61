#!/usr/bin/env bash
# Sets up a fresh machine and runs the whole test suite: an optimised GCC build (with the CUDA backend compiled
# wherever nvcc exists) run by CTest, then a CPU-only clang build with AddressSanitizer, UndefinedBehaviorSanitizer
# and libFuzzer coverage: every file reader's fuzzer for a few seconds (scripts/fuzz.sh), then CTest again.
# Parity tests need a GPU and are reported as skipped without one.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
jobs=$(nproc)

echo "== release build (CUDA: $(command -v nvcc >/dev/null && echo on || echo off))"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== clang build (ASan + UBSan + fuzzing coverage, CPU backend): fuzzers, 8 s per file reader"
bash scripts/fuzz.sh 8  # configures build-fuzz and builds the harnesses

echo "== clang build: tests"
cmake --build build-fuzz -j "$jobs"
ctest --test-dir build-fuzz --output-on-failure -j "$jobs"
