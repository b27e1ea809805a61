// CUDA reductions: a sum over one axis with one thread per output summing in increasing k (the CPU order),
// the sum of everything and the sum of squares through CUB's device-wide reductions accumulated in double (as the
// CPU's chunked sums are), and row-wise log-softmax.
#include <cub/device/device_reduce.cuh>
#include <cuda/std/functional>

#include "core/base/cuda_check.h"
#include "core/base/memory.h"
#include "kernels/cuda/cuda_kernels.h"

namespace tl::kernels::cuda {
namespace {

__global__ void sum_axis_kernel(const float* x, float* y, int64_t outer, int64_t len, int64_t inner) {
  const int64_t outputs = outer * inner;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < outputs; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t o = t / inner, i = t % inner;
    const float* column = x + o * len * inner + i;
    float total = 0.0f;
    for (int64_t k = 0; k < len; ++k) total += column[k * inner];
    y[t] = total;
  }
}

__global__ void log_softmax_rows_kernel(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows; r += int64_t(gridDim.x) * blockDim.x)
    log_softmax_row(x + r * cols, y + r * cols, cols);
}

struct ToDouble {
  __device__ double operator()(float v) const { return static_cast<double>(v); }
};

struct SquareToDouble {
  __device__ double operator()(float v) const { return static_cast<double>(v) * v; }
};

__global__ void round_to_float_kernel(const double* x, float* y) {
  *y = static_cast<float>(*x);
}

// *total (device memory) = the sum of transform(x[i]) over n > 0 elements, accumulated in double.
template <class Transform>
void sum_in_double(const float* x, int64_t n, Transform transform, double* total) {
  size_t scratch_bytes = 0;
  TL_CUDA_CHECK(cub::DeviceReduce::TransformReduce(nullptr, scratch_bytes, x, total, n, ::cuda::std::plus<double>(),
                                                   transform, 0.0));
  ScratchBuffer scratch(scratch_bytes);
  TL_CUDA_CHECK(cub::DeviceReduce::TransformReduce(scratch.data(), scratch_bytes, x, total, n,
                                                   ::cuda::std::plus<double>(), transform, 0.0));
}

}  // namespace

void sum_axis(const float* x, float* y, int64_t outer, int64_t len, int64_t inner) {
  if (outer * inner == 0) return;
  sum_axis_kernel<<<grid_size(outer * inner), kBlockSize>>>(x, y, outer, len, inner);
  TL_CUDA_CHECK_LAUNCH();
}

void sum_all(const float* x, float* y, int64_t n) {
  if (n == 0) {
    fill(y, 1, 0.0f);
    return;
  }
  ScratchBuffer result(sizeof(double));
  double* total = static_cast<double*>(result.data());
  sum_in_double(x, n, ToDouble(), total);
  round_to_float_kernel<<<1, 1>>>(total, y);  // rounded once, as the CPU's static_cast<float>
  TL_CUDA_CHECK_LAUNCH();
}

void log_softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  if (rows * cols == 0) return;
  log_softmax_rows_kernel<<<grid_size(rows), kBlockSize>>>(x, y, rows, cols);
  TL_CUDA_CHECK_LAUNCH();
}

double sum_squares(const float* x, int64_t n) {
  if (n == 0) return 0.0;
  ScratchBuffer result(sizeof(double));
  double* total = static_cast<double*>(result.data());
  sum_in_double(x, n, SquareToDouble(), total);
  double host = 0.0;
  cuda_runtime::copy(&host, Device::CPU, total, Device::CUDA, sizeof(double));
  return host;
}

}  // namespace tl::kernels::cuda
