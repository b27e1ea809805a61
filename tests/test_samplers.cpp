// Latent samplers and interpolation paths (apps/evaluation/samplers.h): the unit ball's radius law by a
// Kolmogorov-Smirnov bound, Gaussian moments, the KDE score against finite differences of log p in double, the
// Langevin walk's moments against the KDE's exact ones, determinism under a fixed seed, linear and geodesic paths
// (each hop an edge of a brute-force k-NN graph, the hop sequence a shortest path, equal arc-length spacing, a ring
// whose geodesic stays on the circle), and the refusals of bad input.
//
// Statistical tolerances are ~4.5 standard errors (a false failure under 1e-5 per comparison) unless stated; the
// seeds are fixed, so a pass is reproducible.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "apps/evaluation/samplers.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

using eval::GeodesicPath;
using eval::LangevinOptions;

constexpr double kSigmas = 4.5;

std::vector<double> row_of(const Tensor& t, int64_t i) {
  const int64_t m = t.dim(1);
  const float* v = t.data<float>() + i * m;
  return std::vector<double>(v, v + m);
}

double dist(const std::vector<double>& x, const std::vector<double>& y) {
  double s = 0.0;
  for (size_t j = 0; j < x.size(); ++j) s += (x[j] - y[j]) * (x[j] - y[j]);
  return std::sqrt(s);
}

// Sample mean and covariance (divisor n) of the rows of codes, in double.
struct Moments {
  std::vector<double> mean;
  std::vector<double> cov;  // [m, m]
};

Moments moments(const Tensor& codes) {
  const int64_t n = codes.dim(0), m = codes.dim(1);
  const float* z = codes.data<float>();
  Moments out{std::vector<double>(m, 0.0), std::vector<double>(m * m, 0.0)};
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) out.mean[j] += z[i * m + j];
  for (double& v : out.mean) v /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j)
      for (int64_t l = 0; l < m; ++l) out.cov[j * m + l] += (z[i * m + j] - out.mean[j]) * (z[i * m + l] - out.mean[l]);
  for (double& v : out.cov) v /= static_cast<double>(n);
  return out;
}

// The message of a tl::ValueError thrown by body (fails the test on anything else).
std::string refusal(const std::function<void()>& body) {
  try {
    body();
  } catch (const ValueError& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL_CHECK("expected a tl::ValueError, got: " << e.what());
    return "";
  }
  FAIL_CHECK("expected a tl::ValueError, but nothing was thrown");
  return "";
}

// log p(z) of the Gaussian KDE, in double with the log-sum-exp shift.
double kde_log_density(const Tensor& train, const std::vector<double>& z, double h) {
  const int64_t n = train.dim(0), m = train.dim(1);
  std::vector<double> logits(n);
  double top = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    const double d = dist(row_of(train, i), z);
    logits[i] = -d * d / (2.0 * h * h);
    top = std::max(top, logits[i]);
  }
  double sum = 0.0;
  for (const double l : logits) sum += std::exp(l - top);
  return top + std::log(sum / n) - 0.5 * m * std::log(2.0 * M_PI * h * h);
}

// A 2-D sample of N(mu, Sigma), Sigma = L L^T with L = [[l00, 0], [l10, l11]].
Tensor correlated_gaussian(int64_t n, Generator& gen) {
  const double mu[2] = {1.0, -2.0}, l00 = std::sqrt(2.0), l10 = 1.2 / std::sqrt(2.0), l11 = std::sqrt(1.5 - 0.72);
  Tensor g = Tensor::normal({n, 2}, gen);
  float* v = g.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const double g0 = v[2 * i], g1 = v[2 * i + 1];
    v[2 * i] = static_cast<float>(mu[0] + l00 * g0);
    v[2 * i + 1] = static_cast<float>(mu[1] + l10 * g0 + l11 * g1);
  }
  return g;
}

// The sample's mean and covariance against the KDE's exact moments (the training mean; the training covariance
// with divisor N plus h^2 I), each within kSigmas standard errors of an iid sample of n (mean: sqrt(C_jj / n);
// covariance, Gaussian fourth moments: sqrt((C_jj C_ll + C_jl^2) / n)) plus `bias` on the covariance.
void check_kde_moments(const Tensor& sample, const Tensor& train, double h, double bias, const std::string& what) {
  const Moments got = moments(sample), data = moments(train);
  const int64_t m = train.dim(1);
  const double n = static_cast<double>(sample.dim(0));
  std::vector<double> cov = data.cov;
  for (int64_t j = 0; j < m; ++j) cov[j * m + j] += h * h;
  for (int64_t j = 0; j < m; ++j) {
    INFO(what << ": mean " << j << " = " << got.mean[j] << ", the KDE's " << data.mean[j]);
    CHECK(std::abs(got.mean[j] - data.mean[j]) <= kSigmas * std::sqrt(cov[j * m + j] / n));
    for (int64_t l = 0; l < m; ++l) {
      const double se = std::sqrt((cov[j * m + j] * cov[l * m + l] + cov[j * m + l] * cov[j * m + l]) / n);
      INFO(what << ": cov(" << j << ", " << l << ") = " << got.cov[j * m + l] << ", the KDE's " << cov[j * m + l]);
      CHECK(std::abs(got.cov[j * m + l] - cov[j * m + l]) <= kSigmas * se + bias);
    }
  }
}

// The symmetric k-NN graph by brute force in double (ties by index): adjacency sets.
std::vector<std::set<int64_t>> brute_force_knn(const Tensor& train, int k) {
  const int64_t n = train.dim(0);
  std::vector<std::set<int64_t>> adjacency(n);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<std::pair<double, int64_t>> order;
    for (int64_t j = 0; j < n; ++j)
      if (j != i) order.emplace_back(dist(row_of(train, i), row_of(train, j)), j);
    std::sort(order.begin(), order.end());
    for (int q = 0; q < k; ++q) {
      adjacency[i].insert(order[q].second);
      adjacency[order[q].second].insert(i);
    }
  }
  return adjacency;
}

int64_t brute_force_nearest(const Tensor& train, const std::vector<double>& x) {
  int64_t best = 0;
  for (int64_t i = 1; i < train.dim(0); ++i)
    if (dist(row_of(train, i), x) < dist(row_of(train, best), x)) best = i;
  return best;
}

// Shortest-path length from s to t over a brute-force graph (O(N^2) Dijkstra).
double brute_force_shortest(const Tensor& train, const std::vector<std::set<int64_t>>& adjacency, int64_t s,
                            int64_t t) {
  const int64_t n = train.dim(0);
  std::vector<double> d(n, INFINITY);
  std::vector<bool> done(n, false);
  d[s] = 0.0;
  for (int64_t round = 0; round < n; ++round) {
    int64_t u = -1;
    for (int64_t v = 0; v < n; ++v)
      if (!done[v] && (u < 0 || d[v] < d[u])) u = v;
    if (u < 0 || std::isinf(d[u])) break;
    done[u] = true;
    for (const int64_t v : adjacency[u]) d[v] = std::min(d[v], d[u] + dist(row_of(train, u), row_of(train, v)));
  }
  return d[t];
}

// Checks the resampled points lie on the polyline at arc lengths L i / (T - 1): each point is projected on the
// polyline (searching forward from the previous point's segment), its arc coordinate read off.
void check_arc_length_spacing(const GeodesicPath& path) {
  const Tensor& line = path.polyline;
  const int64_t vertices = line.dim(0), points = path.points.dim(0);
  std::vector<double> arc(vertices, 0.0);
  for (int64_t v = 1; v < vertices; ++v) arc[v] = arc[v - 1] + dist(row_of(line, v - 1), row_of(line, v));
  const double total = arc.back();
  REQUIRE(total > 0.0);
  int64_t segment = 0;
  for (int64_t i = 0; i < points; ++i) {
    const std::vector<double> p = row_of(path.points, i);
    double best = INFINITY, best_arc = 0.0;
    int64_t best_segment = segment;
    for (int64_t v = segment; v + 1 < vertices; ++v) {
      const std::vector<double> x = row_of(line, v), y = row_of(line, v + 1);
      double dot = 0.0, len2 = 0.0;
      for (size_t j = 0; j < x.size(); ++j) {
        dot += (p[j] - x[j]) * (y[j] - x[j]);
        len2 += (y[j] - x[j]) * (y[j] - x[j]);
      }
      const double f = len2 > 0.0 ? std::clamp(dot / len2, 0.0, 1.0) : 0.0;
      std::vector<double> q(x.size());
      for (size_t j = 0; j < x.size(); ++j) q[j] = x[j] + f * (y[j] - x[j]);
      const double d = dist(p, q);
      if (d < best - 1e-12) best = d, best_arc = arc[v] + f * std::sqrt(len2), best_segment = v;
    }
    segment = best_segment;
    // Float32 rounding of the points and the polyline: ~1e-7 of the coordinates; 1e-5 of the length is ample.
    INFO("point " << i << " at arc " << best_arc << ", expected " << total * i / (points - 1));
    CHECK(best <= 1e-5 * total);
    CHECK(std::abs(best_arc - total * i / (points - 1)) <= 1e-5 * total);
  }
}

TEST_CASE("unit-ball codes follow the radius law P(r <= s) = s^m and have isotropic directions") {
  const int64_t n = 20000;
  for (const int64_t m : {2, 5, 10}) {
    Generator gen(101 + m);
    const Tensor codes = eval::unit_ball_codes(n, m, gen);
    REQUIRE(codes.shape() == Shape{n, m});
    std::vector<double> radii(n);
    std::vector<double> direction_mean(m, 0.0), direction_square(m, 0.0);
    for (int64_t i = 0; i < n; ++i) {
      const std::vector<double> z = row_of(codes, i);
      radii[i] = dist(z, std::vector<double>(m, 0.0));
      for (int64_t j = 0; j < m; ++j) {
        direction_mean[j] += z[j] / radii[i] / n;
        direction_square[j] += z[j] * z[j] / (radii[i] * radii[i]) / n;
      }
    }
    CAPTURE(m);
    CHECK(*std::max_element(radii.begin(), radii.end()) <= 1.0);
    // Kolmogorov-Smirnov: D = sup |F_n - F| over the sorted radii. DKW: P(D > eps) <= 2 exp(-2 n eps^2) = 2.5e-4
    // for eps = 0.015 (4.2 times the largest pointwise standard error 0.5 / sqrt(n)).
    std::sort(radii.begin(), radii.end());
    double ks = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const double f = std::pow(radii[i], static_cast<double>(m));
      ks = std::max({ks, static_cast<double>(i + 1) / n - f, f - static_cast<double>(i) / n});
    }
    CHECK(ks <= 0.015);
    // The CDF at a few radii, each within kSigmas binomial standard errors.
    for (const double s : {0.25, 0.5, 0.75, 0.9, 0.99}) {
      const double expected = std::pow(s, static_cast<double>(m));
      const double empirical = static_cast<double>(std::upper_bound(radii.begin(), radii.end(), s) - radii.begin()) / n;
      INFO("P(r <= " << s << ") = " << empirical << ", s^m = " << expected);
      CHECK(std::abs(empirical - expected) <= kSigmas * std::sqrt(expected * (1 - expected) / n) + 1.0 / n);
    }
    // Directions u = z / |z| uniform on the sphere: E u_j = 0 (variance 1 / m), E u_j^2 = 1 / m (variance
    // 3 / (m (m + 2)) - 1 / m^2).
    const double var_square = 3.0 / (m * (m + 2.0)) - 1.0 / (m * m);
    for (int64_t j = 0; j < m; ++j) {
      CHECK(std::abs(direction_mean[j]) <= kSigmas * std::sqrt(1.0 / (m * n)));
      CHECK(std::abs(direction_square[j] - 1.0 / m) <= kSigmas * std::sqrt(var_square / n));
    }
  }
}

TEST_CASE("Gaussian codes have mean zero and identity covariance, and replay under a fixed seed") {
  const int64_t n = 20000, m = 4;
  Generator gen(7);
  const Tensor codes = eval::gaussian_codes(n, m, gen);
  REQUIRE(codes.shape() == Shape{n, m});
  const Moments got = moments(codes);
  for (int64_t j = 0; j < m; ++j) {
    CHECK(std::abs(got.mean[j]) <= kSigmas / std::sqrt(n));  // standard error 1 / sqrt(n)
    for (int64_t l = 0; l < m; ++l) {
      // Var of a sample variance 2 / n, of a sample covariance 1 / n.
      const double se = std::sqrt((j == l ? 2.0 : 1.0) / n);
      CHECK(std::abs(got.cov[j * m + l] - (j == l ? 1.0 : 0.0)) <= kSigmas * se);
    }
  }
  Generator again(7);
  CHECK(eval::gaussian_codes(n, m, again).to_vector<float>() == codes.to_vector<float>());
}

TEST_CASE("Scott's bandwidth is the mean coordinate standard deviation times N^(-1/(m+4))") {
  const Tensor train = Tensor::from_vector<float>({0, 0, 1, 4, 2, 8, 3, 0, 4, 4}, {5, 2});
  // Coordinate 0: 0..4, sample variance 2.5; coordinate 1: {0, 4, 8, 0, 4}, mean 3.2, sample variance 44.8 / 4.
  const double sigma = (std::sqrt(2.5) + std::sqrt(11.2)) / 2.0;
  CHECK(eval::scott_bandwidth(train) == doctest::Approx(sigma * std::pow(5.0, -1.0 / 6.0)).epsilon(1e-12));
}

TEST_CASE("the KDE score matches central differences of log p, far from the data too") {
  Generator gen(3);
  const Tensor train = Tensor::normal({40, 3}, gen, 0.5f, 1.0f);
  Tensor z = Tensor::normal({6, 3}, gen, 0.0f, 1.5f);
  float* zv = z.data<float>();
  for (int j = 0; j < 3; ++j) zv[5 * 3 + j] = 50.0f;  // every kernel value underflows without the log-sum-exp shift
  const double h = 0.6;
  const Tensor score = eval::kde_score(train, z, h);
  REQUIRE(score.shape() == Shape{6, 3});
  const double step = 1e-5;
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 3; ++j) {
      std::vector<double> plus = row_of(z, i), minus = row_of(z, i);
      plus[j] += step;
      minus[j] -= step;
      const double fd = (kde_log_density(train, plus, h) - kde_log_density(train, minus, h)) / (2 * step);
      const double got = score.data<float>()[i * 3 + j];
      // The difference quotient in double is good to ~1e-9; the float32 score to ~1e-7 |z| |z_i| / h^2 relative
      // in the weights (a few 1e-5 for the far point) and ~1e-7 |z| / h^2 absolute.
      INFO("row " << i << ", coordinate " << j << ": score " << got << ", finite difference " << fd);
      CHECK(std::abs(got - fd) <= 1e-4 * std::abs(fd) + 1e-3);
    }
}

TEST_CASE("KDE draws and the Langevin walk on the KDE recover its mean and covariance Sigma + h^2 I") {
  Generator data_gen(21);
  const Tensor train = correlated_gaussian(2000, data_gen);
  const double h = eval::scott_bandwidth(train);
  const int64_t n = 4000;
  Generator gen(5);
  check_kde_moments(eval::kde_codes(train, n, 0.0, gen), train, h, 0.0, "KDE draws");
  // The walk starts at KDE draws, so it stays near the density; the unadjusted walk's own stationary law has
  // its kernel variance inflated by about eta / (2 h^2) = 5% of h^2, allowed as a 0.1 h^2 bias. A walk without
  // the drift would add 2 eta T = 10 h^2 (about 1.4 here) to each variance, far outside the tolerance (~0.2).
  Generator walk_gen(9);
  const LangevinOptions options;
  const Tensor walked = eval::langevin_codes(train, n, options, walk_gen);
  REQUIRE(walked.shape() == Shape{n, 2});
  check_kde_moments(walked, train, h, 0.1 * h * h, "Langevin");
}

TEST_CASE("Langevin codes are bit-identical for a fixed seed and compose from KDE draws and a walk") {
  Generator data_gen(4);
  const Tensor train = Tensor::normal({300, 5}, data_gen);
  LangevinOptions options;
  options.steps = 10;
  Generator first(77), second(77), third(78), parts(77);
  const std::vector<float> a = eval::langevin_codes(train, 50, options, first).to_vector<float>();
  CHECK(a == eval::langevin_codes(train, 50, options, second).to_vector<float>());
  CHECK(a != eval::langevin_codes(train, 50, options, third).to_vector<float>());
  const Tensor start = eval::kde_codes(train, 50, 0.0, parts);
  CHECK(a == eval::langevin_walk(train, start, options, parts).to_vector<float>());
  LangevinOptions still = options;
  still.steps = 0;
  Generator unused(1);
  CHECK(eval::langevin_walk(train, start, still, unused).to_vector<float>() == start.to_vector<float>());
}

TEST_CASE("a linear path has exact ends and equally spaced collinear points") {
  Generator gen(12);
  const Tensor a = Tensor::normal({6}, gen), b = Tensor::normal({1, 6}, gen);
  const Tensor path = eval::linear_path(a, b, 9);
  REQUIRE(path.shape() == Shape{9, 6});
  const std::vector<double> x = row_of(reshape(a, {1, 6}), 0), y = row_of(b, 0);
  CHECK(row_of(path, 0) == std::vector<double>(x));
  CHECK(row_of(path, 8) == std::vector<double>(y));
  const double step = dist(x, y) / 8;
  for (int64_t i = 0; i < 9; ++i) {
    std::vector<double> expected(6);
    for (int j = 0; j < 6; ++j) expected[j] = x[j] + (i / 8.0) * (y[j] - x[j]);
    CHECK(dist(row_of(path, i), expected) <= 1e-6 * dist(x, y));  // float32 rounding of the coordinates
    if (i > 0) CHECK(std::abs(dist(row_of(path, i - 1), row_of(path, i)) - step) <= 1e-6 * dist(x, y));
  }
}

TEST_CASE("a geodesic path hops along k-NN edges on a shortest path and is resampled at equal arc length") {
  Generator gen(31);
  // A noisy helix in 3-D: 300 latents 0.042 apart along the curve, noise 0.01.
  const int64_t n = 300;
  Tensor train = Tensor::normal({n, 3}, gen, 0.0f, 0.01f);
  float* t = train.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const double s = 4.0 * M_PI * i / n;
    t[3 * i] += static_cast<float>(std::cos(s));
    t[3 * i + 1] += static_cast<float>(std::sin(s));
    t[3 * i + 2] += static_cast<float>(s / (4.0 * M_PI));
  }
  const int k = 5;
  const Tensor a = Tensor::from_vector<float>({1.1f, 0.1f, -0.05f}, {3});
  const Tensor b = Tensor::from_vector<float>({-0.9f, 0.2f, 0.8f}, {1, 3});
  const int64_t points = 40;
  const GeodesicPath path = eval::geodesic_path(train, a, b, k, points);

  const std::vector<std::set<int64_t>> knn = brute_force_knn(train, k);
  const eval::KnnGraph graph = eval::knn_graph(train, k);
  for (int64_t i = 0; i < n; ++i) {
    std::set<int64_t> mine;
    for (const auto& [j, d] : graph.adjacency[i]) {
      mine.insert(j);
      CHECK(d == doctest::Approx(dist(row_of(train, i), row_of(train, j))).epsilon(1e-12));
    }
    CHECK(mine == knn[i]);
  }

  const std::vector<double> x = row_of(reshape(a, {1, 3}), 0), y = row_of(b, 0);
  REQUIRE(!path.graph_nodes.empty());
  CHECK(path.graph_nodes.front() == brute_force_nearest(train, x));
  CHECK(path.graph_nodes.back() == brute_force_nearest(train, y));
  double length = 0.0;
  for (size_t q = 1; q < path.graph_nodes.size(); ++q) {
    const int64_t u = path.graph_nodes[q - 1], v = path.graph_nodes[q];
    CHECK(knn[u].count(v) == 1);
    length += dist(row_of(train, u), row_of(train, v));
  }
  CHECK(path.graph_length == doctest::Approx(length).epsilon(1e-12));
  CHECK(length == doctest::Approx(brute_force_shortest(train, knn, path.graph_nodes.front(), path.graph_nodes.back()))
                      .epsilon(1e-12));

  REQUIRE(path.points.shape() == Shape{points, 3});
  CHECK(row_of(path.points, 0) == x);
  CHECK(row_of(path.points, points - 1) == y);
  REQUIRE(path.polyline.dim(0) == static_cast<int64_t>(path.graph_nodes.size()) + 2);
  check_arc_length_spacing(path);
  // The same path from a graph built once.
  const GeodesicPath reused = eval::geodesic_path(graph, train, a, b, points);
  CHECK(reused.graph_nodes == path.graph_nodes);
  CHECK(reused.points.to_vector<float>() == path.points.to_vector<float>());
}

TEST_CASE("the geodesic across a ring of latents follows the circle while the line crosses the centre") {
  const int64_t n = 200;
  std::vector<float> ring(2 * n);
  for (int64_t i = 0; i < n; ++i) {
    ring[2 * i] = static_cast<float>(std::cos(2.0 * M_PI * i / n));
    ring[2 * i + 1] = static_cast<float>(std::sin(2.0 * M_PI * i / n));
  }
  const Tensor train = Tensor::from_vector(ring, {n, 2});
  const Tensor a = Tensor::from_vector<float>({1.0f, 0.0f}, {2}), b = Tensor::from_vector<float>({-1.0f, 0.0f}, {2});
  const GeodesicPath path = eval::geodesic_path(train, a, b, 4, 21);
  CHECK(path.graph_nodes.front() == 0);
  CHECK(path.graph_nodes.back() == n / 2);
  // Hops of 2 steps (0.063 rad): chord midpoints at radius cos(0.031) = 0.9995; two passes of the 3-point average
  // shrink the radius by about 2 (0.063^2 / 3) = 0.0026.
  for (int64_t i = 0; i < 21; ++i) {
    const double r = dist(row_of(path.points, i), {0.0, 0.0});
    INFO("geodesic point " << i << " at radius " << r);
    CHECK(r >= 0.99);
    CHECK(r <= 1.0 + 1e-6);
  }
  CHECK(path.graph_length == doctest::Approx(M_PI).epsilon(0.01));  // the half circle, by chords
  check_arc_length_spacing(path);
  const Tensor line = eval::linear_path(a, b, 21);
  CHECK(dist(row_of(line, 10), {0.0, 0.0}) == 0.0);  // t = 1/2 of (1, 0) -> (-1, 0) is the centre exactly
}

TEST_CASE("a geodesic between disconnected clusters is refused with a message naming k") {
  Generator gen(8);
  Tensor train = Tensor::normal({60, 2}, gen, 0.0f, 0.1f);
  float* t = train.data<float>();
  for (int64_t i = 30; i < 60; ++i) t[2 * i] += 100.0f;
  const Tensor a = Tensor::from_vector<float>({0.0f, 0.0f}, {2}), b = Tensor::from_vector<float>({100.0f, 0.0f}, {2});
  const std::string message = refusal([&] { eval::geodesic_path(train, a, b, 3, 10); });
  CHECK_THROWS_AS(eval::geodesic_path(train, a, b, 3, 10), eval::UnconnectedEnds);
  CHECK(message.find("k = 3") != std::string::npos);
  CHECK(message.find("larger k") != std::string::npos);
  // With k = 35 every latent's neighbours reach the other cluster.
  const GeodesicPath path = eval::geodesic_path(train, a, b, 35, 10);
  CHECK(path.points.dim(0) == 10);
}

TEST_CASE("samplers and paths refuse bad sizes, bandwidths, step sizes, k and code widths") {
  Generator gen(1);
  const Tensor train = Tensor::normal({20, 3}, gen);
  const Tensor z = Tensor::normal({4, 3}, gen), wide = Tensor::normal({4, 2}, gen);
  const Tensor a = Tensor::normal({3}, gen), b = Tensor::normal({3}, gen), b2 = Tensor::normal({2}, gen);
  const Tensor empty = Tensor::empty({0, 3});
  auto says = [](const std::string& message, const std::string& part) {
    INFO("message: " << message);
    CHECK(message.find(part) != std::string::npos);
  };
  says(refusal([&] { eval::gaussian_codes(0, 3, gen); }), "n must be positive");
  says(refusal([&] { eval::gaussian_codes(5, 0, gen); }), "m must be positive");
  says(refusal([&] { eval::unit_ball_codes(-1, 3, gen); }), "n must be positive");
  says(refusal([&] { eval::unit_ball_codes(5, -2, gen); }), "m must be positive");
  says(refusal([&] { eval::scott_bandwidth(Tensor::ones({1, 3})); }), "at least 2");
  says(refusal([&] { eval::scott_bandwidth(Tensor::ones({5, 3})); }), "all equal");
  says(refusal([&] { eval::scott_bandwidth(empty); }), "empty");
  says(refusal([&] { eval::kde_score(train, z, 0.0); }), "bandwidth must be positive");
  says(refusal([&] { eval::kde_score(train, z, -1.0); }), "bandwidth must be positive");
  says(refusal([&] { eval::kde_score(train, wide, 1.0); }), "width 2");
  says(refusal([&] { eval::kde_score(empty, z, 1.0); }), "empty");
  says(refusal([&] { eval::kde_codes(train, 0, 1.0, gen); }), "n must be positive");
  says(refusal([&] { eval::kde_codes(train, 5, -0.5, gen); }), "bandwidth must be positive");
  LangevinOptions bad_eta;
  bad_eta.step_size = -0.1;
  says(refusal([&] { eval::langevin_codes(train, 5, bad_eta, gen); }), "step size");
  LangevinOptions bad_h;
  bad_h.bandwidth = -1.0;
  says(refusal([&] { eval::langevin_codes(train, 5, bad_h, gen); }), "bandwidth must be positive");
  LangevinOptions bad_steps;
  bad_steps.steps = -1;
  says(refusal([&] { eval::langevin_walk(train, z, bad_steps, gen); }), "steps");
  says(refusal([&] { eval::langevin_walk(train, wide, LangevinOptions{}, gen); }), "width 2");
  says(refusal([&] { eval::langevin_codes(empty, 5, LangevinOptions{}, gen); }), "empty");
  says(refusal([&] { eval::linear_path(a, b, 1); }), "at least 2 points");
  says(refusal([&] { eval::linear_path(a, b2, 5); }), "width");
  says(refusal([&] { eval::geodesic_path(train, a, b, 0, 5); }), "k must be in [1, N - 1]");
  says(refusal([&] { eval::geodesic_path(train, a, b, 20, 5); }), "got k = 20");
  says(refusal([&] { eval::geodesic_path(train, a, b, 3, 1); }), "at least 2 points");
  says(refusal([&] { eval::geodesic_path(train, a, b2, 3, 5); }), "b has width 2");
  says(refusal([&] { eval::geodesic_path(empty, a, b, 3, 5); }), "empty");
  says(refusal([&] { eval::geodesic_path(train, a, b, 3, 5, -1); }), "smoothing_passes");
  says(refusal([&] { eval::knn_graph(Tensor::ones({1, 3}), 1); }), "k must be in");
}

}  // namespace
}  // namespace tl::testing
