// Latent-space samplers and interpolation paths (formulas and sources in samplers.h).
//
// The KDE score is one fused kernel (score_tile below) rather than GEMMs: a [n, N] x [N, m] product pair with
// m = 20 runs far below the GEMM's peak and spends its time writing the [n, N] logits, and libm's exponential
// would cost more than the products. The k-NN search reuses the kernel's inner products one latent at a time
// rather than topology::pairwise_distances, whose full [N, N] matrix is 400 MB at N = 10,000. Both work on the
// training latents centred at their mean, so the float32 inner products lose less to cancellation; weights, sums
// and paths are accumulated in double.
#include "apps/evaluation/samplers.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <queue>
#include <string>
#include <utility>

namespace tl::eval {
namespace {

// A float32 CPU matrix [rows, cols] with rows >= 1 and cols >= 1 and finite entries.
void check_codes(const Tensor& t, const char* op, const char* what) {
  TL_CHECK_AS(ValueError, t.defined(), op, ": ", what, " is undefined");
  TL_CHECK_AS(ValueError, t.dtype() == DType::Float32 && t.device() == Device::CPU, op, ": ", what,
              " must be a float32 CPU tensor, got ", t.describe());
  TL_CHECK_AS(ValueError, t.rank() == 2, op, ": ", what, " must be [n, m] codes, got ", t.describe());
  TL_CHECK_AS(ValueError, t.dim(0) >= 1, op, ": ", what, " is empty (", t.describe(), ")");
  TL_CHECK_AS(ValueError, t.dim(1) >= 1, op, ": ", what, " has code width 0 (", t.describe(), ")");
  const float* values = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i)
    TL_CHECK_AS(ValueError, std::isfinite(values[i]), op, ": ", what, " has a non-finite entry (", values[i],
                ") at row ", i / t.dim(1), ", column ", i % t.dim(1));
}

void check_sizes(int64_t n, int64_t m, const char* op) {
  TL_CHECK_AS(ValueError, n > 0, op, ": the number of codes n must be positive, got ", n);
  TL_CHECK_AS(ValueError, m > 0, op, ": the code width m must be positive, got ", m);
}

void check_same_width(const Tensor& train, const Tensor& codes, const char* op, const char* what) {
  TL_CHECK_AS(ValueError, codes.dim(1) == train.dim(1), op, ": ", what, " has code width ", codes.dim(1),
              " but the training latents have width ", train.dim(1));
}

// One code, [m] or [1, m], as doubles.
std::vector<double> code_row(const Tensor& t, const char* op, const char* what) {
  TL_CHECK_AS(ValueError, t.defined(), op, ": ", what, " is undefined");
  TL_CHECK_AS(ValueError, t.dtype() == DType::Float32 && t.device() == Device::CPU, op, ": ", what,
              " must be a float32 CPU tensor, got ", t.describe());
  TL_CHECK_AS(ValueError, (t.rank() == 1 || (t.rank() == 2 && t.dim(0) == 1)) && t.numel() >= 1, op, ": ", what,
              " must be one code, [m] or [1, m] with m >= 1, got ", t.describe());
  const float* values = t.data<float>();
  std::vector<double> row(values, values + t.numel());
  for (size_t j = 0; j < row.size(); ++j)
    TL_CHECK_AS(ValueError, std::isfinite(row[j]), op, ": ", what, " has a non-finite entry at column ", j);
  return row;
}

Tensor matrix_from(const std::vector<double>& values, int64_t rows, int64_t cols) {
  Tensor out = Tensor::empty({rows, cols});
  float* o = out.data<float>();
  for (int64_t i = 0; i < rows * cols; ++i) o[i] = static_cast<float>(values[i]);
  return out;
}

// Training latents centred at their mean (float32, for the kernel's inner products) with the mean in double.
struct Centred {
  Tensor points;              // [N, m]
  std::vector<double> mean;   // [m]
  std::vector<double> norm2;  // ||points_i||^2 of the float rows, in double
};

Centred centre(const Tensor& train) {
  const int64_t n = train.dim(0), m = train.dim(1);
  const float* t = train.data<float>();
  Centred c{Tensor::empty({n, m}), std::vector<double>(m, 0.0), std::vector<double>(n, 0.0)};
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) c.mean[j] += t[i * m + j];
  for (double& v : c.mean) v /= static_cast<double>(n);
  float* p = c.points.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    double s = 0.0;
    for (int64_t j = 0; j < m; ++j) {
      p[i * m + j] = static_cast<float>(t[i * m + j] - c.mean[j]);
      s += static_cast<double>(p[i * m + j]) * p[i * m + j];
    }
    c.norm2[i] = s;
  }
  return c;
}

// The KDE score kernel, fused in the manner of blocked attention: per tile of kTile walkers, the training latents
// are visited in chunks of kChunk; each chunk's logits
//   l_ij = (zc_i . t_j - ||t_j||^2 / 2) / h^2 = -||zc_i - t_j||^2 / (2 h^2) + (a term constant in j)
// are formed 2 kLanes training latents at a time, then folded into a running (max M_i, sum S_i = sum_j w_ij,
// weighted sum A_i = sum_j w_ij t_j) with w_ij = exp(l_ij - M_i) (the online log-sum-exp shift: when a chunk raises
// M_i, S_i and A_i are first rescaled by exp(M_old - M_new)); score_i = (A_i / S_i - zc_i) / h^2. Weights below
// e^-87 (relative to the largest, which is 1) are dropped as exactly 0 rather than computed as float32 subnormals.
// One walker's result depends on nothing but its own row, so any thread count gives the same bits.
typedef float Vec16 __attribute__((vector_size(64)));
typedef int32_t Vec16i __attribute__((vector_size(64)));
constexpr int64_t kLanes = 16;
constexpr int64_t kTile = 4;     // walkers sharing each load of the training latents
constexpr int64_t kChunk = 512;  // training latents per online-softmax chunk (a multiple of 2 kLanes)
constexpr float kMinExponent = -87.0f;

inline Vec16 load16(const float* p) {
  Vec16 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void store16(float* p, Vec16 v) {
  std::memcpy(p, &v, sizeof(v));
}
inline Vec16 splat(float x) {
  return Vec16{} + x;
}
inline float lane_sum(Vec16 v) {
  float s = 0.0f;
  for (int64_t i = 0; i < kLanes; ++i) s += v[i];
  return s;
}
inline float lane_max(Vec16 v) {
  float s = v[0];
  for (int64_t i = 1; i < kLanes; ++i) s = std::max(s, v[i]);
  return s;
}

// e^x for x <= 0, lanewise; exactly 0 below kMinExponent. Cephes' expf: x = n ln 2 + r with n = round(x / ln 2)
// (by the 1.5 * 2^23 rounding constant) and |r| <= ln 2 / 2, e^r by its degree-7 minimax polynomial, 2^n built in
// the exponent bits (n >= -126 here, so the result is a normal float). Within 1.02 ulp of e^x on [-87, 0] (checked
// against double exp on every 7th float there).
inline Vec16 exp_nonpositive(Vec16 x) {
  const Vec16 clamped = x < kMinExponent ? splat(kMinExponent) : x;
  const Vec16 shifted = clamped * 1.44269504088896341f + 12582912.0f;  // 1.5 * 2^23: rounds to an integer
  const Vec16 n = shifted - 12582912.0f;
  const Vec16 r = clamped - n * 0.693359375f - n * -2.12194440e-4f;  // ln 2 in two parts (Cody-Waite)
  Vec16 p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  Vec16i bits;
  std::memcpy(&bits, &shifted, sizeof(bits));
  bits = (bits - 0x4B400000 + 127) << 23;  // n + 127 in the exponent field
  Vec16 scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  const Vec16 e = p * scale;
  return x < kMinExponent ? Vec16{} : e;
}

// The training latents for the kernel: centred, transposed to [m, padded] (padded: N rounded up to 2 kLanes, the
// padding columns zero) and their half squared norms (+inf for the padding, whose weights are then exactly 0).
struct KdeTable {
  int64_t count = 0, padded = 0, m = 0;
  std::vector<float> columns;     // [m, padded]
  std::vector<float> half_norm2;  // [padded]
  std::vector<double> mean;       // [m]
};

KdeTable kde_table(const Tensor& train) {
  const Centred c = centre(train);
  KdeTable table;
  table.count = train.dim(0);
  table.m = train.dim(1);
  table.padded = (table.count + 2 * kLanes - 1) / (2 * kLanes) * (2 * kLanes);
  table.columns.assign(static_cast<size_t>(table.m * table.padded), 0.0f);
  table.half_norm2.assign(static_cast<size_t>(table.padded), std::numeric_limits<float>::infinity());
  const float* p = c.points.data<float>();
  for (int64_t i = 0; i < table.count; ++i) {
    for (int64_t j = 0; j < table.m; ++j) table.columns[j * table.padded + i] = p[i * table.m + j];
    table.half_norm2[i] = static_cast<float>(0.5 * c.norm2[i]);
  }
  table.mean = c.mean;
  return table;
}

// e_j = x . t_j - ||t_j||^2 / 2 = (||x||^2 - ||x - t_j||^2) / 2 for every column j of the table (-inf for the
// padding), x a centred code.
void half_affinities(const KdeTable& table, const float* x, float* out) {
  for (int64_t jj = 0; jj < table.padded; jj += 2 * kLanes) {
    Vec16 acc0 = {}, acc1 = {};
    const float* column = table.columns.data() + jj;
    for (int64_t c = 0; c < table.m; ++c) {
      acc0 += x[c] * load16(column + c * table.padded);
      acc1 += x[c] * load16(column + c * table.padded + kLanes);
    }
    store16(out + jj, acc0 - load16(table.half_norm2.data() + jj));
    store16(out + jj + kLanes, acc1 - load16(table.half_norm2.data() + jj + kLanes));
  }
}

// Scores of kTile walkers (rows of zc; a short last tile repeats its last walker) into score rows [first, last).
void score_tile(const KdeTable& table, const float* zc, int64_t first, int64_t last, float inv_h2, float* score) {
  const int64_t m = table.m, padded = table.padded;
  const float* walker[kTile];
  for (int64_t r = 0; r < kTile; ++r) walker[r] = zc + std::min(first + r, last - 1) * m;
  double top[kTile], total[kTile];
  std::vector<double> weighted(static_cast<size_t>(kTile * m), 0.0);
  for (int64_t r = 0; r < kTile; ++r) top[r] = -std::numeric_limits<double>::infinity(), total[r] = 0.0;
  alignas(64) float logits[kTile][kChunk];
  for (int64_t j0 = 0; j0 < padded; j0 += kChunk) {
    const int64_t width = std::min(kChunk, padded - j0);
    // Logits, 2 kLanes training latents at a time (eight independent accumulators).
    Vec16 chunk_top[kTile];
    for (int64_t r = 0; r < kTile; ++r) chunk_top[r] = splat(-std::numeric_limits<float>::infinity());
    for (int64_t jj = 0; jj < width; jj += 2 * kLanes) {
      Vec16 acc0[kTile] = {}, acc1[kTile] = {};
      const float* column = table.columns.data() + j0 + jj;
      for (int64_t c = 0; c < m; ++c) {
        const Vec16 t0 = load16(column + c * padded), t1 = load16(column + c * padded + kLanes);
        for (int64_t r = 0; r < kTile; ++r) {
          acc0[r] += walker[r][c] * t0;
          acc1[r] += walker[r][c] * t1;
        }
      }
      const Vec16 q0 = load16(table.half_norm2.data() + j0 + jj),
                  q1 = load16(table.half_norm2.data() + j0 + jj + kLanes);
      for (int64_t r = 0; r < kTile; ++r) {
        const Vec16 l0 = (acc0[r] - q0) * inv_h2, l1 = (acc1[r] - q1) * inv_h2;
        store16(logits[r] + jj, l0);
        store16(logits[r] + jj + kLanes, l1);
        const Vec16 l = l0 > l1 ? l0 : l1;
        chunk_top[r] = chunk_top[r] > l ? chunk_top[r] : l;
      }
    }
    // Weights under the running maximum, rescaling what came before when the maximum rises.
    for (int64_t r = 0; r < kTile; ++r) {
      const double chunk_max = lane_max(chunk_top[r]);
      if (chunk_max > top[r]) {
        const double factor = std::isinf(top[r]) ? 0.0 : std::exp(top[r] - chunk_max);
        total[r] *= factor;
        for (int64_t c = 0; c < m; ++c) weighted[r * m + c] *= factor;
        top[r] = chunk_max;
      }
      const Vec16 shift = splat(static_cast<float>(top[r]));
      Vec16 sum = {};
      for (int64_t jj = 0; jj < width; jj += kLanes) {
        const Vec16 w = exp_nonpositive(load16(logits[r] + jj) - shift);
        store16(logits[r] + jj, w);
        sum += w;
      }
      total[r] += lane_sum(sum);
    }
    // Weighted sums of the coordinates, two coordinates at a time.
    int64_t c = 0;
    for (; c + 1 < m; c += 2) {
      Vec16 acc0[kTile] = {}, acc1[kTile] = {};
      const float* column0 = table.columns.data() + c * padded + j0;
      const float* column1 = column0 + padded;
      for (int64_t jj = 0; jj < width; jj += kLanes) {
        const Vec16 t0 = load16(column0 + jj), t1 = load16(column1 + jj);
        for (int64_t r = 0; r < kTile; ++r) {
          const Vec16 w = load16(logits[r] + jj);
          acc0[r] += w * t0;
          acc1[r] += w * t1;
        }
      }
      for (int64_t r = 0; r < kTile; ++r) {
        weighted[r * m + c] += lane_sum(acc0[r]);
        weighted[r * m + c + 1] += lane_sum(acc1[r]);
      }
    }
    for (; c < m; ++c) {
      Vec16 acc[kTile] = {};
      const float* column = table.columns.data() + c * padded + j0;
      for (int64_t jj = 0; jj < width; jj += kLanes) {
        const Vec16 t = load16(column + jj);
        for (int64_t r = 0; r < kTile; ++r) acc[r] += load16(logits[r] + jj) * t;
      }
      for (int64_t r = 0; r < kTile; ++r) weighted[r * m + c] += lane_sum(acc[r]);
    }
  }
  const double h2_inverse = inv_h2;
  for (int64_t r = 0; r < kTile && first + r < last; ++r)
    for (int64_t c = 0; c < m; ++c)
      score[(first + r) * m + c] = static_cast<float>((weighted[r * m + c] / total[r] - walker[r][c]) * h2_inverse);
}

// grad log p at the centred rows zc [n, m] into score [n, m], the walker tiles spread over the OpenMP threads.
void centred_score(const KdeTable& table, const float* zc, int64_t n, double h, float* score) {
  const float inv_h2 = static_cast<float>(1.0 / (h * h));
  const int64_t tiles = (n + kTile - 1) / kTile;
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t tile = 0; tile < tiles; ++tile)
    score_tile(table, zc, tile * kTile, std::min(n, (tile + 1) * kTile), inv_h2, score);
}

double resolve_bandwidth(const Tensor& train, double bandwidth, const char* op) {
  TL_CHECK_AS(ValueError, bandwidth >= 0.0 && std::isfinite(bandwidth), op,
              ": the bandwidth must be positive (or 0 for Scott's rule), got ", bandwidth);
  return bandwidth > 0.0 ? bandwidth : scott_bandwidth(train);
}

double squared_distance(const float* x, const double* y, int64_t m) {
  double s = 0.0;
  for (int64_t j = 0; j < m; ++j) s += (x[j] - y[j]) * (x[j] - y[j]);
  return s;
}

double distance(const float* x, const float* y, int64_t m) {
  double s = 0.0;
  for (int64_t j = 0; j < m; ++j) {
    const double d = static_cast<double>(x[j]) - y[j];
    s += d * d;
  }
  return std::sqrt(s);
}

// The training latent nearest x (the lowest index on a tie).
int64_t nearest(const Tensor& train, const std::vector<double>& x) {
  const int64_t n = train.dim(0), m = train.dim(1);
  const float* t = train.data<float>();
  int64_t best = 0;
  double best_d2 = std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < n; ++i) {
    const double d2 = squared_distance(t + i * m, x.data(), m);
    if (d2 < best_d2) best_d2 = d2, best = i;
  }
  return best;
}

}  // namespace

Tensor gaussian_codes(int64_t n, int64_t m, Generator& gen) {
  check_sizes(n, m, "gaussian_codes");
  return Tensor::normal({n, m}, gen);
}

Tensor unit_ball_codes(int64_t n, int64_t m, Generator& gen) {
  check_sizes(n, m, "unit_ball_codes");
  Tensor codes = Tensor::normal({n, m}, gen);
  const Tensor u = Tensor::uniform({n}, gen);
  float* z = codes.data<float>();
  const float* uv = u.data<float>();
  const double inv_m = 1.0 / static_cast<double>(m);
  for (int64_t i = 0; i < n; ++i) {
    float* row = z + i * m;
    double norm2 = 0.0;
    for (int64_t j = 0; j < m; ++j) norm2 += static_cast<double>(row[j]) * row[j];
    if (norm2 == 0.0) {  // a zero Gaussian draw (probability ~0): take the first axis as its direction
      row[0] = 1.0f;
      norm2 = 1.0;
    }
    const double factor = std::pow(static_cast<double>(uv[i]), inv_m) / std::sqrt(norm2);
    double rounded2 = 0.0;
    for (int64_t j = 0; j < m; ++j) {
      row[j] = static_cast<float>(row[j] * factor);
      rounded2 += static_cast<double>(row[j]) * row[j];
    }
    // r < 1 exactly, but rounding the coordinates to float may land a hair outside the ball: pull it back in.
    if (rounded2 > 1.0 - 1e-6) {
      const double shrink = (1.0 - 1e-6) / std::sqrt(rounded2);
      for (int64_t j = 0; j < m; ++j) row[j] = static_cast<float>(row[j] * shrink);
    }
  }
  return codes;
}

double scott_bandwidth(const Tensor& train) {
  check_codes(train, "scott_bandwidth", "the training latents");
  const int64_t n = train.dim(0), m = train.dim(1);
  TL_CHECK_AS(ValueError, n >= 2, "scott_bandwidth: Scott's rule needs at least 2 training latents, got ", n,
              " (give a bandwidth instead)");
  const float* t = train.data<float>();
  double sigma = 0.0;
  for (int64_t j = 0; j < m; ++j) {
    double mean = 0.0;
    for (int64_t i = 0; i < n; ++i) mean += t[i * m + j];
    mean /= static_cast<double>(n);
    double ss = 0.0;
    for (int64_t i = 0; i < n; ++i) ss += (t[i * m + j] - mean) * (t[i * m + j] - mean);
    sigma += std::sqrt(ss / static_cast<double>(n - 1));
  }
  sigma /= static_cast<double>(m);
  TL_CHECK_AS(ValueError, sigma > 0.0, "scott_bandwidth: the ", n,
              " training latents are all equal, so Scott's rule gives h = 0 (give a bandwidth instead)");
  return sigma * std::pow(static_cast<double>(n), -1.0 / static_cast<double>(m + 4));
}

Tensor kde_score(const Tensor& train, const Tensor& z, double bandwidth) {
  check_codes(train, "kde_score", "the training latents");
  check_codes(z, "kde_score", "z");
  check_same_width(train, z, "kde_score", "z");
  TL_CHECK_AS(ValueError, bandwidth > 0.0 && std::isfinite(bandwidth),
              "kde_score: the bandwidth must be positive, got ", bandwidth);
  const KdeTable table = kde_table(train);
  const int64_t n = z.dim(0), m = z.dim(1);
  std::vector<float> zc(static_cast<size_t>(n * m));
  const float* zv = z.data<float>();
  for (int64_t i = 0; i < n * m; ++i) zc[i] = static_cast<float>(zv[i] - table.mean[i % m]);
  Tensor score = Tensor::empty({n, m});
  centred_score(table, zc.data(), n, bandwidth, score.data<float>());
  return score;
}

Tensor kde_codes(const Tensor& train, int64_t n, double bandwidth, Generator& gen) {
  check_codes(train, "kde_codes", "the training latents");
  check_sizes(n, train.dim(1), "kde_codes");
  const double h = resolve_bandwidth(train, bandwidth, "kde_codes");
  const int64_t count = train.dim(0), m = train.dim(1);
  const Tensor pick = Tensor::uniform({n}, gen);
  Tensor codes = Tensor::normal({n, m}, gen);
  const float* u = pick.data<float>();
  const float* t = train.data<float>();
  float* z = codes.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t source = std::min(count - 1, static_cast<int64_t>(static_cast<double>(u[i]) * count));
    for (int64_t j = 0; j < m; ++j) z[i * m + j] = static_cast<float>(t[source * m + j] + h * z[i * m + j]);
  }
  return codes;
}

Tensor langevin_walk(const Tensor& train, const Tensor& start, const LangevinOptions& options, Generator& gen) {
  check_codes(train, "langevin_walk", "the training latents");
  check_codes(start, "langevin_walk", "the start points");
  check_same_width(train, start, "langevin_walk", "the start points");
  TL_CHECK_AS(ValueError, options.steps >= 0, "langevin_walk: steps must be >= 0, got ", options.steps);
  TL_CHECK_AS(ValueError, options.step_size >= 0.0 && std::isfinite(options.step_size),
              "langevin_walk: the step size eta must be positive (or 0 for 0.1 h^2), got ", options.step_size);
  const double h = resolve_bandwidth(train, options.bandwidth, "langevin_walk");
  const double eta = options.step_size > 0.0 ? options.step_size : 0.1 * h * h;
  const double noise_scale = std::sqrt(2.0 * eta);
  if (options.steps == 0) return start.clone();
  const KdeTable table = kde_table(train);
  const int64_t n = start.dim(0), m = start.dim(1);
  std::vector<float> zc(static_cast<size_t>(n * m)), score(static_cast<size_t>(n * m));
  const float* s0 = start.data<float>();
  for (int64_t i = 0; i < n * m; ++i) zc[i] = static_cast<float>(s0[i] - table.mean[i % m]);
  for (int step = 0; step < options.steps; ++step) {
    centred_score(table, zc.data(), n, h, score.data());
    const Tensor noise = Tensor::normal({n, m}, gen);
    const float* eps = noise.data<float>();
    for (int64_t i = 0; i < n * m; ++i) zc[i] = static_cast<float>(zc[i] + eta * score[i] + noise_scale * eps[i]);
  }
  Tensor out = Tensor::empty({n, m});
  float* o = out.data<float>();
  for (int64_t i = 0; i < n * m; ++i) o[i] = static_cast<float>(zc[i] + table.mean[i % m]);
  return out;
}

Tensor langevin_codes(const Tensor& train, int64_t n, const LangevinOptions& options, Generator& gen) {
  check_codes(train, "langevin_codes", "the training latents");
  check_sizes(n, train.dim(1), "langevin_codes");
  LangevinOptions resolved = options;
  resolved.bandwidth = resolve_bandwidth(train, options.bandwidth, "langevin_codes");
  const Tensor start = kde_codes(train, n, resolved.bandwidth, gen);
  return langevin_walk(train, start, resolved, gen);
}

Tensor linear_path(const Tensor& a, const Tensor& b, int64_t points) {
  const std::vector<double> x = code_row(a, "linear_path", "a"), y = code_row(b, "linear_path", "b");
  TL_CHECK_AS(ValueError, x.size() == y.size(), "linear_path: a has width ", x.size(), " but b has width ", y.size());
  TL_CHECK_AS(ValueError, points >= 2, "linear_path: a path needs at least 2 points (both ends), got ", points);
  const int64_t m = static_cast<int64_t>(x.size());
  std::vector<double> out(static_cast<size_t>(points * m));
  for (int64_t i = 0; i < points; ++i) {
    const double t = static_cast<double>(i) / static_cast<double>(points - 1);
    for (int64_t j = 0; j < m; ++j) out[i * m + j] = i == points - 1 ? y[j] : x[j] + t * (y[j] - x[j]);
  }
  return matrix_from(out, points, m);
}

KnnGraph knn_graph(const Tensor& train, int k) {
  check_codes(train, "knn_graph", "the training latents");
  const int64_t n = train.dim(0), m = train.dim(1);
  TL_CHECK_AS(ValueError, k >= 1 && k < n, "knn_graph: k must be in [1, N - 1] = [1, ", n - 1, "] for N = ", n,
              " training latents, got k = ", k);
  const KdeTable table = kde_table(train);
  const float* t = train.data<float>();
  const double q_max = 2.0 * *std::max_element(table.half_norm2.begin(), table.half_norm2.begin() + n);
  std::vector<std::vector<int64_t>> nearest_k(static_cast<size_t>(n));
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < n; ++i) {
    // Squared distances ||x||^2 - 2 e_j in float32 from the centred latents; a margin several times their
    // rounding error (about (m + 2) eps (||x||^2 + ||t_j||^2)) keeps every true k nearest among the candidates,
    // which are then ranked by exact distances in double (ties by index).
    std::vector<float> x(static_cast<size_t>(m)), d2(static_cast<size_t>(table.padded));
    for (int64_t c = 0; c < m; ++c) x[c] = table.columns[c * table.padded + i];
    half_affinities(table, x.data(), d2.data());
    const double norm2 = 2.0 * table.half_norm2[i];
    for (int64_t j = 0; j < n; ++j) d2[j] = static_cast<float>(norm2 - 2.0 * d2[j]);
    d2[i] = std::numeric_limits<float>::infinity();
    std::vector<float> order(d2.begin(), d2.begin() + n);
    std::nth_element(order.begin(), order.begin() + (k - 1), order.end());
    const double cutoff = order[k - 1] + 4e-7 * static_cast<double>(m + 8) * (norm2 + q_max);
    std::vector<std::pair<double, int64_t>> exact;
    for (int64_t j = 0; j < n; ++j)
      if (j != i && d2[j] <= cutoff) exact.emplace_back(distance(t + i * m, t + j * m, m), j);
    std::sort(exact.begin(), exact.end());
    for (int q = 0; q < k; ++q) nearest_k[i].push_back(exact[q].second);
  }
  KnnGraph graph;
  graph.k = k;
  graph.adjacency.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    for (const int64_t j : nearest_k[i]) {
      const double d = distance(t + i * m, t + j * m, m);
      graph.adjacency[i].emplace_back(j, d);
      graph.adjacency[j].emplace_back(i, d);
    }
  for (auto& list : graph.adjacency) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end(), [](const auto& x, const auto& y) { return x.first == y.first; }),
               list.end());
  }
  return graph;
}

GeodesicPath geodesic_path(const Tensor& train, const Tensor& a, const Tensor& b, int k, int64_t points,
                           int smoothing_passes) {
  check_codes(train, "geodesic_path", "the training latents");
  TL_CHECK_AS(ValueError, points >= 2, "geodesic_path: a path needs at least 2 points (both ends), got ", points);
  TL_CHECK_AS(ValueError, smoothing_passes >= 0, "geodesic_path: smoothing_passes must be >= 0, got ",
              smoothing_passes);
  const int64_t m = train.dim(1);
  TL_CHECK_AS(ValueError, code_row(a, "geodesic_path", "a").size() == static_cast<size_t>(m),
              "geodesic_path: a has width ", a.numel(), " but the training latents have width ", m);
  TL_CHECK_AS(ValueError, code_row(b, "geodesic_path", "b").size() == static_cast<size_t>(m),
              "geodesic_path: b has width ", b.numel(), " but the training latents have width ", m);
  return geodesic_path(knn_graph(train, k), train, a, b, points, smoothing_passes);
}

GeodesicPath geodesic_path(const KnnGraph& graph, const Tensor& train, const Tensor& a, const Tensor& b, int64_t points,
                           int smoothing_passes) {
  check_codes(train, "geodesic_path", "the training latents");
  const int64_t n = train.dim(0), m = train.dim(1);
  TL_CHECK_AS(ValueError, static_cast<int64_t>(graph.adjacency.size()) == n, "geodesic_path: the k-NN graph has ",
              graph.adjacency.size(), " nodes but there are ", n, " training latents");
  const std::vector<double> x = code_row(a, "geodesic_path", "a"), y = code_row(b, "geodesic_path", "b");
  TL_CHECK_AS(ValueError, x.size() == static_cast<size_t>(m), "geodesic_path: a has width ", x.size(),
              " but the training latents have width ", m);
  TL_CHECK_AS(ValueError, y.size() == static_cast<size_t>(m), "geodesic_path: b has width ", y.size(),
              " but the training latents have width ", m);
  TL_CHECK_AS(ValueError, points >= 2, "geodesic_path: a path needs at least 2 points (both ends), got ", points);
  TL_CHECK_AS(ValueError, smoothing_passes >= 0, "geodesic_path: smoothing_passes must be >= 0, got ",
              smoothing_passes);

  // Dijkstra from the latent nearest a; the heap orders by (distance, node), so ties resolve the same every run.
  const int64_t source = nearest(train, x), target = nearest(train, y);
  std::vector<double> dist(static_cast<size_t>(n), std::numeric_limits<double>::infinity());
  std::vector<int64_t> previous(static_cast<size_t>(n), -1);
  using Entry = std::pair<double, int64_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  dist[source] = 0.0;
  heap.emplace(0.0, source);
  while (!heap.empty()) {
    const auto [d, u] = heap.top();
    heap.pop();
    if (d > dist[u]) continue;
    if (u == target) break;
    for (const auto& [v, w] : graph.adjacency[u])
      if (d + w < dist[v]) {
        dist[v] = d + w;
        previous[v] = u;
        heap.emplace(dist[v], v);
      }
  }
  if (!std::isfinite(dist[target])) {
    detail::fail<UnconnectedEnds>(__FILE__, __LINE__, "geodesic_path: the symmetric k-NN graph with k = ", graph.k,
                                  " does not connect the training latent nearest a (index ", source,
                                  ") to the one nearest b (index ", target, "); try a larger k");
  }

  GeodesicPath path;
  path.graph_length = dist[target];
  for (int64_t v = target; v != -1; v = previous[v]) path.graph_nodes.push_back(v);
  std::reverse(path.graph_nodes.begin(), path.graph_nodes.end());

  // The polyline a, nodes..., b, smoothed with its ends fixed.
  const int64_t vertices = static_cast<int64_t>(path.graph_nodes.size()) + 2;
  std::vector<double> line(static_cast<size_t>(vertices * m));
  const float* t = train.data<float>();
  for (int64_t j = 0; j < m; ++j) {
    line[j] = x[j];
    line[(vertices - 1) * m + j] = y[j];
  }
  for (int64_t v = 1; v + 1 < vertices; ++v)
    for (int64_t j = 0; j < m; ++j) line[v * m + j] = t[path.graph_nodes[v - 1] * m + j];
  for (int pass = 0; pass < smoothing_passes; ++pass) {
    const std::vector<double> old = line;
    for (int64_t v = 1; v + 1 < vertices; ++v)
      for (int64_t j = 0; j < m; ++j)
        line[v * m + j] = (old[(v - 1) * m + j] + old[v * m + j] + old[(v + 1) * m + j]) / 3.0;
  }
  path.polyline = matrix_from(line, vertices, m);

  // Resampled at arc lengths L i / (points - 1) along the polyline, piecewise linearly.
  std::vector<double> arc(static_cast<size_t>(vertices), 0.0);
  for (int64_t v = 1; v < vertices; ++v) {
    double s = 0.0;
    for (int64_t j = 0; j < m; ++j) {
      const double d = line[v * m + j] - line[(v - 1) * m + j];
      s += d * d;
    }
    arc[v] = arc[v - 1] + std::sqrt(s);
  }
  const double total = arc[vertices - 1];
  std::vector<double> out(static_cast<size_t>(points * m));
  int64_t segment = 0;  // the polyline segment [segment, segment + 1] holding the current arc length
  for (int64_t i = 0; i < points; ++i) {
    double* row = out.data() + i * m;
    if (i == 0 || i == points - 1 || total == 0.0) {  // the ends exactly; a zero-length path stays at a (= b)
      const std::vector<double>& end = i == points - 1 ? y : x;
      std::copy(end.begin(), end.end(), row);
      continue;
    }
    const double s = total * static_cast<double>(i) / static_cast<double>(points - 1);
    while (segment + 2 < vertices && arc[segment + 1] < s) ++segment;
    const double length = arc[segment + 1] - arc[segment];
    const double f = length > 0.0 ? std::clamp((s - arc[segment]) / length, 0.0, 1.0) : 0.0;
    for (int64_t j = 0; j < m; ++j)
      row[j] = line[segment * m + j] + f * (line[(segment + 1) * m + j] - line[segment * m + j]);
  }
  path.points = matrix_from(out, points, m);
  return path;
}

}  // namespace tl::eval
