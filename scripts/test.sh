#!/usr/bin/env bash
# Sets up a fresh machine and runs the whole test suite: an optimised build (with the CUDA backend compiled
# wherever nvcc exists) and a CPU-only AddressSanitizer + UndefinedBehaviorSanitizer build, each run by CTest.
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

echo "== sanitizer build (ASan + UBSan, CPU backend)"
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DTOPOLATENT_CUDA=OFF -DTOPOLATENT_SANITIZE=ON
cmake --build build-sanitize -j "$jobs"
ctest --test-dir build-sanitize --output-on-failure -j "$jobs"
