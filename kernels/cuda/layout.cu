// CUDA data movement: tiled transpose, strided block copies along an axis, index_select, and a deterministic
// scatter-add: indices are stably sorted, then each target row sums its sources in increasing k, exactly the
// CPU's order, so the result is the same on every run.
#include <thrust/execution_policy.h>
#include <thrust/extrema.h>
#include <thrust/sequence.h>
#include <thrust/sort.h>

#include "core/base/cuda_check.h"
#include "core/base/memory.h"
#include "kernels/cuda/cuda_kernels.h"

namespace tl::kernels::cuda {
namespace {

constexpr int kTile = 32;

__global__ void transpose_kernel(const float* x, float* y, int64_t rows, int64_t cols) {
  __shared__ float tile[kTile][kTile + 1];  // +1 avoids shared-memory bank conflicts
  const int64_t r0 = int64_t(blockIdx.y) * kTile, c0 = int64_t(blockIdx.x) * kTile;
  for (int dy = threadIdx.y; dy < kTile; dy += blockDim.y) {
    const int64_t r = r0 + dy, c = c0 + threadIdx.x;
    if (r < rows && c < cols) tile[dy][threadIdx.x] = x[r * cols + c];
  }
  __syncthreads();
  for (int dy = threadIdx.y; dy < kTile; dy += blockDim.y) {
    const int64_t c = c0 + dy, r = r0 + threadIdx.x;
    if (c < cols && r < rows) y[c * rows + r] = tile[threadIdx.x][dy];
  }
}

template <class Index>
__global__ void index_select_kernel(const float* x, const Index* index, float* y, IndexGeometry g) {
  const int64_t total = g.outer * g.count * g.inner;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = t % g.inner, k = (t / g.inner) % g.count, o = t / (g.inner * g.count);
    y[t] = x[(o * g.src_axis + static_cast<int64_t>(index[k])) * g.inner + i];
  }
}

// One thread per (o, sorted position p, i); only the first position of each run of equal targets works,
// summing the run's sources in their original (increasing k) order.
__global__ void sorted_index_add_kernel(const float* gy, const int64_t* sorted_targets, const int64_t* sources,
                                        float* gx, IndexGeometry g) {
  const int64_t total = g.outer * g.count * g.inner;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = t % g.inner, p = (t / g.inner) % g.count, o = t / (g.inner * g.count);
    const int64_t target = sorted_targets[p];
    if (p > 0 && sorted_targets[p - 1] == target) continue;
    float* out = gx + (o * g.src_axis + target) * g.inner + i;
    float total_grad = *out;
    for (int64_t q = p; q < g.count && sorted_targets[q] == target; ++q)
      total_grad += gy[(o * g.count + sources[q]) * g.inner + i];
    *out = total_grad;
  }
}

template <class Index>
__global__ void widen_kernel(const Index* index, int64_t* out, int64_t n) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x)
    out[t] = static_cast<int64_t>(index[t]);
}

// Thrust temporary storage from the caching allocator.
struct ThrustAllocator {
  using value_type = char;
  char* allocate(std::ptrdiff_t bytes) {
    return static_cast<char*>(cuda_runtime::allocate(static_cast<size_t>(bytes)));
  }
  void deallocate(char* ptr, size_t) { cuda_runtime::deallocate(ptr); }
};

}  // namespace

void transpose(const float* x, float* y, int64_t rows, int64_t cols) {
  if (rows * cols == 0) return;
  const dim3 grid(static_cast<unsigned>((cols + kTile - 1) / kTile), static_cast<unsigned>((rows + kTile - 1) / kTile));
  transpose_kernel<<<grid, dim3(kTile, 8)>>>(x, y, rows, cols);
  TL_CUDA_CHECK_LAUNCH();
}

void copy_block(const float* src, float* dst, const AxisBlock& b) {
  if (b.outer * b.count * b.inner == 0) return;
  const size_t row_bytes = static_cast<size_t>(b.count * b.inner) * sizeof(float);
  TL_CUDA_CHECK(cudaMemcpy2D(dst + b.dst_start * b.inner, static_cast<size_t>(b.dst_axis * b.inner) * sizeof(float),
                             src + b.src_start * b.inner, static_cast<size_t>(b.src_axis * b.inner) * sizeof(float),
                             row_bytes, static_cast<size_t>(b.outer), cudaMemcpyDeviceToDevice));
}

void index_select(const float* x, const void* index, DType index_dtype, float* y, const IndexGeometry& g) {
  const int64_t total = g.outer * g.count * g.inner;
  if (total == 0) return;
  with_index_type(index_dtype, index,
                  [&](auto idx) { index_select_kernel<<<grid_size(total), kBlockSize>>>(x, idx, y, g); });
  TL_CUDA_CHECK_LAUNCH();
}

void index_add(const float* gy, const void* index, DType index_dtype, float* gx, const IndexGeometry& g) {
  const int64_t total = g.outer * g.count * g.inner;
  if (total == 0) return;
  ScratchBuffer targets(static_cast<size_t>(g.count) * sizeof(int64_t));
  ScratchBuffer sources(static_cast<size_t>(g.count) * sizeof(int64_t));
  int64_t* sorted_targets = static_cast<int64_t*>(targets.data());
  int64_t* source_positions = static_cast<int64_t*>(sources.data());
  with_index_type(index_dtype, index,
                  [&](auto idx) { widen_kernel<<<grid_size(g.count), kBlockSize>>>(idx, sorted_targets, g.count); });
  TL_CUDA_CHECK_LAUNCH();
  ThrustAllocator allocator;
  thrust::sequence(thrust::cuda::par(allocator), source_positions, source_positions + g.count);
  thrust::stable_sort_by_key(thrust::cuda::par(allocator), sorted_targets, sorted_targets + g.count, source_positions);
  sorted_index_add_kernel<<<grid_size(total), kBlockSize>>>(gy, sorted_targets, source_positions, gx, g);
  TL_CUDA_CHECK_LAUNCH();
}

void index_range(const void* index, DType index_dtype, int64_t n, int64_t* min_out, int64_t* max_out) {
  ThrustAllocator allocator;
  with_index_type(index_dtype, index, [&](auto idx) {
    const auto extremes = thrust::minmax_element(thrust::cuda::par(allocator), idx, idx + n);
    using Index = std::remove_const_t<std::remove_pointer_t<decltype(idx)>>;
    Index lo = 0, hi = 0;
    TL_CUDA_CHECK(cudaMemcpy(&lo, extremes.first, sizeof(Index), cudaMemcpyDeviceToHost));
    TL_CUDA_CHECK(cudaMemcpy(&hi, extremes.second, sizeof(Index), cudaMemcpyDeviceToHost));
    *min_out = lo;
    *max_out = hi;
  });
}

}  // namespace tl::kernels::cuda
