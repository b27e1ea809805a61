#!/usr/bin/env bash
# The main job on a fresh machine: installs the build tools and Debian's Fashion-MNIST, builds the release
# binaries (CUDA compiled wherever nvcc exists), trains the config given (default: the reference VAE on
# Fashion-MNIST) and evaluates it on the test split, writing runs/<name>/report.md and report.json.
#
#   bash scripts/train.sh [CONFIG.json] [key.path=value ...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq dataset-fashion-mnist
fi
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target tl_train
config=configs/fashion_mnist_vae.json
if [ $# -gt 0 ] && [[ "$1" != *=* ]]; then
  config=$1
  shift
fi
./build/apps/tl_train "$config" "$@"
