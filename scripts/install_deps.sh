#!/usr/bin/env bash
# Installs what building and testing topolatent needs on a Debian machine: compilers (GCC; clang with libFuzzer
# and OpenMP for the sanitizer and fuzzing build), CMake, doctest, zlib, nlohmann/json, CLI11 (the tools' argument
# parser), Eigen (the evaluation metrics' small dense linear algebra), and OpenBLAS (benchmarks compare against it; the library never links it). The CUDA toolkit is optional
# and is used when nvcc is present; Open MPI runs data-parallel training (mpirun) and its tests. Packages already
# installed are left alone.
set -euo pipefail
packages=(build-essential cmake doctest-dev zlib1g-dev nlohmann-json3-dev libcli11-dev libeigen3-dev libopenblas-dev
          clang libclang-rt-dev libomp-dev chromium libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi
