// CUDA random fills: one thread per element evaluating the shared Philox functions of core/base/philox.h, so the
// numbers equal the CPU fill's for the same (seed, offset).
#include "core/base/cuda_check.h"
#include "core/base/philox.h"
#include "kernels/cuda/cuda_kernels.h"

namespace tl::kernels::cuda {
namespace {

__global__ void uniform_kernel(float* y, int64_t n, uint64_t seed, uint64_t offset, float low, float high) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = philox::uniform_at(seed, offset, static_cast<uint64_t>(i), low, high);
}

__global__ void normal_kernel(float* y, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = philox::normal_at(seed, offset, static_cast<uint64_t>(i), mean, stddev);
}

}  // namespace

void random_uniform(float* y, int64_t n, uint64_t seed, uint64_t offset, float low, float high) {
  if (n == 0) return;
  uniform_kernel<<<grid_size(n), kBlockSize>>>(y, n, seed, offset, low, high);
  TL_CUDA_CHECK_LAUNCH();
}

void random_normal(float* y, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev) {
  if (n == 0) return;
  normal_kernel<<<grid_size(n), kBlockSize>>>(y, n, seed, offset, mean, stddev);
  TL_CUDA_CHECK_LAUNCH();
}

}  // namespace tl::kernels::cuda
