#!/usr/bin/env bash
# The first-GPU check: on a machine with an NVIDIA GPU, builds for that GPU's architecture, runs the CPU-vs-CUDA
# parity suite (kernels faulting at their own launch, fresh device blocks poisoned with NaN), then compute-sanitizer
# memcheck over it and racecheck / synccheck over its persistence cases, the data-parallel collectives over NCCL
# (mpirun, one process per GPU), then the GPU benchmarks (persistence of 64
# clouds against one CPU core; the reference-VAE and TALSR training steps at batch 128 and 512 and the conv-VAE step,
# CUDA against the CPU), and writes every figure with device, driver, date and commit to
# bench/results/gpu_<date>.md. Each stage has a time limit and the whole run a budget (8 minutes by default); it ends
# with a summary of what failed and exits 1 when anything did.
#
#   bash scripts/gpu_check.sh                      on the GPU machine
#   bash scripts/gpu_check.sh --prepare DIR        on a machine with apt and the data: gathers into DIR what a GPU
#                                                  machine without network needs (header packages, Fashion-MNIST)
#   bash scripts/gpu_check.sh --dry-run            without a GPU: every step up to the first that needs one (the
#                                                  build for sm_90 and the parity suite's skip), report in the build folder
# Environment: TL_GPU_DEPS=DIR (the prepared folder), TL_FASHION_MNIST (IDX directory; default DIR/fashion-mnist or
# /usr/share/datasets/fashion-mnist), TL_COMMIT (when the copy has no .git), TL_GPU_BUDGET_S (default 480),
# TL_GPU_BUILD_DIR (default build-gpu), OUT (where a copy of the report and logs goes, when set).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--prepare" ]; then
  dir=${2:?usage: gpu_check.sh --prepare DIR}
  mkdir -p "$dir/debs" "$dir/fashion-mnist"
  (cd "$dir/debs" && apt-get download doctest-dev nlohmann-json3-dev libcli11-dev libeigen3-dev zlib1g-dev) || exit 1
  cp /usr/share/datasets/fashion-mnist/*.gz "$dir/fashion-mnist/" || exit 1
  du -sh "$dir"
  exit 0
fi

dry_run=0
[ "${1:-}" = "--dry-run" ] && dry_run=1

start=$(date +%s)
budget=${TL_GPU_BUDGET_S:-480}
date_tag=$(date -u +%Y-%m-%d)
build=${TL_GPU_BUILD_DIR:-build-gpu}
logs=$build/gpu_check_logs
mkdir -p "$logs"
report=bench/results/gpu_${date_tag}.md
[ $dry_run -eq 1 ] && report=$build/gpu_check_dry_run.md
failures=()
rows=()

elapsed() { echo $(($(date +%s) - start)); }
left() { echo $((budget - $(elapsed))); }

# stage NAME LIMIT_S COMMAND...: runs a command (or a function of this script) with its output in $logs/NAME.log;
# records a pass, a failure, a time-out, a skip by the program (exit 77), or a skip when the budget left is under a
# quarter of the stage's limit.
stage() {
  local name=$1 limit=$2
  shift 2
  local remaining
  remaining=$(left)
  if [ "$remaining" -lt $((limit / 4)) ]; then
    rows+=("| $name | skipped: $remaining s of the budget left |")
    failures+=("$name (skipped: out of time)")
    return 1
  fi
  [ "$limit" -gt "$remaining" ] && limit=$remaining
  local t0 status
  t0=$(date +%s)
  echo "== $name (limit ${limit} s)"
  timeout --kill-after=10 "$limit" bash -c "$(declare -f "$1" 2>/dev/null)
\"\$@\"" _ "$@" >"$logs/$name.log" 2>&1
  status=$?
  tail -n 15 "$logs/$name.log"
  local took=$(($(date +%s) - t0))
  if [ $status -eq 0 ]; then
    rows+=("| $name | passed in $took s |")
  elif [ $status -eq 77 ]; then
    rows+=("| $name | skipped by the program: $(grep -m1 SKIPPED "$logs/$name.log" | cut -c1-160) |")
    [ $dry_run -eq 0 ] && failures+=("$name (skipped: no usable GPU)")
  elif [ $status -eq 124 ] || [ $status -eq 137 ]; then
    rows+=("| $name | TIMED OUT after $took s |")
    failures+=("$name (timed out)")
  else
    rows+=("| $name | FAILED (exit $status) in $took s: $(grep -m1 -iE 'error|fail' "$logs/$name.log" | cut -c1-160) |")
    failures+=("$name (exit $status; $logs/$name.log)")
  fi
  return $status
}

# The machine.
gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>/dev/null | head -1)
if [ $dry_run -eq 1 ]; then
  gpu="none (dry run), sm_90 assumed"
  arch=90
elif [ -z "$gpu" ]; then
  echo "gpu_check: nvidia-smi finds no GPU; this check needs one (without: --dry-run, or bash scripts/test.sh)" >&2
  exit 1
else
  arch=$(echo "$gpu" | awk -F', ' '{print $4}' | tr -d '.')
fi
commit=${TL_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
if [ -z "${TL_COMMIT:-}" ] && git rev-parse HEAD >/dev/null 2>&1 && ! git diff --quiet HEAD; then commit="$commit with uncommitted changes"; fi
nvcc_version=$(nvcc --version | tail -1)
echo "gpu_check: $gpu; nvcc $nvcc_version; commit $commit; budget $budget s"

# Header-only dependencies a bare machine lacks, unpacked into a private prefix (never into /).
cmake_args=(-DCMAKE_BUILD_TYPE=Release "-DCMAKE_CUDA_ARCHITECTURES=$arch" -DTOPOLATENT_CUDA=ON)
if [ -n "${TL_GPU_DEPS:-}" ]; then
  prefix=/tmp/tl_gpu_deps
  for deb in "$TL_GPU_DEPS"/debs/*.deb; do dpkg -x "$deb" "$prefix"; done
  # Debian's doctest targets name /usr itself as their prefix: point them at the unpacked copy.
  sed -i "s|set(_IMPORT_PREFIX \"/usr\")|set(_IMPORT_PREFIX \"$prefix/usr\")|" "$prefix"/usr/lib/cmake/doctest/doctestTargets.cmake
  cmake_args+=("-DCMAKE_PREFIX_PATH=$prefix/usr" "-DCMAKE_INCLUDE_PATH=$prefix/usr/include")
  if [ ! -e /usr/include/zlib.h ]; then
    zlib=$(ldconfig -p | awk '/libz\.so\.1 .*x86-64/ {print $NF; exit}')
    cmake_args+=("-DZLIB_INCLUDE_DIR=$prefix/usr/include" "-DZLIB_LIBRARY=$zlib")
  fi
fi
# cuDNN from the toolkit, else from the Python image's nvidia-cudnn wheel.
if ! ls "$(dirname "$(dirname "$(command -v nvcc)")")"/include/cudnn.h >/dev/null 2>&1; then
  cudnn=$(python3 -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))' 2>/dev/null)
  [ -z "$cudnn" ] && cudnn=$(python3 -c 'import nvidia.cudnn; print(list(nvidia.cudnn.__path__)[0])' 2>/dev/null)
  if [ -n "$cudnn" ]; then
    library=$(ls "$cudnn"/lib/libcudnn.so* 2>/dev/null | head -1)
    cmake_args+=("-DCUDNN_INCLUDE_DIR=$cudnn/include" "-DCUDNN_LIBRARY=$library")
    export LD_LIBRARY_PATH="$cudnn/lib:${LD_LIBRARY_PATH:-}"
  fi
fi
generator=()
command -v ninja >/dev/null && [ ! -f "$build/CMakeCache.txt" ] && generator=(-G Ninja)

# configure_and_build BUILD_DIR CMAKE_ARGS...
configure_and_build() {
  local dir=$1
  shift
  cmake -S . -B "$dir" "$@" && cmake --build "$dir" -j "$(nproc)" --target topolatent_parity bench_persistence bench_train_step
}
if ! stage build 300 configure_and_build "$build" "${generator[@]}" "${cmake_args[@]}"; then
  echo "gpu_check: the build failed; see $logs/build.log" >&2
fi

data=${TL_FASHION_MNIST:-}
if [ -z "$data" ]; then
  if [ -n "${TL_GPU_DEPS:-}" ] && [ -d "$TL_GPU_DEPS/fashion-mnist" ]; then data=$TL_GPU_DEPS/fashion-mnist; else
    data=/usr/share/datasets/fashion-mnist; fi
fi

parity=$build/tests/topolatent_parity
if [ -x "$parity" ]; then
  export CUDA_LAUNCH_BLOCKING=1 TL_CUDA_POISON=1 OMP_NUM_THREADS=4
  stage parity 120 "$parity"
  persistence_cases='*persist*,*spanning*,*distance*,*diagram*'
  if [ $dry_run -eq 1 ]; then
    rows+=("| sanitizers, benchmarks | not run: dry run |")
  elif command -v compute-sanitizer >/dev/null; then
    # memcheck without the cases sized to cross grid and pitch limits (gigabytes; far too slow under it).
    stage memcheck 150 compute-sanitizer --tool memcheck --error-exitcode 99 "$parity" \
      -tce="*more than 2 GiB*,*more clouds than a grid*,*tile rows equal the CPU*,*capped grid*"
    stage racecheck 60 compute-sanitizer --tool racecheck --error-exitcode 99 "$parity" -tc="$persistence_cases"
    stage synccheck 60 compute-sanitizer --tool synccheck --error-exitcode 99 "$parity" -tc="$persistence_cases"
  else
    rows+=("| sanitizers | skipped: compute-sanitizer not found |")
    failures+=("sanitizers (compute-sanitizer not found)")
  fi
  unset CUDA_LAUNCH_BLOCKING TL_CUDA_POISON
  # The data-parallel collectives over NCCL: one process per GPU under mpirun (Open MPI must be installed here). On
  # one GPU this is a one-rank communicator: NCCL's set-up and all-gather run, the rank order is not exercised.
  if [ $dry_run -eq 1 ]; then
    rows+=("| nccl | not run: dry run |")
  elif command -v mpirun >/dev/null; then
    gpus=$(nvidia-smi --query-gpu=count --format=csv,noheader | head -1)
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    stage nccl 60 mpirun -np "$gpus" --oversubscribe \
      "$parity" -tc='*data-parallel collectives*'
  else
    rows+=("| nccl | skipped: no mpirun on this machine (Open MPI) |")
    failures+=("nccl (no mpirun)")
  fi
fi

# benchmarks BUILD_DIR FASHION_MNIST_DIR
benchmarks() {
  local b=$1/bench data=$2
  "$b/bench_persistence" --gpu-batch || return 1
  [ -d "$data" ] || { echo "no Fashion-MNIST at $data (set TL_FASHION_MNIST)"; return 1; }
  for batch in 128 512; do
    for device in cuda cpu; do
      "$b/bench_train_step" --data "$data" --batch "$batch" --steps 30 --warmup 5 --device "$device" || return 1
    done
  done
  for device in cuda cpu; do
    "$b/bench_train_step" --data "$data" --model topogen_conv_vae --batch 128 --steps 20 --warmup 3 \
      --device "$device" || return 1
  done
}
[ $dry_run -eq 0 ] && [ -x "$build/bench/bench_train_step" ] &&
  OMP_NUM_THREADS=$(nproc) stage benchmarks 150 benchmarks "$build" "$data"

# The report.
{
  echo "# GPU check, $date_tag"
  echo
  echo "- Device: $gpu (name, driver, memory, compute capability)"
  echo "- Host: $(nproc) CPU threads ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)); nvcc: $nvcc_version"
  echo "- Commit: $commit; built for sm_$arch; scripts/gpu_check.sh, $(elapsed) s in all"
  echo "- CPU figures: persistence on one core; training steps with OMP_NUM_THREADS=$(nproc)"
  echo
  echo "| stage | result |"
  echo "| --- | --- |"
  printf '%s\n' "${rows[@]}"
  echo
  if [ -f "$logs/parity.log" ]; then
    echo "## Parity suite"
    echo
    echo '```'
    grep -E '^\[doctest\] (test cases|assertions|Status)' "$logs/parity.log"
    echo '```'
    echo
  fi
  if [ -f "$logs/benchmarks.log" ]; then
    echo "## Benchmarks (medians after warm-up)"
    echo
    echo '```'
    grep -vE '^(\[|==)' "$logs/benchmarks.log"
    echo '```'
  fi
  if [ ${#failures[@]} -gt 0 ]; then
    echo
    echo "## Failed"
    echo
    printf -- '- %s\n' "${failures[@]}"
  fi
} >"$report"
if [ -n "${OUT:-}" ]; then
  cp "$report" "$OUT/"
  tar czf "$OUT/gpu_check_logs.tar.gz" -C "$build" gpu_check_logs
fi

echo
echo "gpu_check: report in $report ($(elapsed) s)"
if [ ${#failures[@]} -gt 0 ]; then
  echo "gpu_check: FAILED: ${failures[*]}"
  exit 1
fi
echo "gpu_check: everything passed"
