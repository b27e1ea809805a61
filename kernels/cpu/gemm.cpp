// The CPU GEMM: row-major C = alpha op(A) op(B) + beta C, written here rather than taken from a BLAS.
// Goto/BLIS structure: op(B) is cut into KC x NR column panels and op(A) into MR-row panels, and a register-
// blocked micro-kernel runs over every (A panel, B panel) pair. The micro-kernel (and the packing) is written
// once, as a template over the vector type and the tile (MR rows x NV vectors), and instantiated under two
// target attributes; the CPU picks one at run time (__builtin_cpu_supports), so that a build without
// -march=native still gets AVX-512: AVX-512 (32 registers: 8 x 48 tiles of 16-wide vectors, and 8 x 24 tiles
// of 8-wide vectors for thin outputs such as N = 20, where 16-wide vectors would waste lanes), else AVX2 + FMA
// (16 registers: 6 x 16), else the template built for the baseline target (6 x 8).
// TOPOLATENT_GEMM_KERNEL=avx2 (or portable) asks for a lesser set, for tests and benchmarks.
// Operands are packed only where it pays: op(B) panels when op(B) is transposed (its columns are not contiguous)
// or many row panels reuse them; op(A), in L2-sized blocks, only when one K block of it outgrows the caches.
// Otherwise the kernel broadcasts A through its strides and loads B rows in place, so thin and small-K products
// skip the copies; only an edge panel the kernel cannot read in place (fewer than MR rows, columns ending inside
// a vector) is packed. beta is applied by the first K block's stores (beta = 0 writes without reading C).
// The threads split the micro-tiles (in column-panel order) and each packs the panels its own tiles need, so
// they never wait for each other inside a call; every C element is summed in the same k order whatever the
// thread count, so results are bit-identical with one or two threads.
// Napkin math: a Zen 4 core retires two 256-bit FMAs (or one 512-bit) per cycle: 2 x 8 lanes x 2 flops x
// ~3.6 GHz = ~116 GFLOP/s (measured with a register-only loop). An 8 x 48 tile is 24 zmm FMAs (24 cycles) per
// k step against 3 loads and 8 broadcasts; the B panel (KC x 48 floats, up to 96 KiB) stays in L2 while every
// row panel of A passes it.
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "core/base/memory.h"
#include "kernels/cpu/cpu_kernels.h"

namespace tl::kernels::cpu {
namespace {

#define TL_GEMM_INLINE inline __attribute__((always_inline))
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define TL_GEMM_X86 1
#define TL_GEMM_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#define TL_GEMM_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define TL_GEMM_X86 0
#endif

// GCC vector extensions; the target of the function they are inlined into picks the instructions.
typedef float Vec4 __attribute__((vector_size(16)));
typedef float Vec8 __attribute__((vector_size(32)));
typedef float Vec16 __attribute__((vector_size(64)));
typedef int Index8 __attribute__((vector_size(32)));

constexpr int64_t kParallelFlops = 64 * 64 * 64;  // smaller products run on one thread
constexpr int64_t kKc = 512;                      // k steps per block (K = 400 runs as one)
constexpr int64_t kReusePanels = 4;               // pack an operand when more than this many panels reuse it
constexpr int64_t kL2Floats = 64 << 10;           // 256 KiB: a packed A block (rows x kc) meant to stay in L2
constexpr int64_t kL3Floats = 512 << 10;          // 2 MiB: a packed B block (kc x columns) meant to stay in L3
constexpr int64_t kAInPlaceFloats = 512 << 10;    // op(A) is read in place while a K block of it is this small

// One micro-tile's operands. A element (r, p) is a[r * a_rs + p * a_cs] (packed: a_rs = 1, a_cs = MR);
// row p of B is b + p * ldb with NV vectors readable (a packed panel is zero-padded to NR).
// beta applies to this KC block: 0 overwrites C, 1 accumulates.
struct Tile {
  int64_t kc;
  const float* a;
  int64_t a_rs, a_cs;
  const float* b;
  int64_t ldb;
  float* c;
  int64_t ldc;
  float alpha, beta;
  int64_t rows, cols;
};
using TileFn = void (*)(const Tile&);

template <class V>
TL_GEMM_INLINE void load(V& v, const float* p) {
  std::memcpy(&v, p, sizeof(V));
}
template <class V>
TL_GEMM_INLINE void store(float* p, const V& v) {
  std::memcpy(p, &v, sizeof(V));
}
// c = alpha * acc + beta * c, where beta = 0 does not read c (it may hold NaN) and beta = 1 does not scale it.
template <class V>
TL_GEMM_INLINE void update(float* c, const V& acc, float alpha, float beta) {
  if (beta == 0.0f) {
    store(c, alpha * acc);
    return;
  }
  V old;
  load(old, c);
  if (beta != 1.0f) old *= beta;
  store(c, old + alpha * acc);
}

// C[0:rows, 0:cols] = beta C + alpha * sum over p of A[:, p] B[p, :], p = 0 .. kc-1 in order.
// kUnitRowStride: a_rs == 1 (a packed panel, or A stored transposed), so broadcasts use fixed offsets.
template <class V, int MR, int NV, bool kUnitRowStride>
TL_GEMM_INLINE void micro_tile(const Tile& t) {
  constexpr int W = sizeof(V) / sizeof(float);
  V acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = V{};
  const float* a = t.a;
  const float* b = t.b;
  const int64_t a_rs = kUnitRowStride ? 1 : t.a_rs;
  const int64_t a_cs = t.a_cs, ldb = t.ldb;
  for (int64_t p = 0; p < t.kc; ++p) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) load(bv[v], b + v * W);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const float x = a[r * a_rs];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] += x * bv[v];
    }
    a += a_cs;
    b += ldb;
  }

  if (t.rows == MR && t.cols == NV * W) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) update(t.c + r * t.ldc + v * W, acc[r][v], t.alpha, t.beta);
    return;
  }
  // Edge tile: through a buffer (runtime row and column counts must not index the accumulators).
  float buffer[MR][NV * W];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) store(buffer[r] + v * W, acc[r][v]);
  const int64_t vector_cols = t.cols / W * W;
  for (int64_t r = 0; r < t.rows; ++r) {
    float* c = t.c + r * t.ldc;
    for (int64_t j = 0; j < vector_cols; j += W) {
      V value;
      load(value, buffer[r] + j);
      update(c + j, value, t.alpha, t.beta);
    }
    for (int64_t j = vector_cols; j < t.cols; ++j)
      c[j] = t.beta == 0.0f ? t.alpha * buffer[r][j] : (t.beta == 1.0f ? c[j] : t.beta * c[j]) + t.alpha * buffer[r][j];
  }
}

// One panel to pack: dst[p * width + l] = element (l, p) for lines l < lines and steps p < kc, zero for
// lines <= l < width. A line is a row of an A panel or a column of a B panel; it lies along k in memory
// (src[l * ld + p]: A as stored, B transposed) or across it (src[p * ld + l]: A transposed, B as stored).
struct Panel {
  const float* src;
  int64_t ld;
  bool lines_along_k;
  int64_t lines, kc, width;
  float* dst;
};
using PackFn = void (*)(const Panel&);

#if defined(__clang__)
#define TL_GEMM_SHUFFLE8(x, y, i0, i1, i2, i3, i4, i5, i6, i7) \
  __builtin_shufflevector(x, y, i0, i1, i2, i3, i4, i5, i6, i7)
#else
#define TL_GEMM_SHUFFLE8(x, y, i0, i1, i2, i3, i4, i5, i6, i7) \
  __builtin_shuffle(x, y, Index8{i0, i1, i2, i3, i4, i5, i6, i7})
#endif

// 8 x 8 transpose of rows r[0..7]: interleave pairs, then pairs of pairs, then swap 128-bit halves.
TL_GEMM_INLINE void transpose8(Vec8 r[8]) {
  Vec8 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = TL_GEMM_SHUFFLE8(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[i + 1] = TL_GEMM_SHUFFLE8(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = TL_GEMM_SHUFFLE8(t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
    u[i + 1] = TL_GEMM_SHUFFLE8(t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    u[i + 2] = TL_GEMM_SHUFFLE8(t[i + 1], t[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
    u[i + 3] = TL_GEMM_SHUFFLE8(t[i + 1], t[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = TL_GEMM_SHUFFLE8(u[i], u[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    r[i + 4] = TL_GEMM_SHUFFLE8(u[i], u[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
}

TL_GEMM_INLINE void pack_panel(const Panel& j) {
  const int64_t lines = j.lines, kc = j.kc, width = j.width, ld = j.ld;
  float* dst = j.dst;
  if (!j.lines_along_k) {  // a row copy per k step
    for (int64_t p = 0; p < kc; ++p) {
      const float* src = j.src + p * ld;
      float* out = dst + p * width;
      int64_t l = 0;
      for (; l + 8 <= lines; l += 8) {
        Vec8 v;
        load(v, src + l);
        store(out + l, v);
      }
      for (; l < lines; ++l) out[l] = src[l];
      for (; l < width; ++l) out[l] = 0.0f;
    }
    return;
  }
  // A transpose, in 8 x 8 blocks where 8 lines and 8 steps remain.
  int64_t l = 0;
  for (; l + 8 <= lines; l += 8) {
    const float* src = j.src + l * ld;
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) {
      Vec8 r[8];
      for (int i = 0; i < 8; ++i) load(r[i], src + i * ld + p);
      transpose8(r);
      for (int i = 0; i < 8; ++i) store(dst + (p + i) * width + l, r[i]);
    }
    for (; p < kc; ++p)
      for (int i = 0; i < 8; ++i) dst[p * width + l + i] = src[i * ld + p];
  }
  for (; l < lines; ++l) {
    const float* src = j.src + l * ld;
    for (int64_t p = 0; p < kc; ++p) dst[p * width + l] = src[p];
  }
  if (lines < width)
    for (int64_t p = 0; p < kc; ++p)
      for (int64_t z = lines; z < width; ++z) dst[p * width + z] = 0.0f;
}

// A family of micro-kernels sharing MR and the vector width, for 1 .. nv vectors per row (an edge panel uses
// fewer): unit[v - 1] reads A with unit row stride, strided[v - 1] through a_rs.
constexpr int kMaxNv = 3;
struct Family {
  int mr = 0, width = 0, nv = 0;
  TileFn unit[kMaxNv] = {}, strided[kMaxNv] = {};
  int64_t nr() const { return int64_t{width} * nv; }
};

// The templates instantiated under each target: Target::tile<V, MR, NV, unit row stride> and Target::pack.
struct Portable {
  template <class V, int MR, int NV, bool U>
  static void tile(const Tile& t) {
    micro_tile<V, MR, NV, U>(t);
  }
  static void pack(const Panel& p) { pack_panel(p); }
};
#if TL_GEMM_X86
struct Avx512 {
  template <class V, int MR, int NV, bool U>
  TL_GEMM_TARGET_AVX512 static void tile(const Tile& t) {
    micro_tile<V, MR, NV, U>(t);
  }
  TL_GEMM_TARGET_AVX512 static void pack(const Panel& p) { pack_panel(p); }
};
struct Avx2 {
  template <class V, int MR, int NV, bool U>
  TL_GEMM_TARGET_AVX2 static void tile(const Tile& t) {
    micro_tile<V, MR, NV, U>(t);
  }
  TL_GEMM_TARGET_AVX2 static void pack(const Panel& p) { pack_panel(p); }
};
#endif

template <class Target, class V, int MR, int NV>
Family make_family() {
  Family f;
  f.mr = MR;
  f.width = static_cast<int>(sizeof(V) / sizeof(float));
  f.nv = NV;
  f.unit[0] = &Target::template tile<V, MR, 1, true>;
  f.strided[0] = &Target::template tile<V, MR, 1, false>;
  if constexpr (NV >= 2) {
    f.unit[1] = &Target::template tile<V, MR, 2, true>;
    f.strided[1] = &Target::template tile<V, MR, 2, false>;
  }
  if constexpr (NV >= 3) {
    f.unit[2] = &Target::template tile<V, MR, 3, true>;
    f.strided[2] = &Target::template tile<V, MR, 3, false>;
  }
  return f;
}

// The kernels of one instruction set: `wide` for most products, `thin` (8-wide vectors) where the output
// has few columns and 16-wide vectors would waste lanes.
struct Isa {
  const char* name;
  Family wide, thin;
  PackFn pack;
};

bool cpu_has_avx512() {
#if TL_GEMM_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
#else
  return false;
#endif
}
bool cpu_has_avx2() {
#if TL_GEMM_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

// The best kernel set this CPU runs, or a lesser one named by TOPOLATENT_GEMM_KERNEL (avx2, portable).
const Isa& chosen_isa() {
  static const Isa isa = [] {
    const char* request = std::getenv("TOPOLATENT_GEMM_KERNEL");
    const std::string want = request ? request : "";
#if TL_GEMM_X86
    if (cpu_has_avx512() && want != "avx2" && want != "portable")
      return Isa{"avx512", make_family<Avx512, Vec16, 8, 3>(), make_family<Avx512, Vec8, 8, 3>(), &Avx512::pack};
    if (cpu_has_avx2() && want != "portable") {
      const Family avx2 = make_family<Avx2, Vec8, 6, 2>();
      return Isa{"avx2", avx2, avx2, &Avx2::pack};
    }
#endif
    const Family portable = make_family<Portable, Vec4, 6, 2>();
    return Isa{"portable", portable, portable, &Portable::pack};
  }();
  return isa;
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

int64_t round_up(int64_t x, int64_t step) {
  return (x + step - 1) / step * step;
}

// How one product runs: the kernel family, which operands are packed, and the blocking: K in blocks of kc
// steps; with A packed, each thread's B block of block_panels column panels against A blocks of mc_panels row
// panels (Goto), otherwise one B panel against all rows read in place.
struct Plan {
  const Family* family;
  bool pack_a, pack_b;
  int64_t kc, block_panels, mc_panels;
};

Plan make_plan(const Isa& isa, bool trans_b, int64_t m, int64_t n, int64_t k) {
  Plan plan{};
  // The thin family (8-wide vectors) where rounding N up to 16 lanes wastes clearly more than rounding to 8.
  const bool thin =
      isa.thin.width < isa.wide.width && round_up(n, isa.thin.width) * 11 < round_up(n, isa.wide.width) * 10;
  plan.family = thin ? &isa.thin : &isa.wide;
  const int64_t mr = plan.family->mr, nr = plan.family->nr();
  // K blocks of at most kKc steps, balanced (k = 784 runs as 2 x 392, not 512 + 272).
  const int64_t k_blocks = (k + kKc - 1) / kKc;
  plan.kc = (k + k_blocks - 1) / k_blocks;
  // Pack op(B) panels when they are transposed or many row panels reuse them. Pack op(A) only when one K
  // block of it outgrows the caches and many column panels reuse it: read in place, it would come from
  // memory through a large stride once per column panel (measured here: TN 1500^3 0.6x OpenBLAS in place,
  // 0.9x packed; at 1000^3 and below in place is as fast or faster).
  plan.pack_b = trans_b || m > kReusePanels * mr;
  plan.pack_a = m * plan.kc > kAInPlaceFloats && n > kReusePanels * nr;
  const int64_t a_panels = (m + mr - 1) / mr, b_panels = (n + nr - 1) / nr;
  plan.block_panels = plan.pack_a ? std::max<int64_t>(1, kL3Floats / (plan.kc * nr)) : 1;
  plan.mc_panels = plan.pack_a ? std::max<int64_t>(1, kL2Floats / (plan.kc * mr)) : a_panels;
  plan.block_panels = std::min(plan.block_panels, b_panels);
  return plan;
}

}  // namespace

const char* gemm_kernel_name() {
  return chosen_isa().name;
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b,
          float beta, float* c) {
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == 0.0f) {
    scale_output(c, m * n, beta);
    return;
  }
  const Isa& isa = chosen_isa();
  const Plan plan = make_plan(isa, trans_b, m, n, k);
  const Family& family = *plan.family;
  const int64_t mr = family.mr, nr = family.nr(), width = family.width;
  const int64_t lda = trans_a ? m : k, ldb = trans_b ? k : n;
  const int64_t a_panels = (m + mr - 1) / mr, b_panels = (n + nr - 1) / nr, tiles = a_panels * b_panels;
  const auto rows_of = [&](int64_t ip) { return std::min(mr, m - ip * mr); };
  const auto cols_of = [&](int64_t jp) { return std::min(nr, n - jp * nr); };
  // Rows of op(A) panel ip, or columns of op(B) panel jp, over K block [pc, pc + kc), as panels to pack.
  const auto a_panel = [&](int64_t ip, int64_t pc, int64_t kc, float* dst) {
    const int64_t i0 = ip * mr;
    return Panel{trans_a ? a + pc * lda + i0 : a + i0 * lda + pc, lda, !trans_a, rows_of(ip), kc, mr, dst};
  };
  const auto b_panel = [&](int64_t jp, int64_t pc, int64_t kc, float* dst) {
    const int64_t j0 = jp * nr;
    return Panel{trans_b ? b + j0 * ldb + pc : b + pc * ldb + j0, ldb, trans_b, cols_of(jp), kc, nr, dst};
  };
  // In place, the kernel reads whole vectors of B and all MR rows of A.
  const auto b_packed = [&](int64_t jp) { return plan.pack_b || cols_of(jp) % width != 0; };
  const size_t a_floats = static_cast<size_t>((plan.pack_a ? plan.mc_panels : 1) * mr * plan.kc);
  const size_t b_floats = static_cast<size_t>(plan.block_panels * nr * plan.kc);

#pragma omp parallel if (m * n * k >= kParallelFlops)
  {
    // This thread's share of the tiles, numbered column panel by column panel. Each thread packs the panels
    // its tiles need into its own buffers (a panel both threads need is packed twice), so the threads never
    // wait for each other before the end; the partition does not change what any tile computes.
    const int threads = omp_get_num_threads(), thread = omp_get_thread_num();
    const int64_t first = tiles * thread / threads, last = tiles * (thread + 1) / threads;
    const auto ip_begin = [&](int64_t jp) { return std::max(first - jp * a_panels, int64_t{0}); };
    const auto ip_end = [&](int64_t jp) { return std::min(last - jp * a_panels, a_panels); };
    thread_local std::unique_ptr<float, void (*)(void*)> buffer(nullptr, cpu_free);
    thread_local size_t capacity = 0;
    float* const b_pack = packing_buffer(buffer, capacity, a_floats + b_floats);
    float* const a_pack = b_pack + b_floats;
    const int64_t jp_end = first < last ? (last - 1) / a_panels + 1 : 0;
    int64_t a_edge_at = -1;  // the K block whose A edge panel (fewer than MR rows, read in place) a_pack holds
    for (int64_t jb = first / a_panels; jb < jp_end; jb += plan.block_panels) {
      const int64_t jb_end = std::min(jb + plan.block_panels, jp_end);
      int64_t rows_begin = a_panels, rows_end = 0;  // the row panels this thread needs in this block
      for (int64_t jp = jb; jp < jb_end; ++jp)
        rows_begin = std::min(rows_begin, ip_begin(jp)), rows_end = std::max(rows_end, ip_end(jp));
      for (int64_t pc = 0; pc < k; pc += plan.kc) {
        const int64_t kc = std::min(plan.kc, k - pc);
        for (int64_t ib = rows_begin; ib < rows_end; ib += plan.mc_panels) {
          const int64_t ib_end = std::min(ib + plan.mc_panels, rows_end);
          if (plan.pack_a)
            for (int64_t ip = ib; ip < ib_end; ++ip) isa.pack(a_panel(ip, pc, kc, a_pack + (ip - ib) * mr * kc));
          for (int64_t jp = jb; jp < jb_end; ++jp) {
            Tile t;
            t.kc = kc;
            t.cols = cols_of(jp);
            t.alpha = alpha;
            t.beta = pc == 0 ? beta : 1.0f;  // beta scales C once, in the first K block
            t.ldc = n;
            if (b_packed(jp)) {  // packed just before its first use, while it is hot in L1 and L2
              if (ib == rows_begin) isa.pack(b_panel(jp, pc, kc, b_pack + (jp - jb) * nr * kc));
              t.b = b_pack + (jp - jb) * nr * kc, t.ldb = nr;
            } else {
              t.b = b + pc * ldb + jp * nr, t.ldb = ldb;
            }
            const int64_t nv = (t.cols + width - 1) / width;
            for (int64_t ip = std::max(ib, ip_begin(jp)); ip < std::min(ib_end, ip_end(jp)); ++ip) {
              const int64_t i0 = ip * mr;
              t.rows = rows_of(ip);
              bool unit = true;
              if (plan.pack_a) {
                t.a = a_pack + (ip - ib) * mr * kc, t.a_rs = 1, t.a_cs = mr;
              } else if (t.rows < mr) {  // fewer rows than the kernel reads: a zero-padded copy
                if (a_edge_at != pc) isa.pack(a_panel(ip, pc, kc, a_pack));
                a_edge_at = pc;
                t.a = a_pack, t.a_rs = 1, t.a_cs = mr;
              } else if (trans_a) {  // A stored K x M: the MR rows of one k step are contiguous
                t.a = a + pc * lda + i0, t.a_rs = 1, t.a_cs = lda;
              } else {
                t.a = a + i0 * lda + pc, t.a_rs = lda, t.a_cs = 1, unit = false;
              }
              t.c = c + i0 * n + jp * nr;
              (unit ? family.unit : family.strided)[nv - 1](t);
            }
          }
        }
      }
    }
  }
}

}  // namespace tl::kernels::cpu
