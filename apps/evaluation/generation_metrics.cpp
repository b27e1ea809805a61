// Generation metrics (generation_metrics.h): the Frechet distance by Eigen's symmetric eigensolver, and the
// nearest-neighbour metrics as exact double-precision decisions behind a float32 GEMM filter, in blocks of rows.
#include "apps/evaluation/generation_metrics.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <string>

#include "kernels/backend.h"

namespace tl::eval {
namespace {

// ---- Input checks ----

// The host values of one float32 [rows, dim] feature set, checked.
struct FeatureSet {
  std::vector<float> values;  // row-major
  int64_t rows = 0;
  int64_t dim = 0;
};

FeatureSet feature_set(const Tensor& x, const std::string& what) {
  TL_CHECK_AS(ValueError, x.defined(), what, " is an undefined tensor");
  TL_CHECK_AS(ValueError, x.rank() == 2 && x.dtype() == DType::Float32, what,
              " must be a float32 [samples, features] tensor, got ", x.describe());
  FeatureSet set;
  set.rows = x.dim(0);
  set.dim = x.dim(1);
  TL_CHECK_AS(ValueError, set.rows > 0, what, " is empty (0 samples)");
  TL_CHECK_AS(ValueError, set.dim > 0, what, " has 0 features per sample");
  set.values = x.to_vector<float>();
  for (size_t e = 0; e < set.values.size(); ++e)
    TL_CHECK_AS(ValueError, std::isfinite(set.values[e]), what, " row ", e / set.dim, " feature ", e % set.dim,
                " is not finite (", set.values[e], ")");
  return set;
}

void check_same_width(const FeatureSet& a, const FeatureSet& b, const char* what_a, const char* what_b) {
  TL_CHECK_AS(ValueError, a.dim == b.dim, what_a, " and ", what_b, " have different feature widths (", a.dim, " vs ",
              b.dim, ")");
}

// ---- Exact nearest-neighbour decisions behind a GEMM filter (the scheme of generation_metrics.h) ----

// Rows of a feature set centred at a mean shared with the set they are compared to.
struct CentredRows {
  const float* values = nullptr;  // the original rows, for exact distances
  int64_t rows = 0;
  int64_t dim = 0;
  std::vector<float> centred;         // values - mean, rounded to float, for the GEMM
  std::vector<double> squared_norms;  // |centred row|^2, summed in double
};

// The coordinate means of the sets' rows together, summed in double over the rows in order, rounded to float.
std::vector<float> common_mean(const std::vector<const FeatureSet*>& sets) {
  const int64_t dim = sets.front()->dim;
  std::vector<double> sums(static_cast<size_t>(dim), 0.0);
  int64_t rows = 0;
  for (const FeatureSet* set : sets) {
    for (int64_t i = 0; i < set->rows; ++i)
      for (int64_t k = 0; k < dim; ++k) sums[k] += set->values[i * dim + k];
    rows += set->rows;
  }
  std::vector<float> mean(static_cast<size_t>(dim));
  for (int64_t k = 0; k < dim; ++k) mean[k] = static_cast<float>(sums[k] / static_cast<double>(rows));
  return mean;
}

// The filter's float32 Gram entries and sums reach 4 max |x'|^2 and must stay finite.
constexpr double kMaxSquaredNorm = FLT_MAX / 8.0;

CentredRows centre(const FeatureSet& set, const std::vector<float>& mean, const char* what) {
  CentredRows out;
  out.values = set.values.data();
  out.rows = set.rows;
  out.dim = set.dim;
  out.centred.resize(set.values.size());
  out.squared_norms.resize(static_cast<size_t>(set.rows));
  for (int64_t i = 0; i < set.rows; ++i) {
    double norm = 0.0;
    for (int64_t k = 0; k < set.dim; ++k) {
      const float c = set.values[i * set.dim + k] - mean[k];
      out.centred[i * set.dim + k] = c;
      norm += static_cast<double>(c) * c;
    }
    TL_CHECK_AS(ValueError, norm < kMaxSquaredNorm, what, " row ", i,
                " lies too far from the samples' mean for float32 squared distances (|x - mean|^2 = ", norm,
                " >= FLT_MAX / 8); rescale the features");
    out.squared_norms[i] = norm;
  }
  return out;
}

// D(x, y) in double, summed over the coordinates in order.
double exact_squared_distance(const float* x, const float* y, int64_t dim) {
  double sum = 0.0;
  for (int64_t k = 0; k < dim; ++k) {
    const double diff = static_cast<double>(x[k]) - static_cast<double>(y[k]);
    sum += diff * diff;
  }
  return sum;
}

// (d + 16) 2^-23: twice the worst case (d + 5) 2^-24 of the GEMM's dot products, the centring and the sums.
double filter_slack(int64_t dim) {
  return static_cast<double>(dim + 16) * 0x1p-23;
}

// One row's filter against every row j of `columns`: the estimate s_j = n_row + n_j - 2 g_j and its error bound
// t_j = slack (n_row + n_j), |s_j - D_j| <= t_j, as the bounds lower(j) = s_j - t_j <= D_j <= upper(j) = s_j + t_j
// (each evaluated in one expression; their rounding is far inside the slack's factor 2).
struct FilterRow {
  const float* row_values;
  const float* column_values;
  int64_t dim;
  double row_norm;
  const double* column_norms;
  const float* gram;  // <row', column_j'> from the float32 GEMM
  double slack;

  FilterRow(const CentredRows& rows, const CentredRows& columns, int64_t row, const float* gram_row)
      : row_values(rows.values + row * rows.dim),
        column_values(columns.values),
        dim(rows.dim),
        row_norm(rows.squared_norms[row]),
        column_norms(columns.squared_norms.data()),
        gram(gram_row),
        slack(filter_slack(rows.dim)) {}

  double lower(int64_t j) const {
    return (1.0 - slack) * (row_norm + column_norms[j]) - 2.0 * static_cast<double>(gram[j]);
  }
  double upper(int64_t j) const {
    return (1.0 + slack) * (row_norm + column_norms[j]) - 2.0 * static_cast<double>(gram[j]);
  }
  double exact(int64_t j) const { return exact_squared_distance(row_values, column_values + j * dim, dim); }
  // D_j <= radius, from the filter where it is conclusive.
  bool within(int64_t j, double radius) const {
    if (upper(j) <= radius) return true;
    if (lower(j) > radius) return false;
    return exact(j) <= radius;
  }
};

// A run of up to 64 consecutive filter bounds of one row, filled by one vectorised loop, with their least (four
// lanes by GCC/Clang vector extensions: GCC 12 leaves an OpenMP simd min-reduction of doubles scalar here).
// Nearly every run lies wholly beyond the row's limit and is passed over after that one minimum.
constexpr int64_t kRun = 64;
typedef double Lanes __attribute__((vector_size(32)));

struct BoundRun {
  alignas(32) double values[kRun];
  int64_t first = 0;
  int64_t count = 0;

  // values[l] = scale (n_row + n_j) - 2 g_j - max(offsets[j], floor), j = first + l; scale = 1 -+ slack gives the
  // lower or upper bounds; without offsets nothing is subtracted.
  void fill(const FilterRow& f, double scale, int64_t first_column, int64_t columns, const double* offsets = nullptr,
            double floor = 0.0) {
    first = first_column;
    count = std::min(kRun, columns - first_column);
    const double* norms = f.column_norms + first;
    const float* gram = f.gram + first;
    if (offsets == nullptr) {
      for (int64_t l = 0; l < count; ++l)
        values[l] = scale * (f.row_norm + norms[l]) - 2.0 * static_cast<double>(gram[l]);
    } else {
      offsets += first;
      for (int64_t l = 0; l < count; ++l)
        values[l] = scale * (f.row_norm + norms[l]) - 2.0 * static_cast<double>(gram[l]) -
                    (offsets[l] > floor ? offsets[l] : floor);
    }
  }
  void exclude(int64_t j) {  // column j takes no part in least()
    if (j >= first && j < first + count) values[j - first] = std::numeric_limits<double>::infinity();
  }
  double least() {
    for (int64_t l = count; l < kRun; ++l) values[l] = std::numeric_limits<double>::infinity();
    const double inf = std::numeric_limits<double>::infinity();
    Lanes m = {inf, inf, inf, inf};
    for (int64_t l = 0; l < kRun; l += 4) {
      Lanes x;
      std::memcpy(&x, values + l, sizeof(x));
      m = x < m ? x : m;
    }
    return std::min(std::min(m[0], m[1]), std::min(m[2], m[3]));
  }
};

// The k smallest values offered, ascending (insertion into k slots).
class SmallestK {
 public:
  explicit SmallestK(int k) : values_(static_cast<size_t>(k)) {}
  void reset() { std::fill(values_.begin(), values_.end(), std::numeric_limits<double>::infinity()); }
  void offer(double v) {
    if (!(v < values_.back())) return;
    size_t pos = values_.size() - 1;
    for (; pos > 0 && values_[pos - 1] > v; --pos) values_[pos] = values_[pos - 1];
    values_[pos] = v;
  }
  double kth() const { return values_.back(); }

 private:
  std::vector<double> values_;
};

constexpr int64_t kBlockEntries = int64_t(1) << 22;  // 16 MiB of float32 Gram entries per block of rows

// Calls block(start, end, gram) for consecutive blocks of rows, gram the row-major [end - start, columns.rows] Gram
// block from the CPU GEMM (one buffer, reused: a fresh tensor per block would page-fault its 16 MiB every time).
template <class Block>
void for_each_gram_block(const CentredRows& rows, const CentredRows& columns, const Block& block) {
  const int64_t step = std::max<int64_t>(1, std::min(rows.rows, kBlockEntries / columns.rows));
  std::vector<float> gram(static_cast<size_t>(step * columns.rows));
  const kernels::Backend& backend = kernels::cpu_backend();
  for (int64_t start = 0; start < rows.rows; start += step) {
    const int64_t end = std::min(rows.rows, start + step);
    backend.gemm(false, true, end - start, columns.rows, rows.dim, 1.0f, rows.centred.data() + start * rows.dim,
                 columns.centred.data(), 0.0f, gram.data());
    block(start, end, gram.data());
  }
}

// The k-th smallest D from each row of `set` to its other rows. Exact: at least k rows have D <= the k-th smallest
// upper bound, and every row with D at most that has its lower bound below it, so the candidates hold the k
// smallest.
std::vector<double> kth_squared_distances(const CentredRows& set, int k) {
  std::vector<double> radii(static_cast<size_t>(set.rows));
  for_each_gram_block(set, set, [&](int64_t start, int64_t end, const float* gram) {
#pragma omp parallel
    {
      SmallestK smallest(k);
#pragma omp for schedule(dynamic, 8)
      for (int64_t i = start; i < end; ++i) {
        const FilterRow f(set, set, i, gram + (i - start) * set.rows);
        BoundRun run;
        smallest.reset();
        for (int64_t first = 0; first < set.rows; first += kRun) {
          run.fill(f, 1.0 + f.slack, first, set.rows);
          run.exclude(i);
          if (!(run.least() < smallest.kth())) continue;
          for (int64_t l = 0; l < run.count; ++l) smallest.offer(run.values[l]);
        }
        const double bound = smallest.kth();
        smallest.reset();
        for (int64_t first = 0; first < set.rows; first += kRun) {
          run.fill(f, 1.0 - f.slack, first, set.rows);
          run.exclude(i);
          if (run.least() > bound) continue;
          for (int64_t l = 0; l < run.count; ++l)
            if (run.values[l] <= bound) smallest.offer(f.exact(first + l));
        }
        radii[i] = smallest.kth();
      }
    }
  });
  return radii;
}

void check_neighbour_count(int k, int64_t rows, const char* what) {
  TL_CHECK_AS(ValueError, k >= 1, "k must be at least 1, got ", k);
  TL_CHECK_AS(ValueError, k < rows, "k = ", k, " needs more than k ", what, ", got ", rows);
}

// ---- Eigen, with last bits independent of the thread count ----

// Eigen splits a large product over the OpenMP threads with a blocking chosen for their number
// (Eigen/src/Core/products/Parallelizer.h), so its last bits would depend on OMP_NUM_THREADS. Inside a parallel
// region of more than one thread, or where only one thread is allowed, it runs sequentially with the one-thread
// blocking: the helpers below call it only there.

// Runs f on one thread of a parallel region (for the eigensolvers, whose blocked Householder updates are products).
template <class F>
void eigen_sequentially(const F& f) {
  std::exception_ptr error;
#pragma omp parallel
  {
#pragma omp single
    {
      try {
        f();
      } catch (...) {
        error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

// a b, in slices of 32 columns of b spread over the threads, each slice one sequential Eigen product.
template <class Lhs>
Eigen::MatrixXd product(const Lhs& a, const Eigen::MatrixXd& b) {
  constexpr Eigen::Index kSlice = 32;
  Eigen::MatrixXd out(a.rows(), b.cols());
  const Eigen::Index slices = (b.cols() + kSlice - 1) / kSlice;
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic)
  for (Eigen::Index s = 0; s < slices; ++s) {
    try {
      const Eigen::Index first = s * kSlice, width = std::min(kSlice, b.cols() - first);
      out.middleCols(first, width).noalias() = a * b.middleCols(first, width);
    } catch (...) {
#pragma omp critical(tl_eval_product_error)
      error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  return out;
}

struct Moments {
  Eigen::VectorXd mean;
  Eigen::MatrixXd covariance;
};

// Mean (summed over the rows in order) and unbiased covariance X_c^T X_c / (n - 1), in double; symmetrised.
Moments moments(const FeatureSet& set) {
  const int64_t n = set.rows, d = set.dim;
  Moments m;
  m.mean = Eigen::VectorXd::Zero(d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k) m.mean[k] += set.values[i * d + k];
  m.mean /= static_cast<double>(n);
  Eigen::MatrixXd centred(n, d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k) centred(i, k) = static_cast<double>(set.values[i * d + k]) - m.mean[k];
  m.covariance = product(centred.transpose(), centred);
  m.covariance = (m.covariance + m.covariance.transpose()).eval() / (2.0 * static_cast<double>(n - 1));
  return m;
}

// ---- Label metrics ----

constexpr double kRowSumTolerance = 1e-3;

}  // namespace

double frechet_distance(const Tensor& a, const Tensor& b) {
  const FeatureSet sa = feature_set(a, "Frechet distance set A"), sb = feature_set(b, "Frechet distance set B");
  check_same_width(sa, sb, "Frechet distance set A", "set B");
  TL_CHECK_AS(ValueError, sa.rows >= 2 && sb.rows >= 2, "Frechet distance needs at least 2 samples per set for a ",
              "covariance, got ", sa.rows, " and ", sb.rows);
  const Moments ma = moments(sa), mb = moments(sb);
  // S_a^{1/2} = V diag(sqrt(max(lambda, 0))) V^T, then the eigenvalues mu of S_a^{1/2} S_b S_a^{1/2}.
  Eigen::MatrixXd vectors;
  Eigen::VectorXd roots;
  eigen_sequentially([&] {
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(ma.covariance);
    vectors = solver.eigenvectors();
    roots = solver.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  });
  const Eigen::MatrixXd scaled = vectors * roots.asDiagonal();
  const Eigen::MatrixXd root = product(scaled, vectors.transpose());
  Eigen::MatrixXd middle = product(product(root, mb.covariance), root);
  middle = (middle + middle.transpose()).eval() / 2.0;
  Eigen::VectorXd mu;
  eigen_sequentially(
      [&] { mu = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(middle, Eigen::EigenvaluesOnly).eigenvalues(); });
  double trace_sqrt = 0.0;  // tr((S_a^{1/2} S_b S_a^{1/2})^{1/2}) = sum sqrt(max(mu, 0)), ascending
  for (Eigen::Index i = 0; i < mu.size(); ++i) trace_sqrt += std::sqrt(std::max(mu[i], 0.0));
  double distance = 0.0;
  for (int64_t k = 0; k < sa.dim; ++k) {
    const double diff = ma.mean[k] - mb.mean[k];
    distance += diff * diff;
  }
  for (int64_t k = 0; k < sa.dim; ++k) distance += ma.covariance(k, k) + mb.covariance(k, k);
  return std::max(0.0, distance - 2.0 * trace_sqrt);
}

std::vector<double> kth_neighbour_distances(const Tensor& points, int k) {
  const FeatureSet set = feature_set(points, "points");
  check_neighbour_count(k, set.rows, "points");
  const CentredRows rows = centre(set, common_mean({&set}), "points");
  std::vector<double> radii = kth_squared_distances(rows, k);
  for (double& r : radii) r = std::sqrt(r);
  return radii;
}

ManifoldMetrics manifold_metrics(const Tensor& real, const Tensor& fake, int k) {
  const FeatureSet sr = feature_set(real, "real set"), sf = feature_set(fake, "fake set");
  check_same_width(sr, sf, "real set", "fake set");
  check_neighbour_count(k, sr.rows, "real samples");
  check_neighbour_count(k, sf.rows, "fake samples");
  const std::vector<float> mean = common_mean({&sr, &sf});
  const CentredRows reals = centre(sr, mean, "real set"), fakes = centre(sf, mean, "fake set");
  // Squared radii: comparing D with r^2 keeps every decision in exact squared distances.
  const std::vector<double> real_radii = kth_squared_distances(reals, k);
  const std::vector<double> fake_radii = kth_squared_distances(fakes, k);

  // Rows are fakes, columns reals: fake j in B(real_i, r_i) for precision, density and coverage; real i in
  // B(fake_j, f_j) for recall. Per-real flags are ORed per thread and merged (OR: any order gives the same).
  std::vector<int64_t> balls_containing(static_cast<size_t>(sf.rows), 0);
  std::vector<uint8_t> covered(static_cast<size_t>(sr.rows), 0), recalled(static_cast<size_t>(sr.rows), 0);
  for_each_gram_block(fakes, reals, [&](int64_t start, int64_t end, const float* gram) {
#pragma omp parallel
    {
      std::vector<uint8_t> my_covered(static_cast<size_t>(sr.rows), 0), my_recalled(static_cast<size_t>(sr.rows), 0);
#pragma omp for schedule(dynamic, 8)
      for (int64_t j = start; j < end; ++j) {
        const FilterRow f(fakes, reals, j, gram + (j - start) * sr.rows);
        const double fake_radius = fake_radii[j];
        int64_t count = 0;
        BoundRun run;
        for (int64_t first = 0; first < sr.rows; first += kRun) {
          // lower bound - max(r_i^2, f_j^2) > 0: outside both balls, as nearly every pair is.
          run.fill(f, 1.0 - f.slack, first, sr.rows, real_radii.data(), fake_radius);
          if (run.least() > 0.0) continue;
          for (int64_t i = first; i < first + run.count; ++i) {
            if (f.within(i, real_radii[i])) {
              ++count;
              my_covered[i] = 1;
            }
            if (f.within(i, fake_radius)) my_recalled[i] = 1;
          }
        }
        balls_containing[j] = count;
      }
#pragma omp critical(tl_eval_manifold_merge)
      for (int64_t i = 0; i < sr.rows; ++i) {
        covered[i] |= my_covered[i];
        recalled[i] |= my_recalled[i];
      }
    }
  });

  int64_t precise = 0, memberships = 0, covered_count = 0, recalled_count = 0;
  for (int64_t count : balls_containing) {
    precise += count > 0;
    memberships += count;
  }
  for (int64_t i = 0; i < sr.rows; ++i) {
    covered_count += covered[i];
    recalled_count += recalled[i];
  }
  ManifoldMetrics out;
  out.k = k;
  out.precision = static_cast<double>(precise) / static_cast<double>(sf.rows);
  out.recall = static_cast<double>(recalled_count) / static_cast<double>(sr.rows);
  out.density = static_cast<double>(memberships) / (static_cast<double>(k) * static_cast<double>(sf.rows));
  out.coverage = static_cast<double>(covered_count) / static_cast<double>(sr.rows);
  return out;
}

TwoSampleAccuracy one_nn_accuracy(const Tensor& real, const Tensor& fake) {
  const FeatureSet sr = feature_set(real, "real set"), sf = feature_set(fake, "fake set");
  check_same_width(sr, sf, "real set", "fake set");
  FeatureSet pooled;  // reals at 0..N-1, fakes at N..N+M-1
  pooled.rows = sr.rows + sf.rows;
  pooled.dim = sr.dim;
  pooled.values = sr.values;
  pooled.values.insert(pooled.values.end(), sf.values.begin(), sf.values.end());
  const CentredRows rows = centre(pooled, common_mean({&pooled}), "pooled set (reals, then fakes)");
  const int64_t n = pooled.rows, reals = sr.rows;

  // The nearest other pooled point, exactly: the least D is at most the least upper bound, and every point attaining
  // it has its lower bound below that; the candidates are scanned in index order, so ties go to the lower.
  std::vector<uint8_t> correct(static_cast<size_t>(n), 0);
  for_each_gram_block(rows, rows, [&](int64_t start, int64_t end, const float* gram) {
#pragma omp parallel for schedule(dynamic, 8)
    for (int64_t p = start; p < end; ++p) {
      const FilterRow f(rows, rows, p, gram + (p - start) * n);
      BoundRun run;
      double bound = std::numeric_limits<double>::infinity();
      for (int64_t first = 0; first < n; first += kRun) {
        run.fill(f, 1.0 + f.slack, first, n);
        run.exclude(p);
        bound = std::min(bound, run.least());
      }
      int64_t nearest = -1;
      double nearest_distance = std::numeric_limits<double>::infinity();
      for (int64_t first = 0; first < n; first += kRun) {
        run.fill(f, 1.0 - f.slack, first, n);
        run.exclude(p);
        if (run.least() > bound) continue;
        for (int64_t q = first; q < first + run.count; ++q) {
          if (run.values[q - first] > bound) continue;
          const double d = f.exact(q);
          if (d < nearest_distance) {
            nearest = q;
            nearest_distance = d;
          }
        }
      }
      correct[p] = (nearest < reals) == (p < reals);
    }
  });

  int64_t real_correct = 0, fake_correct = 0;
  for (int64_t p = 0; p < reals; ++p) real_correct += correct[p];
  for (int64_t p = reals; p < n; ++p) fake_correct += correct[p];
  TwoSampleAccuracy out;
  out.accuracy = static_cast<double>(real_correct + fake_correct) / static_cast<double>(n);
  out.real_accuracy = static_cast<double>(real_correct) / static_cast<double>(sr.rows);
  out.fake_accuracy = static_cast<double>(fake_correct) / static_cast<double>(sf.rows);
  return out;
}

LabelMetrics label_metrics(const Tensor& probabilities) {
  const Tensor& p = probabilities;
  TL_CHECK_AS(ValueError, p.defined(), "class probabilities are an undefined tensor");
  TL_CHECK_AS(ValueError, p.rank() == 2 && p.dtype() == DType::Float32,
              "class probabilities must be a float32 [samples, classes] tensor, got ", p.describe());
  const int64_t n = p.dim(0), classes = p.dim(1);
  TL_CHECK_AS(ValueError, n > 0, "class probabilities are empty (0 samples)");
  TL_CHECK_AS(ValueError, classes > 0, "class probabilities have 0 classes");
  const std::vector<float> values = p.to_vector<float>();
  for (int64_t x = 0; x < n; ++x) {
    double sum = 0.0;
    for (int64_t y = 0; y < classes; ++y) {
      const float v = values[x * classes + y];
      TL_CHECK_AS(ValueError, v >= 0.0f && v <= 1.0f, "class probability of row ", x, " class ", y, " is ", v,
                  ", outside [0, 1]");
      sum += v;
    }
    TL_CHECK_AS(ValueError, std::abs(sum - 1.0) <= kRowSumTolerance, "class probabilities of row ", x, " sum to ", sum,
                ", not 1 (within ", kRowSumTolerance, ")");
  }

  LabelMetrics out;
  out.histogram.assign(static_cast<size_t>(classes), 0);
  std::vector<double> marginal(static_cast<size_t>(classes), 0.0);
  double entropy_sum = 0.0;
  for (int64_t x = 0; x < n; ++x) {
    const float* row = values.data() + x * classes;
    double entropy = 0.0;
    for (int64_t y = 0; y < classes; ++y) {
      if (row[y] > 0.0f) entropy -= row[y] * std::log(static_cast<double>(row[y]));
      marginal[y] += row[y];
    }
    entropy_sum += entropy;
    ++out.histogram[std::max_element(row, row + classes) - row];  // the first maximum: ties to the lower class
  }
  for (double& m : marginal) m /= static_cast<double>(n);
  out.mean_entropy = entropy_sum / static_cast<double>(n);
  for (double m : marginal)
    if (m > 0.0) out.marginal_entropy -= m * std::log(m);

  // E_x KL(p(y|x) || p(y)); p(y) > 0 wherever some p(y|x) > 0.
  double kl_sum = 0.0;
  for (int64_t x = 0; x < n; ++x) {
    const float* row = values.data() + x * classes;
    double kl = 0.0;
    for (int64_t y = 0; y < classes; ++y)
      if (row[y] > 0.0f) kl += row[y] * (std::log(static_cast<double>(row[y])) - std::log(marginal[y]));
    kl_sum += kl;
  }
  out.inception_score = std::exp(kl_sum / static_cast<double>(n));

  for (int64_t count : out.histogram) {
    if (count == 0) continue;
    const double q = static_cast<double>(count) / static_cast<double>(n);
    out.kl_to_uniform += q * std::log(q * static_cast<double>(classes));
  }
  return out;
}

nlohmann::json to_json(const ManifoldMetrics& metrics) {
  return {{"precision", metrics.precision},
          {"recall", metrics.recall},
          {"density", metrics.density},
          {"coverage", metrics.coverage},
          {"k", metrics.k}};
}

nlohmann::json to_json(const LabelMetrics& metrics) {
  return {{"mean_entropy", metrics.mean_entropy},
          {"marginal_entropy", metrics.marginal_entropy},
          {"inception_score", metrics.inception_score},
          {"kl_to_uniform", metrics.kl_to_uniform},
          {"histogram", metrics.histogram}};
}

nlohmann::json to_json(const TwoSampleAccuracy& metrics) {
  return {{"accuracy", metrics.accuracy},
          {"real_accuracy", metrics.real_accuracy},
          {"fake_accuracy", metrics.fake_accuracy}};
}

}  // namespace tl::eval
