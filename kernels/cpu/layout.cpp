// CPU data movement: transpose, block copies along an axis (concat / slice), and indexed gather with its
// deterministic scatter-add backward.
#include <cstring>
#include <limits>

#include "core/base/error.h"
#include "kernels/cpu/cpu_kernels.h"

namespace tl::kernels::cpu {

void transpose(const float* x, float* y, int64_t rows, int64_t cols) {
  constexpr int64_t kTile = 32;
#pragma omp parallel for collapse(2) schedule(static) if (rows * cols >= kParallelGrain)
  for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
    for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
      const int64_t r1 = std::min(rows, r0 + kTile), c1 = std::min(cols, c0 + kTile);
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = c0; c < c1; ++c) y[c * rows + r] = x[r * cols + c];
    }
  }
}

void copy_block(const float* src, float* dst, const AxisBlock& b) {
  const size_t bytes = static_cast<size_t>(b.count * b.inner) * sizeof(float);
  for (int64_t o = 0; o < b.outer; ++o) {
    std::memcpy(dst + (o * b.dst_axis + b.dst_start) * b.inner, src + (o * b.src_axis + b.src_start) * b.inner, bytes);
  }
}

void index_select(const float* x, const void* index, DType index_dtype, float* y, const IndexGeometry& g) {
  with_index_type(index_dtype, index, [&](auto idx) {
    for (int64_t o = 0; o < g.outer; ++o)
      for (int64_t k = 0; k < g.count; ++k)
        std::memcpy(y + (o * g.count + k) * g.inner, x + (o * g.src_axis + idx[k]) * g.inner,
                    static_cast<size_t>(g.inner) * sizeof(float));
  });
}

void index_add(const float* gy, const void* index, DType index_dtype, float* gx, const IndexGeometry& g) {
  with_index_type(index_dtype, index, [&](auto idx) {
    for (int64_t o = 0; o < g.outer; ++o)
      for (int64_t k = 0; k < g.count; ++k) {
        float* target = gx + (o * g.src_axis + idx[k]) * g.inner;
        const float* source = gy + (o * g.count + k) * g.inner;
        for (int64_t i = 0; i < g.inner; ++i) target[i] += source[i];
      }
  });
}

void index_range(const void* index, DType index_dtype, int64_t n, int64_t* min_out, int64_t* max_out) {
  with_index_type(index_dtype, index, [&](auto idx) {
    int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
    for (int64_t k = 0; k < n; ++k) {
      lo = std::min<int64_t>(lo, idx[k]);
      hi = std::max<int64_t>(hi, idx[k]);
    }
    *min_out = lo;
    *max_out = hi;
  });
}

}  // namespace tl::kernels::cpu
