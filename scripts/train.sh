#!/usr/bin/env bash
# The main job on a fresh machine: installs the build tools and Debian's Fashion-MNIST, builds the release
# binaries (CUDA compiled wherever nvcc exists), trains the config given (default: the reference VAE on
# Fashion-MNIST), writing runs/<name>/report.md, then measures it with tl_evaluate into runs/<name>/evaluation.md
# (for image data in the features of the LeNet-style classifier, trained once into runs/lenet/).
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
cmake --build build -j "$(nproc)" --target tl_train tl_classify tl_evaluate
config=configs/fashion_mnist_vae.json
if [ $# -gt 0 ] && [[ "$1" != *=* ]]; then
  config=$1
  shift
fi
train_output=$(mktemp)
trap 'rm -f "$train_output"' EXIT
./build/apps/tl_train "$config" "$@" | tee "$train_output"
checkpoint=$(grep -o 'checkpoint [^ ]*\.tlc' "$train_output" | tail -1 | cut -d' ' -f2)
classifier=()
if grep -q '"source": *"idx"' "$config"; then
  [ -e runs/lenet/lenet.tlc ] || ./build/apps/tl_classify /usr/share/datasets/fashion-mnist --out runs/lenet
  classifier=(--classifier runs/lenet/lenet.tlc)
fi
./build/apps/tl_evaluate "$checkpoint" "${classifier[@]}"
