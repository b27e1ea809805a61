// The CPU GEMM: row-major C = alpha op(A) op(B) + beta C, written here rather than taken from a BLAS.
// Goto/BLIS structure: B is packed into KC x NR column panels and A into MC x KC blocks of MR-row panels,
// and a 6 x 16 register-blocked micro-kernel (12 eight-wide accumulators: AVX2 + FMA when the build targets
// the host) runs over every (A panel, B panel) pair. Both threads share the packed panels and split the
// micro-tiles; every C element is summed in the same k order whatever the thread count, so results are
// bit-identical with one or two threads.
// Napkin math: 6x16 tile = 96 FMAs per k step against 22 floats loaded; one Zen 3 core peaks near
// 2 FMA units x 8 lanes x 2 flops x ~3 GHz = 96 GFLOP/s.
#include <cstring>
#include <memory>

#include "core/base/memory.h"
#include "kernels/cpu/cpu_kernels.h"

namespace tl::kernels::cpu {
namespace {

constexpr int64_t kMr = 6;
constexpr int64_t kNr = 16;
constexpr int64_t kKc = 256;   // A and B panels of 256 k-steps: a B micro-panel (16 KiB) stays in L1
constexpr int64_t kMc = 144;   // an A block of 144 x 256 floats (144 KiB) stays in L2
constexpr int64_t kNc = 2048;  // a B panel of up to 2 MiB in L3
constexpr int64_t kParallelFlops = 64 * 64 * 64;

typedef float Vec8 __attribute__((vector_size(32)));

inline Vec8 load8(const float* p) {
  Vec8 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void store8(float* p, Vec8 v) {
  std::memcpy(p, &v, sizeof(v));
}

// Element (row, col) of a row-major matrix, or of its transpose, through two strides.
struct MatrixView {
  const float* data;
  int64_t row_stride;
  int64_t col_stride;
  float at(int64_t row, int64_t col) const { return data[row * row_stride + col * col_stride]; }
};

// Packs rows [i0, i0 + rows) x cols [p0, p0 + kc) of A into one MR-row panel laid out k-major,
// padding missing rows with zeros.
void pack_a_panel(const MatrixView& a, int64_t i0, int64_t rows, int64_t p0, int64_t kc, float* dst) {
  for (int64_t r = 0; r < kMr; ++r) {
    if (r < rows) {
      for (int64_t p = 0; p < kc; ++p) dst[p * kMr + r] = a.at(i0 + r, p0 + p);
    } else {
      for (int64_t p = 0; p < kc; ++p) dst[p * kMr + r] = 0.0f;
    }
  }
}

// Packs rows [p0, p0 + kc) x cols [j0, j0 + cols) of B into one NR-column panel, zero-padded.
void pack_b_panel(const MatrixView& b, int64_t p0, int64_t kc, int64_t j0, int64_t cols, float* dst) {
  for (int64_t p = 0; p < kc; ++p) {
    float* row = dst + p * kNr;
    for (int64_t c = 0; c < cols; ++c) row[c] = b.at(p0 + p, j0 + c);
    for (int64_t c = cols; c < kNr; ++c) row[c] = 0.0f;
  }
}

// C[0:rows, 0:cols] += alpha * (A panel x B panel) over kc steps.
void micro_kernel(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, float alpha, int64_t rows,
                  int64_t cols) {
  Vec8 acc[kMr][2] = {};
  for (int64_t p = 0; p < kc; ++p) {
    const Vec8 b0 = load8(bp + p * kNr);
    const Vec8 b1 = load8(bp + p * kNr + 8);
    const float* a = ap + p * kMr;
    for (int64_t r = 0; r < kMr; ++r) {
      acc[r][0] += a[r] * b0;
      acc[r][1] += a[r] * b1;
    }
  }
  if (rows == kMr && cols == kNr) {
    for (int64_t r = 0; r < kMr; ++r) {
      float* row = c + r * ldc;
      store8(row, load8(row) + alpha * acc[r][0]);
      store8(row + 8, load8(row + 8) + alpha * acc[r][1]);
    }
    return;
  }
  float tile[kMr][kNr];
  for (int64_t r = 0; r < kMr; ++r) {
    store8(tile[r], acc[r][0]);
    store8(tile[r] + 8, acc[r][1]);
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t col = 0; col < cols; ++col) c[r * ldc + col] += alpha * tile[r][col];
}

// Grow-only packing buffer owned by the calling thread (worker threads only see the pointer).
float* packing_buffer(std::unique_ptr<float, void (*)(void*)>& buffer, size_t& capacity, size_t floats) {
  if (floats > capacity) {
    buffer.reset(static_cast<float*>(cpu_allocate(floats * sizeof(float))));
    capacity = floats;
  }
  return buffer.get();
}

void scale_output(float* c, int64_t count, float beta) {
  if (beta == 1.0f) return;
  if (beta == 0.0f) {
    fill(c, count, 0.0f);  // not c *= 0: C may hold NaN or garbage on entry
    return;
  }
  for (int64_t i = 0; i < count; ++i) c[i] *= beta;
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b,
          float beta, float* c) {
  if (m == 0 || n == 0) return;
  scale_output(c, m * n, beta);
  if (k == 0 || alpha == 0.0f) return;

  const MatrixView av = trans_a ? MatrixView{a, 1, m} : MatrixView{a, k, 1};
  const MatrixView bv = trans_b ? MatrixView{b, 1, k} : MatrixView{b, n, 1};

  thread_local std::unique_ptr<float, void (*)(void*)> a_buffer(nullptr, cpu_free);
  thread_local std::unique_ptr<float, void (*)(void*)> b_buffer(nullptr, cpu_free);
  thread_local size_t a_capacity = 0, b_capacity = 0;
  const int64_t nc_max = std::min(n, kNc), mc_max = std::min(m, kMc), kc_max = std::min(k, kKc);
  float* a_pack = packing_buffer(a_buffer, a_capacity, static_cast<size_t>(((mc_max + kMr - 1) / kMr) * kMr * kc_max));
  float* b_pack = packing_buffer(b_buffer, b_capacity, static_cast<size_t>(((nc_max + kNr - 1) / kNr) * kNr * kc_max));

#pragma omp parallel if (m * n * k >= kParallelFlops)
  for (int64_t jc = 0; jc < n; jc += kNc) {
    const int64_t nc = std::min(kNc, n - jc);
    const int64_t b_panels = (nc + kNr - 1) / kNr;
    for (int64_t pc = 0; pc < k; pc += kKc) {
      const int64_t kc = std::min(kKc, k - pc);
#pragma omp for schedule(static)
      for (int64_t jp = 0; jp < b_panels; ++jp)
        pack_b_panel(bv, pc, kc, jc + jp * kNr, std::min(kNr, nc - jp * kNr), b_pack + jp * kNr * kc);

      for (int64_t ic = 0; ic < m; ic += kMc) {
        const int64_t mc = std::min(kMc, m - ic);
        const int64_t a_panels = (mc + kMr - 1) / kMr;
#pragma omp for schedule(static)
        for (int64_t ip = 0; ip < a_panels; ++ip)
          pack_a_panel(av, ic + ip * kMr, std::min(kMr, mc - ip * kMr), pc, kc, a_pack + ip * kMr * kc);

#pragma omp for collapse(2) schedule(static)
        for (int64_t jp = 0; jp < b_panels; ++jp) {
          for (int64_t ip = 0; ip < a_panels; ++ip) {
            float* tile = c + (ic + ip * kMr) * n + jc + jp * kNr;
            micro_kernel(kc, a_pack + ip * kMr * kc, b_pack + jp * kNr * kc, tile, n, alpha,
                         std::min(kMr, mc - ip * kMr), std::min(kNr, nc - jp * kNr));
          }
        }
      }
    }
  }
}

}  // namespace tl::kernels::cpu
