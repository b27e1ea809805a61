#!/usr/bin/env bash
# The main job on a fresh machine: installs the build tools and Debian's Fashion-MNIST, builds the release
# binaries (CUDA compiled wherever nvcc exists), then
#   bash scripts/train.sh                        runs experiments/fashion_mnist_talsr.json (quick profile): the
#                                                reference VAE and a TALSR VAE over 5 seeds, each evaluated by
#                                                tl_evaluate, compared in runs/experiments/fashion_mnist_talsr/
#                                                report.html (about 4 minutes after the build on 2 idle cores);
#   bash scripts/train.sh experiments/X.json [--profile full] [--jobs 2]    another experiment;
#   bash scripts/train.sh configs/X.json [key.path=value ...]              one run of tl_train, then tl_evaluate
#                                                (for image data in the features of the LeNet-style classifier,
#                                                trained once into runs/lenet/).
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
echo "== build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target tl_train tl_classify tl_evaluate tl_experiment

target=experiments/fashion_mnist_talsr.json
if [ $# -gt 0 ] && [[ "$1" == *.json ]]; then
  target=$1
  shift
fi
if [[ "$target" == experiments/* ]]; then
  echo "== experiment $target (progress per run below; each run's output in its run.log)"
  exec ./build/apps/tl_experiment "$target" "$@"
fi

echo "== train $target"
train_output=$(mktemp)
trap 'rm -f "$train_output"' EXIT
./build/apps/tl_train "$target" "$@" | tee "$train_output"
checkpoint=$(grep -o 'checkpoint [^ ]*\.tlc' "$train_output" | tail -1 | cut -d' ' -f2)
classifier=()
if grep -q '"source": *"idx"' "$target"; then
  if [ ! -e runs/lenet/lenet.tlc ]; then
    echo "== classifier (the feature space of the generation metrics)"
    ./build/apps/tl_classify /usr/share/datasets/fashion-mnist --out runs/lenet
  fi
  classifier=(--classifier runs/lenet/lenet.tlc)
fi
echo "== evaluate $checkpoint"
./build/apps/tl_evaluate "$checkpoint" "${classifier[@]}"
