#!/usr/bin/env bash
# Fuzzes every file reader: builds the libFuzzer harnesses of tests/fuzz/ with clang, ASan and UBSan in build-fuzz/
# (CPU only) and runs each for SECONDS_EACH seconds (default 8: all six in under a minute) from its seed corpus
# (tests/fuzz/corpus/<reader>/) and what earlier runs found (build-fuzz/corpus/<reader>/). Exits non-zero when any
# harness found a crash, leak, sanitizer report, broken invariant, escaped exception or oversized allocation; the
# input is left in build-fuzz/findings/<reader>/, the log in build-fuzz/logs/. Replay one input:
#   build-fuzz/tests/fuzz/fuzz_<reader> FILE
# Usage:
#   bash scripts/fuzz.sh [SECONDS_EACH] [READER...]       e.g. bash scripts/fuzz.sh 600 npy idx
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-8}
shift || true
readers=("$@")
[ ${#readers[@]} -gt 0 ] || readers=(csv npy idx lower_distance config checkpoint)
if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz.sh needs clang++ with libFuzzer and OpenMP (Debian: clang libclang-rt-dev libomp-dev)" >&2
  exit 1
fi

cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DTOPOLATENT_CUDA=OFF -DTOPOLATENT_TESTS=ON -DTOPOLATENT_FUZZ=ON >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target "${readers[@]/#/fuzz_}"

failed=()
for reader in "${readers[@]}"; do
  corpus=build-fuzz/corpus/$reader findings=build-fuzz/findings/$reader log=build-fuzz/logs/$reader.log
  mkdir -p "$corpus" "$findings" build-fuzz/logs
  # One allocation above 256 MiB from an input of at most 4 KiB is a finding (a size taken on trust from the file).
  if ! OMP_NUM_THREADS=1 build-fuzz/tests/fuzz/fuzz_"$reader" -max_total_time="$seconds" -max_len=4096 \
    -malloc_limit_mb=256 -timeout=10 -print_final_stats=1 -artifact_prefix="$findings/" \
    "$corpus" tests/fuzz/corpus/"$reader" >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz_$reader: a finding; its input is in $findings/, the whole log in $log" >&2
    failed+=("$reader")
    continue
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  units=$(ls "$corpus" | wc -l)
  echo "fuzz_$reader: $runs inputs in $seconds s ($rate/s), no findings; corpus of $units in $corpus"
done
[ ${#failed[@]} -eq 0 ] || { echo "findings in: ${failed[*]}" >&2; exit 1; }
