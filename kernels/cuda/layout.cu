// CUDA data movement: tiled transpose, block copies along an axis, index_select, and a deterministic
// scatter-add: indices are stably sorted, then each target row sums its sources in increasing k, exactly the
// CPU's order, so the result is the same on every run.
#include <thrust/execution_policy.h>
#include <thrust/extrema.h>
#include <thrust/sequence.h>
#include <thrust/sort.h>

#include <algorithm>
#include <climits>

#include "core/base/cuda_check.h"
#include "core/base/memory.h"
#include "kernels/cuda/cuda_kernels.h"

namespace tl::kernels::cuda {
namespace {

constexpr int kTile = 32;

// The matrix is cut into kTile x kTile tiles, numbered row-major over a tile_rows x tile_cols grid; each block
// transposes tiles blockIdx.x, blockIdx.x + gridDim.x, ... through shared memory. A 1-D grid: a 2-D one with the
// row tiles in y stops at 65,535 x 32 rows.
__global__ void transpose_kernel(const float* x, float* y, int64_t rows, int64_t cols, int64_t tile_cols,
                                 int64_t tiles) {
  __shared__ float tile[kTile][kTile + 1];  // +1 avoids shared-memory bank conflicts
  for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
    const int64_t r0 = (t / tile_cols) * kTile, c0 = (t % tile_cols) * kTile;
    for (int dy = threadIdx.y; dy < kTile; dy += blockDim.y) {
      const int64_t r = r0 + dy, c = c0 + threadIdx.x;
      if (r < rows && c < cols) tile[dy][threadIdx.x] = x[r * cols + c];
    }
    __syncthreads();
    for (int dy = threadIdx.y; dy < kTile; dy += blockDim.y) {
      const int64_t c = c0 + dy, r = r0 + threadIdx.x;
      if (c < cols && r < rows) y[c * rows + r] = tile[threadIdx.x][dy];
    }
    __syncthreads();  // the next tile overwrites the shared one
  }
}

// For each outer index o, the run of count x inner floats at axis position src_start of src goes to position
// dst_start of dst; thread t copies element t % run of run t / run (grid-stride).
__global__ void copy_block_kernel(const float* src, float* dst, AxisBlock b) {
  const int64_t run = b.count * b.inner;
  const int64_t total = b.outer * run;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t o = t / run, j = t % run;
    dst[(o * b.dst_axis + b.dst_start) * b.inner + j] = src[(o * b.src_axis + b.src_start) * b.inner + j];
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
  const int64_t tile_cols = (cols + kTile - 1) / kTile;
  const int64_t tiles = (rows + kTile - 1) / kTile * tile_cols;
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(tiles, INT_MAX));  // grid.x limit: 2^31 - 1
  transpose_kernel<<<blocks, dim3(kTile, 8)>>>(x, y, rows, cols, tile_cols, tiles);
  TL_CUDA_CHECK_LAUNCH();
}

// One contiguous run (outer == 1) is a plain device copy; otherwise a kernel. Not cudaMemcpy2D: its pitches are
// limited (cudaDevAttrMaxPitch), and the row pitch of a large axis-0 concatenation exceeds the limit.
void copy_block(const float* src, float* dst, const AxisBlock& b) {
  if (b.outer * b.count * b.inner == 0) return;
  if (b.outer == 1) {
    TL_CUDA_CHECK(cudaMemcpy(dst + b.dst_start * b.inner, src + b.src_start * b.inner,
                             static_cast<size_t>(b.count * b.inner) * sizeof(float), cudaMemcpyDeviceToDevice));
    return;
  }
  copy_block_kernel<<<grid_size(b.outer * b.count * b.inner), kBlockSize>>>(src, dst, b);
  TL_CUDA_CHECK_LAUNCH();
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
  // par_nosync: the kernel below is queued behind the sort on the same (default) stream, so nothing waits here.
  ThrustAllocator allocator;
  TL_THRUST_CALL(thrust::sequence(thrust::cuda::par_nosync(allocator), source_positions, source_positions + g.count));
  TL_THRUST_CALL(thrust::stable_sort_by_key(thrust::cuda::par_nosync(allocator), sorted_targets,
                                            sorted_targets + g.count, source_positions));
  sorted_index_add_kernel<<<grid_size(total), kBlockSize>>>(gy, sorted_targets, source_positions, gx, g);
  TL_CUDA_CHECK_LAUNCH();
}

void index_range(const void* index, DType index_dtype, int64_t n, int64_t* min_out, int64_t* max_out) {
  ThrustAllocator allocator;
  with_index_type(index_dtype, index, [&](auto idx) {
    using Index = std::remove_const_t<std::remove_pointer_t<decltype(idx)>>;
    thrust::pair<const Index*, const Index*> extremes;
    TL_THRUST_CALL(extremes = thrust::minmax_element(thrust::cuda::par(allocator), idx, idx + n));
    cuda_runtime::record_synchronization();  // thrust::cuda::par waits for the result
    Index lo = 0, hi = 0;
    cuda_runtime::copy(&lo, Device::CPU, extremes.first, Device::CUDA, sizeof(Index));
    cuda_runtime::copy(&hi, Device::CPU, extremes.second, Device::CUDA, sizeof(Index));
    *min_out = lo;
    *max_out = hi;
  });
}

}  // namespace tl::kernels::cuda
