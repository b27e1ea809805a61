// CPU reductions. Summation order is fixed by the data layout, never by the thread count, so results are
// bit-identical however many threads run them.
#include <vector>

#include "kernels/cpu/cpu_kernels.h"

namespace tl::kernels::cpu {

void sum_axis(const float* x, float* y, int64_t outer, int64_t len, int64_t inner) {
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (outer * len >= kParallelGrain)
    for (int64_t o = 0; o < outer; ++o) {
      const float* row = x + o * len;
      float total = 0.0f;
      for (int64_t k = 0; k < len; ++k) total += row[k];
      y[o] = total;
    }
    return;
  }
  // Sum whole rows of `inner` elements at a time: vectorises along inner, keeps k in order.
  constexpr int64_t kTile = 512;
  const int64_t tiles = (inner + kTile - 1) / kTile;
#pragma omp parallel for collapse(2) schedule(static) if (outer * len * inner >= kParallelGrain)
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t begin = t * kTile;
      const int64_t width = std::min(kTile, inner - begin);
      float* out = y + o * inner + begin;
      for (int64_t i = 0; i < width; ++i) out[i] = 0.0f;
      for (int64_t k = 0; k < len; ++k) {
        const float* row = x + (o * len + k) * inner + begin;
#pragma omp simd
        for (int64_t i = 0; i < width; ++i) out[i] += row[i];
      }
    }
  }
}

namespace {

// The sum of transform(x[i]) in double: fixed chunks of eight interleaved lanes (a fixed order, so deterministic,
// and the loop vectorises), then the partial sums in chunk order.
template <class Transform>
double chunked_sum(const float* x, int64_t n, Transform transform) {
  constexpr int64_t kChunk = 8192;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
#pragma omp parallel for schedule(static) if (n >= kParallelGrain)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t end = std::min(n, (c + 1) * kChunk);
    double lanes[8] = {};
    int64_t i = c * kChunk;
    for (; i + 8 <= end; i += 8)
      for (int l = 0; l < 8; ++l) lanes[l] += transform(static_cast<double>(x[i + l]));
    double total = 0.0;
    for (; i < end; ++i) total += transform(static_cast<double>(x[i]));
    for (double lane : lanes) total += lane;
    partial[static_cast<size_t>(c)] = total;
  }
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace

void sum_all(const float* x, float* y, int64_t n) {
  y[0] = static_cast<float>(chunked_sum(x, n, [](double v) { return v; }));
}

double sum_squares(const float* x, int64_t n) {
  return chunked_sum(x, n, [](double v) { return v * v; });
}

void log_softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) log_softmax_row(x + r * cols, y + r * cols, cols);
}

}  // namespace tl::kernels::cpu
