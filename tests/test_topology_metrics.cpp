// Topology metrics of the evaluation tool (apps/evaluation/topology_metrics.h): hand-derived distances, Betti
// numbers, Betti curves and topological accuracy for squares and collinear points, invariance to a scaled copy,
// H0 Betti numbers against a union-find count of the Rips graph's components, the Betti-curve distance and the
// accuracy against a direct evaluation, the spread over batches, the report keys and the refusals.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "apps/evaluation/topology_metrics.h"
#include "nn/data/synthetic.h"
#include "tests/test_support.h"
#include "topology/matching.h"
#include "topology/persistence.h"

namespace tl::testing {
namespace {

using eval::compare_topology;
using eval::DiagramScale;
using eval::TopologyComparison;
using eval::TopologyComparisonOptions;

Tensor points(const std::vector<float>& xy) {
  return Tensor::from_vector(xy, {static_cast<int64_t>(xy.size() / 2), 2});
}

Tensor square(float side) {
  return points({0, 0, side, 0, side, side, 0, side});
}

TopologyComparisonOptions options_with(DiagramScale scale, int curve_points = 64) {
  TopologyComparisonOptions options;
  options.scale = scale;
  options.curve_points = curve_points;
  return options;
}

// Every distance 0 and every Betti curve equal: what comparing a family with itself (up to scale) must give.
void check_identical(const TopologyComparison& c) {
  for (const auto& d : c.degrees) {
    CHECK(d.w1.mean == doctest::Approx(0.0));
    CHECK(d.w2.mean == doctest::Approx(0.0));
    CHECK(d.bottleneck.mean == doctest::Approx(0.0));
    CHECK(d.w1.std == doctest::Approx(0.0));
    CHECK(d.betti_curve_l2.mean == 0.0);
    CHECK(d.topological_accuracy.mean == 1.0);
    CHECK(d.topological_accuracy.std == 0.0);
    CHECK(d.betti_a.mean == d.betti_b.mean);
  }
  CHECK(c.topological_accuracy.mean == 1.0);
}

// The number of connected components of the graph with an edge wherever D_ij <= eps (union-find).
int components(const std::vector<float>& dist, int64_t n, double eps) {
  std::vector<int64_t> parent(static_cast<size_t>(n));
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](int64_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  };
  int count = static_cast<int>(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j)
      if (static_cast<double>(dist[i * n + j]) <= eps && find(i) != find(j)) {
        parent[find(i)] = find(j);
        --count;
      }
  return count;
}

float diameter(const Tensor& cloud) {
  const std::vector<float> d = topology::pairwise_distances(cloud).to_vector<float>();
  return *std::max_element(d.begin(), d.end());
}

// beta_k(t) of a diagram divided by s, counted directly: b <= t < d, plus the essential bars born by t.
double direct_betti(const topology::Diagram& diagram, float s, float t) {
  double count = 0.0;
  for (const auto& p : diagram.pairs) count += p.birth / s <= t && t < p.death / s;
  for (const auto& e : diagram.essential) count += e.birth / s <= t;
  return count;
}

double sample_std(const std::vector<double>& v) {
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double squares = 0.0;
  for (double x : v) squares += (x - mean) * (x - mean);
  return std::sqrt(squares / static_cast<double>(v.size() - 1));
}

}  // namespace

TEST_CASE("a family compared with itself is at distance zero with full topological accuracy") {
  Generator generator(11);
  std::vector<Tensor> clouds;
  for (int b = 0; b < 3; ++b) clouds.push_back(data::noisy_circle(40 + 5 * b, 1.0f, 0.1f, generator));
  for (DiagramScale scale : {DiagramScale::Raw, DiagramScale::Diameter}) {
    const TopologyComparison c = compare_topology(clouds, clouds, options_with(scale));
    CHECK(c.batches == 3);
    REQUIRE(c.degrees.size() == 2);
    check_identical(c);
  }
}

TEST_CASE("a cloud and its scaled copy agree under diameter scaling and not in raw units") {
  Generator generator(12);
  const Tensor cloud = data::noisy_circle(50, 1.0f, 0.1f, generator);
  const Tensor twice = mul(cloud, 2.0f);  // exact in float: every distance doubles exactly
  check_identical(compare_topology({cloud}, {twice}, options_with(DiagramScale::Diameter)));

  // The squares of side 1 and 2 in raw units. H0: A = 3 x (0, 1), B = 3 x (0, 2); matching each pair costs 1,
  // sending both to the diagonal 1/2 + 1: W_1 = 3, W_2 = sqrt 3, d_B = 1. H1: A = (1, sqrt 2), B = (2, 2 sqrt 2);
  // matching costs sqrt 2, the diagonal (sqrt 2 - 1) / 2 and sqrt 2 - 1: W_1 = 3/2 (sqrt 2 - 1),
  // W_2 = (sqrt 2 - 1) sqrt(1/4 + 1), d_B = sqrt 2 - 1.
  const double r = std::sqrt(2.0) - 1.0;
  const TopologyComparison raw = compare_topology({square(1)}, {square(2)}, options_with(DiagramScale::Raw));
  CHECK(raw.degrees[0].w1.mean == doctest::Approx(3.0).epsilon(1e-6));
  CHECK(raw.degrees[0].w2.mean == doctest::Approx(std::sqrt(3.0)).epsilon(1e-6));
  CHECK(raw.degrees[0].bottleneck.mean == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(raw.degrees[1].w1.mean == doctest::Approx(1.5 * r).epsilon(1e-6));
  CHECK(raw.degrees[1].w2.mean == doctest::Approx(r * std::sqrt(1.25)).epsilon(1e-6));
  CHECK(raw.degrees[1].bottleneck.mean == doctest::Approx(r).epsilon(1e-6));
  check_identical(compare_topology({square(1)}, {square(2)}, options_with(DiagramScale::Diameter)));
}

TEST_CASE("the squares of side 1 and 2 have hand-derived Betti numbers, Betti curves and accuracy") {
  const topology::PersistenceResult unit = topology::persistence(square(1));
  REQUIRE(unit.diagrams[0].pairs.size() == 3);
  for (const auto& p : unit.diagrams[0].pairs) CHECK(p.death == 1.0f);
  REQUIRE(unit.diagrams[1].pairs.size() == 1);
  CHECK(unit.diagrams[1].pairs[0].birth == 1.0f);
  CHECK(unit.diagrams[1].pairs[0].death == doctest::Approx(std::sqrt(2.0)));
  CHECK(unit.diagrams[1].essential.empty());
  CHECK(eval::betti_number(unit.diagrams[0], 1.2) == 1);
  CHECK(eval::betti_number(unit.diagrams[1], 1.2) == 1);
  CHECK(eval::betti_number(unit.diagrams[0], 0.5) == 4);
  CHECK(eval::betti_number(unit.diagrams[1], 0.5) == 0);
  CHECK(eval::betti_number(unit.diagrams[0], 1.0) == 1);  // b <= eps < d: the sides are in the complex at eps = 1
  CHECK(eval::betti_number(unit.diagrams[1], 1.0) == 1);

  // eps = 1.2 absolute: side 1 has one component and the square's loop, side 2 four points and no loop.
  TopologyComparisonOptions options = options_with(DiagramScale::Raw, 5);
  options.betti_scale = 1.2;
  options.betti_scale_relative = false;
  TopologyComparison c = compare_topology({square(1)}, {square(2)}, options);
  CHECK(c.degrees[0].betti_a.mean == 1.0);
  CHECK(c.degrees[1].betti_a.mean == 1.0);
  CHECK(c.degrees[0].betti_b.mean == 4.0);
  CHECK(c.degrees[1].betti_b.mean == 0.0);

  // Raw grid of 5 points on [0, 2 sqrt 2]: t = 0, sqrt 2 / 2, sqrt 2, 3 sqrt 2 / 2, 2 sqrt 2 (dt = sqrt 2 / 2).
  // beta_0: A = 4, 4, 1, 1, 1 and B = 4, 4, 4, 1, 1; beta_1 (b <= t < d): A = 0, 0, 0, 0, 0 (t = sqrt 2 is the
  // death) and B = 0, 0, 0, 1, 0. One interior difference each: L2 = 3 sqrt(dt) and sqrt(dt); TA = 4/5 each.
  const double dt = std::sqrt(2.0) / 2.0;
  CHECK(c.degrees[0].betti_curve_l2.mean == doctest::Approx(3.0 * std::sqrt(dt)).epsilon(1e-6));
  CHECK(c.degrees[1].betti_curve_l2.mean == doctest::Approx(std::sqrt(dt)).epsilon(1e-6));
  CHECK(c.degrees[0].topological_accuracy.mean == doctest::Approx(0.8));
  CHECK(c.degrees[1].topological_accuracy.mean == doctest::Approx(0.8));
  CHECK(c.topological_accuracy.mean == doctest::Approx(0.8));

  // A fine grid converges to the L2 norms of the step functions: |beta_0^A - beta_0^B| = 3 on [1, 2), so 3;
  // beta_1 differs on [1, sqrt 2) and [2, 2 sqrt 2), so sqrt(3 (sqrt 2 - 1)). TA_k = the share of the grid where
  // the curves agree: t < 1 or t >= 2 for H0, outside those two intervals for H1.
  options.curve_points = 4001;
  c = compare_topology({square(1)}, {square(2)}, options);
  CHECK(c.degrees[0].betti_curve_l2.mean == doctest::Approx(3.0).epsilon(2e-3));
  CHECK(c.degrees[1].betti_curve_l2.mean == doctest::Approx(std::sqrt(3.0 * (std::sqrt(2.0) - 1.0))).epsilon(2e-3));
  const float top = topology::persistence(square(2)).diagrams[1].pairs[0].death;  // 2 sqrt 2 in float
  const float root2 = unit.diagrams[1].pairs[0].death;
  int agree0 = 0, agree1 = 0;
  for (int j = 0; j < 4001; ++j) {
    const float t = static_cast<float>(static_cast<double>(top) * j / 4000);
    agree0 += t < 1.0f || t >= 2.0f;
    agree1 += (1.0f <= t && t < root2) == (2.0f <= t && t < top);
  }
  CHECK(c.degrees[0].topological_accuracy.mean == doctest::Approx(agree0 / 4001.0));
  CHECK(c.degrees[1].topological_accuracy.mean == doctest::Approx(agree1 / 4001.0));
  CHECK(agree0 / 4001.0 == doctest::Approx(1.0 - 1.0 / (2.0 * std::sqrt(2.0))).epsilon(1e-3));

  // eps relative to each diameter (sqrt 2 and 2 sqrt 2): the same shape gives the same Betti numbers.
  options.betti_scale = 0.75;  // eps = 1.06 and 2.12: past the sides, before the diagonals
  options.betti_scale_relative = true;
  c = compare_topology({square(1)}, {square(2)}, options);
  for (const auto& d : c.degrees) {
    CHECK(d.betti_a.mean == 1.0);
    CHECK(d.betti_b.mean == 1.0);
  }
}

TEST_CASE("two points against three collinear points give hand-derived distances and curves") {
  const Tensor two = points({0, 0, 1, 0});
  const Tensor three = points({0, 0, 1, 0, 2, 0});
  // H0: {(0, 1)} against {(0, 1), (0, 1)}; no H1 (the triangle 0-1-2 fills in when its long edge appears).
  CHECK(topology::persistence(three).diagrams[1].pairs.empty());
  TopologyComparison raw = compare_topology({two}, {three}, options_with(DiagramScale::Raw));
  CHECK(raw.degrees[0].w1.mean == doctest::Approx(0.5));  // one pair matched exactly, one to the diagonal
  CHECK(raw.degrees[0].w2.mean == doctest::Approx(0.5));
  CHECK(raw.degrees[0].bottleneck.mean == doctest::Approx(0.5));
  CHECK(raw.degrees[1].w1.mean == 0.0);
  CHECK(raw.degrees[1].bottleneck.mean == 0.0);

  // Diameter scaling: {(0, 1)} against {(0, 1/2), (0, 1/2)}. Matching one costs 1/2 and the other goes to the
  // diagonal for 1/4: W_1 = 3/4, W_2 = sqrt(1/4 + 1/16), d_B = 1/2. Betti numbers at eps = 0.6 diameters (0.6 and
  // 1.2): two components against one. Grid t = 0, 1/2, 1: beta_0^A = 2, 2, 1, beta_0^B = 3, 1, 1, so
  // L2 = sqrt(1/4 * 1 + 1/2 * 1) and TA_0 = 1/3; H1 agrees everywhere (TA_1 = 1, overall 2/3).
  TopologyComparisonOptions options = options_with(DiagramScale::Diameter, 3);
  options.betti_scale = 0.6;
  const TopologyComparison c = compare_topology({two}, {three}, options);
  CHECK(c.degrees[0].w1.mean == doctest::Approx(0.75));
  CHECK(c.degrees[0].w2.mean == doctest::Approx(std::sqrt(0.3125)));
  CHECK(c.degrees[0].bottleneck.mean == doctest::Approx(0.5));
  CHECK(c.degrees[0].betti_a.mean == 2.0);
  CHECK(c.degrees[0].betti_b.mean == 1.0);
  CHECK(c.degrees[1].betti_a.mean == 0.0);
  CHECK(c.degrees[1].betti_b.mean == 0.0);
  CHECK(c.degrees[0].betti_curve_l2.mean == doctest::Approx(std::sqrt(0.75)));
  CHECK(c.degrees[0].topological_accuracy.mean == doctest::Approx(1.0 / 3.0));
  CHECK(c.degrees[1].topological_accuracy.mean == 1.0);
  CHECK(c.topological_accuracy.mean == doctest::Approx(2.0 / 3.0));

  options.max_dim = 0;  // H0 only
  const TopologyComparison h0 = compare_topology({two}, {three}, options);
  REQUIRE(h0.degrees.size() == 1);
  CHECK(h0.topological_accuracy.mean == doctest::Approx(1.0 / 3.0));
}

TEST_CASE("H0 Betti numbers count the components of the Rips graph at the scale") {
  Generator generator(13);
  for (int trial = 0; trial < 4; ++trial) {
    const Tensor a = data::gaussian_cloud(30 + 7 * trial, 3, generator);
    const Tensor b = data::uniform_cube(25, 2, generator);
    const std::vector<float> da = topology::pairwise_distances(a).to_vector<float>();
    const std::vector<float> db = topology::pairwise_distances(b).to_vector<float>();
    const topology::PersistenceResult pa = topology::persistence_from_distances(topology::pairwise_distances(a));
    for (double eps : {0.0, 0.2, 0.4, 0.7, 1.0, 1.5, 10.0}) {
      CHECK(eval::betti_number(pa.diagrams[0], eps) == components(da, a.dim(0), eps));
      TopologyComparisonOptions options;
      options.betti_scale = eps;
      options.betti_scale_relative = false;
      const TopologyComparison c = compare_topology({a}, {b}, options);
      CHECK(c.degrees[0].betti_a.mean == components(da, a.dim(0), eps));
      CHECK(c.degrees[0].betti_b.mean == components(db, b.dim(0), eps));
    }
    for (double fraction : {0.05, 0.15, 0.3}) {
      TopologyComparisonOptions options;
      options.betti_scale = fraction;
      const TopologyComparison c = compare_topology({a}, {b}, options);
      CHECK(c.degrees[0].betti_a.mean == components(da, a.dim(0), fraction * diameter(a)));
      CHECK(c.degrees[0].betti_b.mean == components(db, b.dim(0), fraction * diameter(b)));
    }
  }
  // H1 at a scale inside the circle's bar: one loop, one component.
  const Tensor circle = data::noisy_circle(200, 1.0f, 0.0f, generator);
  const topology::PersistenceResult pc = topology::persistence(circle);
  CHECK(eval::betti_number(pc.diagrams[0], 0.8) == 1);
  CHECK(eval::betti_number(pc.diagrams[1], 0.8) == 1);
}

TEST_CASE("the Betti-curve distance and the accuracy equal a direct evaluation on the grid") {
  Generator generator(14);
  const Tensor a = data::noisy_circle(60, 1.0f, 0.15f, generator);
  const Tensor b = data::two_circles(50, 0.1f, generator);
  const int grid_points = 17;
  for (DiagramScale scale : {DiagramScale::Raw, DiagramScale::Diameter}) {
    const topology::PersistenceResult pa = topology::persistence_from_distances(topology::pairwise_distances(a));
    const topology::PersistenceResult pb = topology::persistence_from_distances(topology::pairwise_distances(b));
    const float sa = scale == DiagramScale::Raw ? 1.0f : diameter(a);
    const float sb = scale == DiagramScale::Raw ? 1.0f : diameter(b);
    double top = 1.0;
    if (scale == DiagramScale::Raw) {
      top = 0.0;
      for (const auto* p : {&pa, &pb})
        for (const auto& diagram : p->diagrams)
          for (const auto& pair : diagram.pairs) top = std::max(top, static_cast<double>(pair.death));
    }
    std::vector<float> grid;
    for (int j = 0; j < grid_points; ++j) grid.push_back(static_cast<float>(top * j / (grid_points - 1)));
    const double dt = static_cast<double>(grid.back()) / (grid_points - 1);
    const TopologyComparison c = compare_topology({a}, {b}, options_with(scale, grid_points));
    double all_agree = 0.0;
    for (int k = 0; k <= 1; ++k) {
      double l2 = 0.0;
      int agree = 0;
      for (int j = 0; j < grid_points; ++j) {
        const double diff = direct_betti(pa.diagrams[k], sa, grid[j]) - direct_betti(pb.diagrams[k], sb, grid[j]);
        l2 += (j == 0 || j == grid_points - 1 ? dt / 2 : dt) * diff * diff;
        agree += diff == 0.0;
      }
      CHECK(c.degrees[k].betti_curve_l2.mean == doctest::Approx(std::sqrt(l2)).epsilon(1e-9));
      CHECK(c.degrees[k].topological_accuracy.mean == doctest::Approx(agree / static_cast<double>(grid_points)));
      all_agree += agree;
    }
    CHECK(c.topological_accuracy.mean == doctest::Approx(all_agree / (2.0 * grid_points)));
    CHECK(c.degrees[0].betti_curve_l2.mean > 0.0);  // two circles are not one
  }
}

TEST_CASE("the spread over batches is the mean and sample standard deviation of the per-batch values") {
  Generator generator(15);
  std::vector<Tensor> a, b;
  for (int batch = 0; batch < 3; ++batch) {
    a.push_back(data::noisy_circle(30 + 10 * batch, 1.0f, 0.2f, generator));
    b.push_back(data::gaussian_cloud(30 + 10 * batch, 4, generator));
  }
  const TopologyComparison c = compare_topology(a, b);
  std::vector<std::vector<double>> w1(2), l2(2), betti(2);
  std::vector<double> accuracy;
  for (int batch = 0; batch < 3; ++batch) {
    const TopologyComparison one = compare_topology({a[batch]}, {b[batch]});
    CHECK(one.degrees[0].w1.std == 0.0);
    accuracy.push_back(one.topological_accuracy.mean);
    const topology::PersistenceResult pa = topology::persistence(a[batch]), pb = topology::persistence(b[batch]);
    for (int k = 0; k <= 1; ++k) {
      std::vector<float> fa, fb;
      for (const auto& p : pa.diagrams[k].pairs)
        fa.insert(fa.end(), {p.birth / diameter(a[batch]), p.death / diameter(a[batch])});
      for (const auto& p : pb.diagrams[k].pairs)
        fb.insert(fb.end(), {p.birth / diameter(b[batch]), p.death / diameter(b[batch])});
      w1[k].push_back(topology::wasserstein_matching(fa, fb, 1.0).distance);
      CHECK(one.degrees[k].w1.mean == doctest::Approx(w1[k].back()).epsilon(1e-5));
      l2[k].push_back(one.degrees[k].betti_curve_l2.mean);
      betti[k].push_back(one.degrees[k].betti_b.mean);
    }
  }
  for (int k = 0; k <= 1; ++k) {
    CHECK(c.degrees[k].w1.mean == doctest::Approx((w1[k][0] + w1[k][1] + w1[k][2]) / 3.0).epsilon(1e-5));
    CHECK(c.degrees[k].w1.std == doctest::Approx(sample_std(w1[k])).epsilon(1e-4));
    CHECK(c.degrees[k].betti_curve_l2.mean == doctest::Approx((l2[k][0] + l2[k][1] + l2[k][2]) / 3.0));
    CHECK(c.degrees[k].betti_curve_l2.std == doctest::Approx(sample_std(l2[k])));
    CHECK(c.degrees[k].betti_b.std == doctest::Approx(sample_std(betti[k])));
  }
  CHECK(c.degrees[0].w1.std > 0.0);
  CHECK(c.topological_accuracy.mean == doctest::Approx((accuracy[0] + accuracy[1] + accuracy[2]) / 3.0));
  CHECK(c.topological_accuracy.std == doctest::Approx(sample_std(accuracy)));
}

TEST_CASE("the report names every metric by degree and family") {
  TopologyComparisonOptions options = options_with(DiagramScale::Raw, 8);
  const TopologyComparison c = compare_topology({square(1), square(1)}, {square(2), square(3)}, options);
  const nlohmann::json report = eval::to_json(c, "input", "latent");
  CHECK(report["batches"] == 2);
  CHECK(report["scale"] == "raw");
  CHECK(report["curve_points"] == 8);
  for (const char* degree : {"h0_", "h1_"})
    for (const char* metric :
         {"w1", "w2", "bottleneck", "betti_input", "betti_latent", "betti_curve_l2", "topological_accuracy"})
      for (const char* stat : {"_mean", "_std"}) CHECK(report.contains(std::string(degree) + metric + stat));
  CHECK(report.contains("topological_accuracy_mean"));
  CHECK(report["h0_w1_mean"].get<double>() == doctest::Approx(c.degrees[0].w1.mean));
  // H0 W_1 of the unit square against sides 2 and 3: 3 (s - 1) each batch (one to one, or for s = 3 as cheaply all to
  // the diagonal).
  CHECK(c.degrees[0].w1.mean == doctest::Approx(4.5).epsilon(1e-6));
  CHECK(c.degrees[0].w1.std == doctest::Approx(3.0 / std::sqrt(2.0)).epsilon(1e-6));
  CHECK_THROWS_AS(eval::to_json(c, "same", "same"), ValueError);
}

TEST_CASE("bad input to the topology comparison is refused with a ValueError naming the problem") {
  const std::vector<Tensor> one = {square(1)};
  const std::vector<Tensor> two = {square(1), square(2)};
  CHECK_THROWS_AS(compare_topology(one, two), ValueError);
  CHECK(error_message([&] { compare_topology(one, two); }).find("different lengths") != std::string::npos);
  CHECK(error_message([] { compare_topology({}, {}); }).find("no batches") != std::string::npos);
  const std::vector<Tensor> single = {points({0.5f, 0.5f})};
  CHECK_THROWS_AS(compare_topology(one, single), ValueError);
  CHECK(error_message([&] { compare_topology(one, single); }).find("at least 2") != std::string::npos);
  const std::vector<Tensor> nan = {points({0, 0, 1, NAN, 2, 2})};
  CHECK_THROWS_AS(compare_topology(nan, one), ValueError);
  CHECK(error_message([&] { compare_topology(nan, one); }).find("point 1, coordinate 1") != std::string::npos);
  const std::vector<Tensor> inf = {points({0, 0, INFINITY, 1})};
  CHECK_THROWS_AS(compare_topology(one, inf), ValueError);

  TopologyComparisonOptions options;
  options.betti_scale = -0.1;
  CHECK_THROWS_AS(compare_topology(one, one, options), ValueError);
  CHECK(error_message([&] { compare_topology(one, one, options); }).find(">= 0") != std::string::npos);
  options = {};
  options.curve_points = 1;
  CHECK_THROWS_AS(compare_topology(one, one, options), ValueError);
  CHECK(error_message([&] { compare_topology(one, one, options); }).find("at least 2 points") != std::string::npos);
  options = {};
  options.max_dim = 2;
  CHECK_THROWS_AS(compare_topology(one, one, options), ValueError);
  const std::vector<Tensor> flat = {Tensor::from_vector(std::vector<float>{0, 1, 2}, {3})};
  CHECK_THROWS_AS(compare_topology(flat, one), ShapeError);
}

}  // namespace tl::testing
