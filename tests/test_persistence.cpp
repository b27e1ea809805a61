// Persistence engine on the CPU: distances against a double-precision reference, H0 against brute-force
// Kruskal, H1 against a brute-force boundary-matrix reduction (an independent algorithm: homology, every
// triangle, no shortcuts), critical edges against the distance matrix, invariances, known shapes, degenerate
// input, guards and the batched API. The external oracle (ripser/gudhi fixtures) is in test_persistence_oracle.cpp.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>

#include "kernels/persistence_impl.h"
#include "kernels/topology_backend.h"
#include "nn/data/synthetic.h"
#include "tests/persistence_reference.h"
#include "tests/test_support.h"
#include "topology/matching.h"
#include "topology/persistence.h"

namespace tl::testing {
namespace {

using topology::Diagram;
using topology::PersistenceOptions;
using topology::PersistenceResult;

std::vector<float> sorted_deaths(const Diagram& d) {
  std::vector<float> out;
  for (const auto& p : d.pairs) out.push_back(p.death);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::pair<float, float>> sorted_pairs(const Diagram& d) {
  std::vector<std::pair<float, float>> out;
  for (const auto& p : d.pairs) out.emplace_back(p.birth, p.death);
  std::sort(out.begin(), out.end());
  return out;
}

// The values rounded to multiples of 1 / scale.
std::vector<float> on_grid(std::vector<float> values, float scale) {
  for (float& v : values) v = std::round(v * scale) / scale;
  return values;
}

// A diagram's pairs as the flat (birth, death) list the matching functions take.
std::vector<float> flat_pairs(const Diagram& d) {
  std::vector<float> out;
  for (const auto& p : d.pairs) out.insert(out.end(), {p.birth, p.death});
  return out;
}

// Diagrams of distances that differ by at most `tolerance` differ by at most that: H0's sorted deaths entry by
// entry, H1 in the bottleneck distance; the essential bars agree in number.
void check_close_diagrams(const PersistenceResult& a, const PersistenceResult& b, double tolerance,
                          const std::string& what) {
  const std::vector<float> deaths_a = sorted_deaths(a.diagrams[0]), deaths_b = sorted_deaths(b.diagrams[0]);
  REQUIRE_MESSAGE(deaths_a.size() == deaths_b.size(), what);
  for (size_t i = 0; i < deaths_a.size(); ++i)
    CHECK_MESSAGE(std::fabs(deaths_a[i] - deaths_b[i]) <= tolerance, what, ": H0 death ", i);
  CHECK_MESSAGE(
      topology::bottleneck_matching(flat_pairs(a.diagrams[1]), flat_pairs(b.diagrams[1])).distance <= tolerance, what,
      ": H1");
  for (int k = 0; k < 2; ++k) CHECK(a.diagrams[k].essential.size() == b.diagrams[k].essential.size());
}

float longest_h1_bar(const PersistenceResult& r) {
  float best = 0.0f;
  for (const auto& p : r.diagrams[1].pairs) best = std::max(best, p.death - p.birth);
  return best;
}

int bars_longer_than(const Diagram& d, float length) {
  return static_cast<int>(std::count_if(
      d.pairs.begin(), d.pairs.end(), [&](const topology::PersistencePair& p) { return p.death - p.birth > length; }));
}

// Pairs (engine or reference) by birth edge: births are unique, so two correct lists then agree entry by entry.
template <typename Pair>
void sort_by_birth_edge(std::vector<Pair>& pairs) {
  std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) {
    return kernels::edge_index(a.birth_edge.u, a.birth_edge.v) < kernels::edge_index(b.birth_edge.u, b.birth_edge.v);
  });
}

// The H1 pairs equal the brute-force boundary reduction's in values and critical edges.
void check_h1_matches_boundary_reduction(const Diagram& h1, const std::vector<float>& dist, int64_t n) {
  std::vector<reference::Pair> expected = reference::boundary_reduction_h1(dist, n);
  std::vector<topology::PersistencePair> actual = h1.pairs;
  REQUIRE(actual.size() == expected.size());
  sort_by_birth_edge(actual);
  sort_by_birth_edge(expected);
  for (size_t i = 0; i < actual.size(); ++i) {
    CHECK(actual[i].birth == expected[i].birth);
    CHECK(actual[i].death == expected[i].death);
    CHECK(actual[i].birth_edge.u == expected[i].birth_edge.u);
    CHECK(actual[i].birth_edge.v == expected[i].birth_edge.v);
    CHECK(actual[i].death_edge.u == expected[i].death_edge.u);
    CHECK(actual[i].death_edge.v == expected[i].death_edge.v);
  }
}

void check_same_values(const PersistenceResult& a, const PersistenceResult& b, double tol, const std::string& what) {
  REQUIRE(a.diagrams.size() == b.diagrams.size());
  for (size_t k = 0; k < a.diagrams.size(); ++k) {
    const auto pa = sorted_pairs(a.diagrams[k]), pb = sorted_pairs(b.diagrams[k]);
    REQUIRE_MESSAGE(pa.size() == pb.size(), what, ": H", k, " has ", pa.size(), " vs ", pb.size(), " pairs");
    for (size_t i = 0; i < pa.size(); ++i) {
      CHECK_MESSAGE(std::fabs(pa[i].first - pb[i].first) <= tol, what, ": H", k, " pair ", i);
      CHECK_MESSAGE(std::fabs(pa[i].second - pb[i].second) <= tol, what, ": H", k, " pair ", i);
    }
  }
}

}  // namespace

TEST_CASE("pairwise distances match a double-precision reference on both paths") {
  Generator generator(11);
  for (int64_t dim : {3, 16, 32, 33, 784}) {
    CAPTURE(dim);
    const Tensor points = data::gaussian_cloud(70, dim, generator);
    const std::vector<float> d = topology::pairwise_distances(points).to_vector<float>();
    check_close(d, reference_distances(points), 2e-5, 2e-5, "distances");
    check_exact_distance_matrix(d, 70);
  }
}

TEST_CASE("translating a cloud of more than 32 dimensions changes its distances and diagrams by rounding only") {
  // Coordinates on a grid of 2^-6, which every shift below keeps exact, so each shifted cloud has the same
  // differences and the same double-precision distances. The Gram form used to lose them to cancellation: at a
  // shift of 3000, 30 points in 40-D had 29 zero H0 deaths and a spurious H1 bar; 0.3 % errors at 100.
  Generator generator(41);
  const int64_t n = 30;
  for (int64_t dim : {40, 64}) {
    const std::vector<float> base = on_grid(data::gaussian_cloud(n, dim, generator).to_vector<float>(), 64.0f);
    const std::vector<float> reference = reference_distances(Tensor::from_vector(base, {n, dim}));
    const PersistenceResult expected = topology::persistence_from_distances(Tensor::from_vector(reference, {n, n}));
    const float diameter = *std::max_element(reference.begin(), reference.end());
    for (float shift : {0.0f, 100.0f, 3000.0f, 100000.0f}) {
      CAPTURE(dim);
      CAPTURE(shift);
      std::vector<float> moved = base;
      for (float& x : moved) x += shift;
      const Tensor points = Tensor::from_vector(moved, {n, dim});
      check_close(topology::pairwise_distances(points).to_vector<float>(), reference, 1e-5, 1e-9, "distances");
      check_close_diagrams(topology::persistence(points), expected, 1e-5 * diameter, "shifted cloud");
    }
  }
}

TEST_CASE("tight clusters far from their cloud's mean keep their small distances on the Gram path") {
  // Two clusters of radius about 1e-3 at -1 and +1: centring leaves every point about 1 from the mean, so the
  // Gram form of a distance within a cluster cancels six digits (errors of 1 % before); those entries are
  // recomputed by the direct sum.
  Generator generator(43);
  const int64_t n = 40, dim = 64;
  std::vector<float> x = data::gaussian_cloud(n, dim, generator).to_vector<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < dim; ++k) x[i * dim + k] = 1e-3f * x[i * dim + k] + (k > 0 ? 0.0f : i % 2 ? 1.0f : -1.0f);
  const Tensor points = Tensor::from_vector(x, {n, dim});
  const std::vector<float> reference = reference_distances(points);
  check_close(topology::pairwise_distances(points).to_vector<float>(), reference, 1e-5, 1e-9, "distances");
  check_close_diagrams(topology::persistence(points),
                       topology::persistence_from_distances(Tensor::from_vector(reference, {n, n})), 1e-5 * 2.0,
                       "clusters");
}

TEST_CASE("H0 deaths and edges equal a brute-force Kruskal spanning tree") {
  Generator generator(3);
  for (int64_t n : {2, 3, 17, 150}) {
    CAPTURE(n);
    const Tensor points = data::uniform_cube(n, 4, generator);
    const PersistenceResult r = topology::persistence(points, PersistenceOptions{0});
    const std::vector<float> dist = topology::pairwise_distances(points).to_vector<float>();
    const std::vector<reference::Pair> kruskal = reference::kruskal_h0(dist, n);
    REQUIRE(r.diagrams[0].pairs.size() == static_cast<size_t>(n - 1));
    CHECK(r.diagrams[0].essential.size() == 1);
    for (size_t i = 0; i < kruskal.size(); ++i) {
      CHECK(r.diagrams[0].pairs[i].death == kruskal[i].death);
      CHECK(r.diagrams[0].pairs[i].death_edge.u == kruskal[i].death_edge.u);
      CHECK(r.diagrams[0].pairs[i].death_edge.v == kruskal[i].death_edge.v);
    }
  }
}

TEST_CASE("H1 pairs and critical edges equal a brute-force boundary reduction") {
  Generator generator(5);
  struct Cloud {
    const char* name;
    Tensor points;
  };
  const Cloud clouds[] = {{"uniform 2-D", data::uniform_cube(22, 2, generator)},
                          {"uniform 3-D", data::uniform_cube(24, 3, generator)},
                          {"noisy circle", data::noisy_circle(20, 1.0f, 0.1f, generator)},
                          {"gaussian 8-D", data::gaussian_cloud(23, 8, generator)}};
  for (const Cloud& cloud : clouds) {
    CAPTURE(cloud.name);
    const int64_t n = cloud.points.dim(0);
    const PersistenceResult r = topology::persistence(cloud.points);
    const std::vector<float> dist = topology::pairwise_distances(cloud.points).to_vector<float>();
    CHECK(r.diagrams[1].essential.empty());
    check_h1_matches_boundary_reduction(r.diagrams[1], dist, n);
  }
}

TEST_CASE("ties in the distances follow the filtration order in H0 and H1") {
  // Symmetric matrices of small integers (not metrics; the engine does not need the triangle inequality): nearly
  // every length occurs many times, so every choice Prim, the reduction and its shortcuts make is a tie.
  Generator generator(21);
  for (int64_t n : {9, 16, 25}) {
    CAPTURE(n);
    const std::vector<float> dist = tie_heavy_distances(n, 4, generator);
    const PersistenceResult r = topology::persistence_from_distances(Tensor::from_vector(dist, {n, n}));
    const std::vector<reference::Pair> kruskal = reference::kruskal_h0(dist, n);
    REQUIRE(r.diagrams[0].pairs.size() == kruskal.size());
    for (size_t i = 0; i < kruskal.size(); ++i) {
      CHECK(r.diagrams[0].pairs[i].death_edge.u == kruskal[i].death_edge.u);
      CHECK(r.diagrams[0].pairs[i].death_edge.v == kruskal[i].death_edge.v);
    }
    check_h1_matches_boundary_reduction(r.diagrams[1], dist, n);
  }
}

TEST_CASE("H1 columns list the non-forest edges latest first with their apparent and emergent cofacets") {
  // Brute force per column: every cofacet's (diameter, index), the earliest by the filtration order; the column
  // has an emergent cofacet when that one has the edge's diameter, and is apparent when the edge is that
  // triangle's latest facet. Checked on a cloud in general position and on a tie-heavy integer matrix.
  Generator generator(17);
  const std::vector<float> cloud =
      topology::pairwise_distances(data::uniform_cube(40, 3, generator)).to_vector<float>();
  const std::vector<float> integers = tie_heavy_distances(30, 3, generator);
  const struct {
    const std::vector<float>& dist;
    int64_t n;
    float threshold;
  } cases[] = {{cloud, 40, 0.6f}, {integers, 30, 2.0f}};
  for (const auto& matrix : cases) {
    // Named copies, not structured bindings: C++17 lets no lambda capture those (clang refuses).
    const std::vector<float>& dist = matrix.dist;
    const int64_t n = matrix.n;
    const float threshold = matrix.threshold;
    CAPTURE(n);
    const std::vector<kernels::H1Column> columns = backend_h1_columns(Tensor::from_vector(dist, {n, n}), threshold);
    int64_t within = 0;
    for (int64_t u = 1; u < n; ++u)
      for (int64_t v = 0; v < u; ++v) within += dist[u * n + v] <= threshold;
    const std::vector<reference::Pair> tree = reference::kruskal_h0(dist, n);
    const int64_t tree_within =
        std::count_if(tree.begin(), tree.end(), [&](const reference::Pair& p) { return p.death <= threshold; });
    CHECK(static_cast<int64_t>(columns.size()) == within - tree_within);
    int emergent = 0, apparent = 0;
    for (size_t c = 0; c < columns.size(); ++c) {
      const kernels::H1Column& column = columns[c];
      const kernels::Edge e = column.edge;
      REQUIRE(column.diameter == dist[e.u * n + e.v]);
      if (c > 0) {
        const kernels::H1Column& before = columns[c - 1];
        CHECK(kernels::filtration_before(column.diameter, kernels::edge_index(e.u, e.v), before.diameter,
                                         kernels::edge_index(before.edge.u, before.edge.v)));
      }
      float best_diameter = INFINITY;
      int64_t best_index = -1;
      int32_t best_vertex = -1;
      for (int32_t k = 0; k < n; ++k) {
        if (k == e.u || k == e.v) continue;
        const float diameter = std::max({column.diameter, dist[e.u * n + k], dist[e.v * n + k]});
        const int64_t index = kernels::triangle_with(e, k);
        if (diameter <= threshold && kernels::filtration_before(diameter, index, best_diameter, best_index)) {
          best_diameter = diameter;
          best_index = index;
          best_vertex = k;
        }
      }
      const int32_t expected_vertex = best_diameter == column.diameter ? best_vertex : -1;
      CHECK(column.cofacet_vertex == expected_vertex);
      bool expected_apparent = false;
      if (expected_vertex >= 0) {
        // The latest facet: the longest, and among equal lengths the one of smallest index.
        const kernels::Edge facets[3] = {e,
                                         kernels::Edge{std::max(e.u, expected_vertex), std::min(e.u, expected_vertex)},
                                         kernels::Edge{std::max(e.v, expected_vertex), std::min(e.v, expected_vertex)}};
        kernels::Edge latest = facets[0];
        for (const kernels::Edge& f : facets)
          if (kernels::filtration_before(dist[latest.u * n + latest.v], kernels::edge_index(latest.u, latest.v),
                                         dist[f.u * n + f.v], kernels::edge_index(f.u, f.v)))
            latest = f;
        expected_apparent = latest.u == e.u && latest.v == e.v;
      }
      CHECK(static_cast<bool>(column.apparent) == expected_apparent);
      emergent += expected_vertex >= 0;
      apparent += expected_apparent;
    }
    // In general position every emergent cofacet is apparent (the edge is the triangle's unique longest side);
    // ties make emergent-only columns. So both branches above are exercised.
    CHECK(apparent > 0);
    if (&dist == &integers) {
      CHECK(emergent > apparent);
    } else {
      CHECK(emergent == apparent);
    }
  }
}

TEST_CASE("critical edges reproduce every birth and death from the distance matrix") {
  Generator generator(8);
  const Tensor points = data::torus(300, 2.0f, 0.7f, 0.02f, generator);
  const PersistenceResult r = topology::persistence(points);
  const std::vector<float> d = topology::pairwise_distances(points).to_vector<float>();
  auto at = [&](const kernels::Edge& e) { return d[static_cast<size_t>(e.u) * 300 + e.v]; };
  REQUIRE(r.diagrams[1].pairs.size() > 2);
  for (const auto& p : r.diagrams[0].pairs) CHECK(at(p.death_edge) == p.death);
  for (const auto& p : r.diagrams[1].pairs) {
    CHECK(p.birth_edge.u > p.birth_edge.v);
    CHECK(p.death_edge.u > p.death_edge.v);
    CHECK(at(p.birth_edge) == p.birth);
    CHECK(at(p.death_edge) == p.death);
    CHECK(p.death > p.birth);
  }
}

TEST_CASE("diagrams are invariant under permutation, translation and rotation, and scale with the cloud") {
  Generator generator(21);
  const int64_t n = 120;
  const Tensor points = data::noisy_circle(n, 1.0f, 0.15f, generator);
  const PersistenceResult base = topology::persistence(points);
  const std::vector<float> x = points.to_vector<float>();

  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::reverse(order.begin(), order.begin() + n / 2);
  std::rotate(order.begin(), order.begin() + 37, order.end());
  std::vector<float> permuted(x.size()), moved(x.size()), doubled(x.size());
  const float c = std::cos(0.7f), s = std::sin(0.7f);
  for (int64_t i = 0; i < n; ++i) {
    permuted[2 * i] = x[2 * order[i]];
    permuted[2 * i + 1] = x[2 * order[i] + 1];
    moved[2 * i] = c * x[2 * i] - s * x[2 * i + 1] + 3.0f;
    moved[2 * i + 1] = s * x[2 * i] + c * x[2 * i + 1] - 1.5f;
    doubled[2 * i] = 2.0f * x[2 * i];
    doubled[2 * i + 1] = 2.0f * x[2 * i + 1];
  }
  // A permutation renames vertices: the same distances, so the same values exactly.
  check_same_values(topology::persistence(Tensor::from_vector(permuted, {n, 2})), base, 0.0, "permutation");
  // Rotation and translation round the coordinates: values agree to float32 accuracy.
  check_same_values(topology::persistence(Tensor::from_vector(moved, {n, 2})), base, 2e-6, "rigid motion");
  // Scaling by 2 is exact in binary floating point: every value doubles exactly.
  PersistenceResult scaled = base;
  for (auto& diagram : scaled.diagrams)
    for (auto& p : diagram.pairs) {
      p.birth *= 2.0f;
      p.death *= 2.0f;
    }
  check_same_values(topology::persistence(Tensor::from_vector(doubled, {n, 2})), scaled, 0.0, "scaling by 2");
}

TEST_CASE("known shapes have the expected number of long H1 bars") {
  Generator generator(13);
  SUBCASE("noisy circle: one dominant bar") {
    const PersistenceResult r = topology::persistence(data::noisy_circle(200, 1.0f, 0.05f, generator));
    CHECK(bars_longer_than(r.diagrams[1], 0.8f) == 1);
    CHECK(bars_longer_than(r.diagrams[1], 0.2f) == 1);
  }
  SUBCASE("two circles: two bars") {
    const PersistenceResult r = topology::persistence(data::two_circles(300, 0.03f, generator));
    CHECK(bars_longer_than(r.diagrams[1], 0.8f) == 2);
    CHECK(bars_longer_than(r.diagrams[1], 0.2f) == 2);
  }
  SUBCASE("figure-eight: two bars") {
    const PersistenceResult r = topology::persistence(data::figure_eight(300, 0.02f, generator));
    CHECK(bars_longer_than(r.diagrams[1], 0.8f) == 2);
    CHECK(bars_longer_than(r.diagrams[1], 0.2f) == 2);
  }
  SUBCASE("sphere: no long bar") {
    // Sampling gaps leave short bars (about 0.35 here); a unit circle's bar is about 1.7 long.
    const PersistenceResult r = topology::persistence(data::sphere(300, 0.0f, generator));
    CHECK(longest_h1_bar(r) < 0.5f);
  }
  SUBCASE("points on a line: no H1 at all") {
    const PersistenceResult r = topology::persistence(data::line_segment(100, generator));
    CHECK(r.diagrams[1].pairs.empty());
    CHECK(r.diagrams[1].essential.empty());
  }
}

TEST_CASE("degenerate clouds give the diagrams a hand count predicts") {
  SUBCASE("one point") {
    const PersistenceResult r = topology::persistence(Tensor::from_vector(std::vector<float>{1, 2}, {1, 2}));
    CHECK(r.diagrams[0].pairs.empty());
    CHECK(r.diagrams[0].essential.size() == 1);
    CHECK(r.diagrams[1].pairs.empty());
  }
  SUBCASE("two points") {
    const PersistenceResult r = topology::persistence(Tensor::from_vector(std::vector<float>{0, 0, 3, 4}, {2, 2}));
    REQUIRE(r.diagrams[0].pairs.size() == 1);
    CHECK(r.diagrams[0].pairs[0].death == 5.0f);
    CHECK(r.diagrams[0].pairs[0].death_edge.u == 1);
    CHECK(r.diagrams[0].pairs[0].death_edge.v == 0);
  }
  SUBCASE("a square: one H1 bar from the side to the diagonal") {
    const PersistenceResult r =
        topology::persistence(Tensor::from_vector(std::vector<float>{0, 0, 1, 0, 1, 1, 0, 1}, {4, 2}));
    REQUIRE(r.diagrams[1].pairs.size() == 1);
    CHECK(r.diagrams[1].pairs[0].birth == 1.0f);
    CHECK(r.diagrams[1].pairs[0].death == doctest::Approx(std::sqrt(2.0f)));
    CHECK(sorted_deaths(r.diagrams[0]) == std::vector<float>{1.0f, 1.0f, 1.0f});
  }
  SUBCASE("duplicates: zero-length H0 pairs, nothing else changes") {
    const std::vector<float> square{0, 0, 1, 0, 1, 1, 0, 1};
    std::vector<float> twice = square;
    twice.insert(twice.end(), square.begin(), square.end());
    const PersistenceResult r = topology::persistence(Tensor::from_vector(twice, {8, 2}));
    CHECK(sorted_deaths(r.diagrams[0]) == std::vector<float>{0, 0, 0, 0, 1, 1, 1});
    REQUIRE(r.diagrams[1].pairs.size() == 1);
    CHECK(r.diagrams[1].pairs[0].birth == 1.0f);
  }
  SUBCASE("all points equal") {
    const PersistenceResult r = topology::persistence(Tensor::full({6, 3}, 2.5f));
    CHECK(sorted_deaths(r.diagrams[0]) == std::vector<float>(5, 0.0f));
    CHECK(r.diagrams[1].pairs.empty());
    CHECK(r.enclosing_radius == 0.0f);
  }
}

TEST_CASE("bad input is refused with a message naming the problem") {
  std::vector<float> values{0, 0, 1, 0, 1, 1, 0, 1};
  values[5] = NAN;
  CHECK(error_message([&] {
          topology::persistence(Tensor::from_vector(values, {4, 2}));
        }).find("point 2, coordinate 1 is nan") != std::string::npos);
  values[5] = INFINITY;
  CHECK(error_message([&] {
          topology::persistence(Tensor::from_vector(values, {4, 2}));
        }).find("point 2, coordinate 1 is inf") != std::string::npos);
  CHECK(error_message([] { topology::persistence(Tensor::zeros({4})); }).find("[points, dim]") != std::string::npos);
  CHECK(error_message([] { topology::persistence(Tensor::zeros({0, 2})); }).find("empty") != std::string::npos);
  const std::vector<float> lopsided{0, 1, 2, 1, 0, 1, 2, 1.5f, 0};
  CHECK(error_message([&] {
          topology::persistence_from_distances(Tensor::from_vector(lopsided, {3, 3}));
        }).find("not symmetric: D[2,1] = 1.5 but D[1,2] = 1") != std::string::npos);
  CHECK(error_message([] {
          topology::persistence(Tensor::zeros({3, 2}), PersistenceOptions{2});
        }).find("max_dim must be 0 or 1, got 2") != std::string::npos);
}

TEST_CASE("clouds whose squared distances would overflow are refused, naming the point; far tight ones are not") {
  for (int64_t dim : {2, 40}) {
    CAPTURE(dim);
    // A square of side 1.4e19: its diagonals' squares overflowed to inf, on both the direct and the Gram path,
    // giving an H1 bar [1.4e19, inf) and an infinite enclosing radius.
    std::vector<float> values(static_cast<size_t>(4 * dim), 0.0f);
    values[0] = 1e19f;
    values[dim] = -1e19f;
    values[2 * dim + 1] = 1e19f;
    values[3 * dim + 1] = -1e19f;
    const Tensor far = Tensor::from_vector(values, {4, dim});
    for (const std::string& message : {error_message([&] { topology::persistence(far); }),
                                       error_message([&] { topology::pairwise_distances(far); })}) {
      CHECK(message.find("cloud 0, point 0 lies 1e+19 from the cloud's mean (its coordinate 0 is 1e+19)") !=
            std::string::npos);
      CHECK(message.find("rescale the cloud") != std::string::npos);
    }
    // Points 2^42 apart near 1.5 * 2^64 (2.8e19): every value involved is exact, so is every death.
    std::vector<float> tight(static_cast<size_t>(5 * dim), 0.0f);
    for (int64_t j = 0; j < 5; ++j) tight[j * dim] = std::ldexp(1.5f, 64) + std::ldexp(float(j), 42);
    const PersistenceResult r = topology::persistence(Tensor::from_vector(tight, {5, dim}));
    CHECK(sorted_deaths(r.diagrams[0]) == std::vector<float>(4, std::ldexp(1.0f, 42)));
    CHECK(r.diagrams[1].pairs.empty());
  }
}

TEST_CASE("a threshold that disconnects the cloud gives a spanning forest whatever the min reduction's identity") {
  // Prim's vectorised minimum starts from FLT_MAX under clang and +inf under GCC; when no remaining vertex had an
  // edge within the threshold, the clang build read parent[-1]. It now starts a new tree either way.
  PersistenceOptions cut;
  cut.threshold = 5.0f;
  const std::vector<float> line{0, 1, 2, 100, 101, 1000};
  const PersistenceResult r = topology::persistence(Tensor::from_vector(line, {6, 1}), cut);
  CHECK(sorted_deaths(r.diagrams[0]) == std::vector<float>{1, 1, 1});
  CHECK(r.diagrams[0].essential.size() == 3);
  // An infinite length is no edge, even under an infinite threshold (input checks refuse infinite distances, so
  // the kernel is called directly): two trees, as on CUDA (tests/test_parity_persistence.cpp).
  const float inf = INFINITY;
  const std::vector<float> split{0, 1, inf, inf, 1, 0, inf, inf, inf, inf, 0, 2, inf, inf, 2, 0};
  const std::vector<kernels::WeightedEdge> forest = backend_spanning_forest(Tensor::from_vector(split, {4, 4}), inf);
  REQUIRE(forest.size() == 2);
  CHECK((forest[0].edge.u == 1 && forest[0].edge.v == 0 && forest[0].length == 1.0f));
  CHECK((forest[1].edge.u == 3 && forest[1].edge.v == 2 && forest[1].length == 2.0f));
}

TEST_CASE("a batch of clouds of different dimensions gives each cloud's own diagrams") {
  Generator generator(31);
  const std::vector<Tensor> clouds{data::gaussian_cloud(40, 12, generator),
                                   data::noisy_circle(30, 1.0f, 0.1f, generator),
                                   data::gaussian_cloud(25, 3, generator)};
  const std::vector<topology::PersistenceResult> batch = topology::persistence_batch(clouds);
  for (size_t c = 0; c < clouds.size(); ++c) {
    const topology::PersistenceResult alone = topology::persistence(clouds[c]);
    for (int dim = 0; dim <= 1; ++dim) {
      REQUIRE(batch[c].diagrams[dim].pairs.size() == alone.diagrams[dim].pairs.size());
      for (size_t i = 0; i < alone.diagrams[dim].pairs.size(); ++i) {
        CHECK(batch[c].diagrams[dim].pairs[i].birth == alone.diagrams[dim].pairs[i].birth);
        CHECK(batch[c].diagrams[dim].pairs[i].death == alone.diagrams[dim].pairs[i].death);
      }
    }
    CHECK(!batch[c].diagrams[1].pairs.empty());
  }
}

TEST_CASE("a distance matrix gives the same diagrams as its points") {
  Generator generator(30);
  const Tensor points = data::gaussian_cloud(90, 5, generator);
  const PersistenceResult from_points = topology::persistence(points);
  const PersistenceResult from_matrix = topology::persistence_from_distances(topology::pairwise_distances(points));
  check_same_values(from_matrix, from_points, 0.0, "matrix vs points");
}

TEST_CASE("a threshold below the enclosing radius keeps H0 exact up to it and reports essential bars") {
  Generator generator(4);
  const Tensor points = data::two_circles(160, 0.02f, generator);
  const PersistenceResult full = topology::persistence(points);
  PersistenceOptions cut;
  cut.threshold = 0.5f;
  const PersistenceResult r = topology::persistence(points, cut);
  CHECK(r.h1_threshold == 0.5f);
  CHECK(r.diagrams[0].essential.size() == 2);  // the circles (3 apart) are separate components at 0.5
  std::vector<float> expected;
  for (float d : sorted_deaths(full.diagrams[0]))
    if (d <= 0.5f) expected.push_back(d);
  CHECK(sorted_deaths(r.diagrams[0]) == expected);
  CHECK(r.diagrams[1].essential.size() == 2);  // both circles' cycles are still open at 0.5
}

TEST_CASE("the time guard throws or truncates as the caller chose") {
  Generator generator(9);
  const Tensor points = data::noisy_circle(400, 1.0f, 0.3f, generator);
  PersistenceOptions options;
  options.time_limit_seconds = 1e-9;
  CHECK(error_message([&] { topology::persistence(points, options); }).find("time limit") != std::string::npos);
  options.on_limit = topology::OnLimit::Truncate;
  const PersistenceResult r = topology::persistence(points, options);
  CHECK(r.truncated);
  CHECK(r.truncation_reason.find("time limit") != std::string::npos);
  CHECK(r.diagrams[0].pairs.size() == 399);  // H0 is always complete
}

// Wall-clock seconds that body takes.
template <typename Body>
double seconds_of(Body&& body) {
  const auto start = std::chrono::steady_clock::now();
  body();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST_CASE("the time limit stops a long H1 reduction within a small margin, also inside one long column") {
  // 2000 noisy-circle points take seconds without a limit (8 s on one core, 2026-12), most of them in one late
  // column that adds tens of thousands of others (the circle's cocycle); the deadline used to be read every 256
  // columns and was overrun by seconds (7 s at a limit of 0.3 s).
  Generator generator(9);
  const Tensor points = data::noisy_circle(2000, 1.0f, 0.1f, generator);
  PersistenceOptions options;
  options.time_limit_seconds = 0.3;
  const double margin = 0.5;
  std::string message;
  CHECK(seconds_of([&] { message = error_message([&] { topology::persistence(points, options); }); }) <
        options.time_limit_seconds + margin);
  CHECK(message.find("time limit of 0.3 s") != std::string::npos);
  CHECK(message.find("use fewer points") != std::string::npos);  // the stage it stopped in says what else helps
  options.on_limit = topology::OnLimit::Truncate;
  PersistenceResult r;
  CHECK(seconds_of([&] { r = topology::persistence(points, options); }) < options.time_limit_seconds + margin);
  CHECK(r.truncated);
  CHECK(r.truncation_reason.find("time limit of 0.3 s") != std::string::npos);
  CHECK(r.diagrams[0].pairs.size() == 1999);
}

TEST_CASE("the memory limit stops a run cleanly, saying what it needed and what to change") {
  Generator generator(9);
  const Tensor points = data::torus(800, 2.0f, 0.7f, 0.02f, generator);
  PersistenceOptions options;
  const PersistenceResult unlimited = topology::persistence(points, options);
  SUBCASE("the matrices estimated before anything is allocated, the columns counted as they are listed") {
    options.memory_limit_bytes = size_t(1) << 20;
    CHECK(error_message([&] { topology::persistence(points, options); })
              .find("persistence of 800 points needs about 2.4 MiB for its distance matrices (4 n^2 bytes per cloud of "
                    "n points), more than its memory limit of 1.0 MiB: use fewer points") != std::string::npos);
    // H1 lists 225 of the 319,600 edges as columns (the rest are apparent pairs or in the spanning tree). Its
    // reduction needed more than 1.6 MiB on two threads, and up to 5.6 MiB on three or more, depending on their
    // timing: 12 MiB is enough, where an up-front estimate of 36 bytes for every edge (13.4 MiB in all) refused it.
    options.memory_limit_bytes = size_t(12) << 20;
    const PersistenceResult fits = topology::persistence(points, options);
    CHECK(!fits.truncated);
    CHECK(fits.diagrams[1].pairs.size() == unlimited.diagrams[1].pairs.size());
    CHECK(fits.diagrams[1].pairs.size() > 0);
    // 1 KiB beside the matrix: the listed columns (16 bytes each while they are sorted) do not fit.
    options.memory_limit_bytes = size_t(800 * 800 * 4 + 1024);
    const std::string message = error_message([&] { topology::persistence(points, options); });
    CHECK(message.find("H1 reduction of 800 points passed its memory limit of 2.4 MiB while listing its columns: the "
                       "run needs more than 2.4 MiB with ") != std::string::npos);
    CHECK(message.find(" columns listed") != std::string::npos);
    CHECK(message.find("lower the threshold, use fewer points, or raise memory_limit_bytes") != std::string::npos);
    options.on_limit = topology::OnLimit::Truncate;
    const PersistenceResult r = topology::persistence(points, options);
    CHECK(r.truncated);
    // The count of columns listed when the limit tripped depends on the threads' timing: the message's start does not.
    CHECK(r.truncation_reason.rfind("H1 reduction of 800 points passed its memory limit of 2.4 MiB while listing its "
                                    "columns: the run needs more than 2.4 MiB with ",
                                    0) == 0);
    CHECK(r.diagrams[0].pairs.size() == 799);
    CHECK(r.diagrams[1].pairs.empty());
    options.max_dim = 0;
    CHECK(!topology::persistence(points, options).truncated);
  }
  SUBCASE("counted as the reduction grows") {
    options.memory_limit_bytes = size_t(3) << 20;  // the matrix and the columns fit; the reduction does not
    const std::string message = error_message([&] { topology::persistence(points, options); });
    CHECK(message.find("H1 reduction of 800 points passed its memory limit of 3.0 MiB in column ") !=
          std::string::npos);
    CHECK(message.find("the run needs more than ") != std::string::npos);
    CHECK(message.find("coboundary lists") != std::string::npos);
    CHECK(message.find("lower the threshold, use fewer points, or raise memory_limit_bytes") != std::string::npos);
    options.on_limit = topology::OnLimit::Truncate;
    const PersistenceResult r = topology::persistence(points, options);
    CHECK(r.truncated);
    CHECK(r.diagrams[1].pairs.size() < unlimited.diagrams[1].pairs.size());  // the pairs found before it tripped
  }
}

TEST_CASE("a batch of clouds of different sizes equals the clouds one by one") {
  Generator generator(17);
  const std::vector<Tensor> clouds{data::noisy_circle(60, 1.0f, 0.1f, generator), data::uniform_cube(1, 2, generator),
                                   data::uniform_cube(140, 2, generator), data::two_circles(90, 0.05f, generator)};
  const std::vector<PersistenceResult> batch = topology::persistence_batch(clouds);
  REQUIRE(batch.size() == clouds.size());
  for (size_t c = 0; c < clouds.size(); ++c) {
    CAPTURE(c);
    const PersistenceResult single = topology::persistence(clouds[c]);
    check_same_values(batch[c], single, 0.0, "batch vs single");
    CHECK(batch[c].points == clouds[c].dim(0));
  }
}

}  // namespace tl::testing

namespace tl::testing {

TEST_CASE("launch chunks cover a count exactly in pieces of at most the chunk size") {
  for (int64_t total : {int64_t(0), int64_t(1), int64_t(65535), int64_t(65536), int64_t(200000)}) {
    CAPTURE(total);
    int64_t next = 0, pieces = 0;
    kernels::for_each_chunk(total, kernels::kMaxGridClouds, [&](int64_t first, int64_t count) {
      CHECK(first == next);
      CHECK(count >= 1);
      CHECK(count <= kernels::kMaxGridClouds);
      next = first + count;
      ++pieces;
    });
    CHECK(next == total);
    CHECK(pieces == (total + kernels::kMaxGridClouds - 1) / kernels::kMaxGridClouds);
  }
}

TEST_CASE("narrow column sort keys order columns latest first and keep their edge index") {
  const int64_t edges = 2016;  // 64 points
  const int bits = kernels::column_index_bits(edges);
  CHECK(bits == 11);
  CHECK((int64_t(1) << bits) - 1 > edges - 1);  // an index never equals the all-ones non-column marker
  const float diameters[] = {0.0f, 0.5f, 0.5f, 3.0f, INFINITY};
  const int64_t indices[] = {7, 2015, 3, 0, 12};
  for (int a = 0; a < 5; ++a) {
    for (int b = 0; b < 5; ++b) {
      CAPTURE(a);
      CAPTURE(b);
      uint32_t bits_a, bits_b;
      std::memcpy(&bits_a, &diameters[a], 4);
      std::memcpy(&bits_b, &diameters[b], 4);
      const uint64_t key_a = kernels::column_sort_key(bits_a, indices[a], bits);
      const uint64_t key_b = kernels::column_sort_key(bits_b, indices[b], bits);
      CHECK(key_a < (uint64_t(1) << (31 + bits)) - 1);
      CHECK(kernels::column_key_index(key_a, bits) == indices[a]);
      // Later in the filtration (larger diameter, or equal diameter and smaller index) sorts first.
      const bool later = kernels::filtration_before(diameters[b], indices[b], diameters[a], indices[a]);
      if (a != b) CHECK((key_a < key_b) == later);
    }
  }
}

}  // namespace tl::testing
