// The sparse persistence path (PersistenceOptions::sparse) against the dense one, its independent reference: the
// blocked neighbour graph and enclosing radius against the dense distance matrix, then whole diagrams with their
// critical edges bit for bit on low- and high-dimensional clouds, duplicate points, grids full of ties, thresholds
// below and above the enclosing radius and none; batches, refusals, and the time and memory guards.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/persistence_impl.h"
#include "nn/data/synthetic.h"
#include "tests/test_support.h"
#include "topology/neighbor_graph.h"
#include "topology/persistence.h"

namespace tl::testing {
namespace {

using topology::Diagram;
using topology::NeighborGraph;
using topology::PersistenceOptions;
using topology::PersistenceResult;

constexpr float kInfinity = std::numeric_limits<float>::infinity();

// Every pair within the threshold is in both rows with the dense matrix's length, bit for bit, rows ascending, and
// no other pair is.
void check_graph_equals_matrix(const NeighborGraph& graph, const Tensor& points, float threshold) {
  const int64_t n = points.dim(0);
  const std::vector<float> dist = topology::pairwise_distances(points).to_vector<float>();
  REQUIRE(graph.n == n);
  REQUIRE(graph.offsets.size() == static_cast<size_t>(n + 1));
  int64_t expected_entries = 0, mismatches = 0;
  for (int64_t u = 0; u < n; ++u) {
    std::vector<int32_t> expected;
    for (int64_t v = 0; v < n; ++v)
      if (v != u && kernels::edge_within(dist[u * n + v], threshold)) expected.push_back(static_cast<int32_t>(v));
    expected_entries += static_cast<int64_t>(expected.size());
    const int64_t first = graph.offsets[u], last = graph.offsets[u + 1];
    if (last - first != static_cast<int64_t>(expected.size())) {
      ++mismatches;
      continue;
    }
    for (int64_t p = first; p < last; ++p) {
      const int32_t v = graph.neighbors[p];
      mismatches += v != expected[p - first] || graph.lengths[p] != dist[u * n + v];
    }
  }
  CHECK(mismatches == 0);
  CHECK(static_cast<int64_t>(graph.neighbors.size()) == expected_entries);
  CHECK(graph.edge_count() * 2 == expected_entries);
}

// Two results agree in every field: pairs with their values and critical edges in order, essential bars, radius and
// H1 threshold.
void check_same_results(const PersistenceResult& sparse, const PersistenceResult& dense, const std::string& what) {
  INFO(what);
  REQUIRE(sparse.diagrams.size() == dense.diagrams.size());
  CHECK(sparse.points == dense.points);
  CHECK(sparse.truncated == dense.truncated);
  if (dense.diagrams.size() > 1) {
    CHECK(sparse.enclosing_radius == dense.enclosing_radius);
    CHECK(sparse.h1_threshold == dense.h1_threshold);
  }
  for (size_t k = 0; k < dense.diagrams.size(); ++k) {
    const Diagram& a = sparse.diagrams[k];
    const Diagram& b = dense.diagrams[k];
    CHECK(a.dim == b.dim);
    REQUIRE_MESSAGE(a.pairs.size() == b.pairs.size(), "H", k);
    int64_t differing = 0;
    for (size_t i = 0; i < a.pairs.size(); ++i) {
      const auto& p = a.pairs[i];
      const auto& q = b.pairs[i];
      differing += p.birth != q.birth || p.death != q.death || p.birth_edge.u != q.birth_edge.u ||
                   p.birth_edge.v != q.birth_edge.v || p.death_edge.u != q.death_edge.u ||
                   p.death_edge.v != q.death_edge.v;
    }
    CHECK_MESSAGE(differing == 0, "H", k, ": ", differing, " of ", a.pairs.size(), " pairs differ");
    REQUIRE_MESSAGE(a.essential.size() == b.essential.size(), "H", k);
    for (size_t i = 0; i < a.essential.size(); ++i) {
      CHECK(a.essential[i].birth == b.essential[i].birth);
      CHECK(a.essential[i].birth_edge.u == b.essential[i].birth_edge.u);
      CHECK(a.essential[i].birth_edge.v == b.essential[i].birth_edge.v);
    }
  }
}

PersistenceResult run(const Tensor& points, float threshold, bool sparse, int max_dim = 1) {
  PersistenceOptions options;
  options.threshold = threshold;
  options.sparse = sparse;
  options.max_dim = max_dim;
  return topology::persistence(points, options);
}

// Sparse and dense persistence of `points` at `threshold`, which must agree bit for bit.
void check_sparse_equals_dense(const Tensor& points, float threshold, const std::string& what) {
  const PersistenceResult dense = run(points, threshold, false);
  check_same_results(run(points, threshold, true), dense, what + " (H0 and H1)");
  check_same_results(run(points, threshold, true, 0), run(points, threshold, false, 0), what + " (H0)");
}

// A cloud whose coordinates are small integers: many equal distances, whose ties the filtration order settles.
Tensor grid_cloud(int64_t side, int64_t dim) {
  std::vector<float> values;
  int64_t count = 1;
  for (int64_t k = 0; k < dim; ++k) count *= side;
  for (int64_t i = 0; i < count; ++i)
    for (int64_t k = 0, rest = i; k < dim; ++k, rest /= side) values.push_back(static_cast<float>(rest % side));
  return Tensor::from_vector(values, {count, dim});
}

TEST_CASE("the blocked neighbour graph holds the pairs within the threshold with the dense matrix's lengths") {
  // 2100 points cross a block of 2048 columns; 40 and 33 dimensions take the Gram form, and a tight cluster far from
  // the mean makes some of its entries cancel and be recomputed.
  const Tensor cube = random_tensor({2100, 3}, 1, 0.0f, 1.0f);
  check_graph_equals_matrix(topology::neighbor_graph_blocked(cube.data<float>(), 2100, 3, 0.08f), cube, 0.08f);
  const Tensor wide = random_tensor({300, 40}, 2, 0.0f, 1.0f);
  check_graph_equals_matrix(topology::neighbor_graph_blocked(wide.data<float>(), 300, 40, 2.3f), wide, 2.3f);
  std::vector<float> values = random_tensor({200, 33}, 3, -1e-3f, 1e-3f).to_vector<float>();
  for (size_t i = 0; i < values.size() / 2; ++i) values[i] += 50.0f;  // half the cloud far from the other half
  const Tensor far = Tensor::from_vector(values, {200, 33});
  check_graph_equals_matrix(topology::neighbor_graph_blocked(far.data<float>(), 200, 33, 0.01f), far, 0.01f);
  check_graph_equals_matrix(topology::neighbor_graph_blocked(wide.data<float>(), 300, 40, kInfinity), wide, kInfinity);
}

TEST_CASE("the blocked builder counts its edges before allocating and stops at a passed deadline") {
  const Tensor points = random_tensor({500, 12}, 4, 0.0f, 1.0f);
  const NeighborGraph full = topology::neighbor_graph_blocked(points.data<float>(), 500, 12, 0.9f);
  topology::GraphLimits limits;
  limits.max_edges = full.edge_count() - 1;
  const topology::GraphBuild refused =
      topology::build_neighbor_graph_blocked(points.data<float>(), 500, 12, 0.9f, limits);
  CHECK(refused.stop == topology::GraphBuild::kTooManyEdges);
  CHECK(refused.edges == full.edge_count());
  CHECK(refused.graph.neighbors.empty());
  limits.max_edges = full.edge_count();
  CHECK(topology::build_neighbor_graph_blocked(points.data<float>(), 500, 12, 0.9f, limits).stop ==
        topology::GraphBuild::kComplete);
  limits.deadline_seconds = 1.0;  // long past on the steady clock
  CHECK(topology::build_neighbor_graph_blocked(points.data<float>(), 500, 12, 0.9f, limits).stop ==
        topology::GraphBuild::kTimePassed);
}

TEST_CASE("the blocked enclosing radius equals the dense path's in low and high dimension") {
  for (const auto& [n, dim] : std::vector<std::pair<int64_t, int64_t>>{{1, 3}, {2, 2}, {700, 3}, {300, 40}}) {
    const Tensor points = random_tensor({n, dim}, 10 + static_cast<uint64_t>(dim), 0.0f, 1.0f);
    CHECK(
        topology::enclosing_radius_blocked(points.data<float>(), static_cast<int32_t>(n), static_cast<int32_t>(dim)) ==
        run(points, kInfinity, false).enclosing_radius);
  }
  const Tensor points = random_tensor({300, 3}, 5, 0.0f, 1.0f);
  CHECK(std::isnan(topology::enclosing_radius_blocked(points.data<float>(), 300, 3, 1.0)));
}

TEST_CASE("sparse persistence equals the dense path bit for bit on clouds in low and high dimension") {
  Generator generator(21);
  const Tensor cube = random_tensor({900, 3}, 22, 0.0f, 1.0f);
  const float radius = run(cube, kInfinity, false).enclosing_radius;
  // Thresholds below the enclosing radius (H1 cut there, essential bars left), above it, and none.
  for (const float threshold : {0.09f, 0.16f, radius, 1.5f * radius, kInfinity})
    check_sparse_equals_dense(cube, threshold, "uniform 3-D at " + std::to_string(threshold));
  check_sparse_equals_dense(data::noisy_circle(400, 1.0f, 0.1f, generator), 0.6f, "noisy circle");
  check_sparse_equals_dense(data::torus(1200, 2.0f, 0.7f, 0.02f, generator), 0.5f, "torus");
  // The k-d tree builds the graph up to 8 dimensions, blocks of the matrix above; the Euclidean spanning tree serves
  // H0 up to 32, Kruskal over the graph above or when the graph reaches the threshold.
  const Tensor twelve = random_tensor({500, 12}, 23, 0.0f, 1.0f);
  check_sparse_equals_dense(twelve, 0.7f, "uniform 12-D below the radius");
  check_sparse_equals_dense(twelve, kInfinity, "uniform 12-D without a threshold");
  const Tensor forty = random_tensor({400, 40}, 24, 0.0f, 1.0f);
  check_sparse_equals_dense(forty, 2.0f, "uniform 40-D (Gram form)");
  check_sparse_equals_dense(forty, 100.0f, "uniform 40-D above the radius");
  // More than 2952 points: 128-bit cofacet keys.
  check_sparse_equals_dense(random_tensor({3100, 2}, 25, 0.0f, 1.0f), 0.025f, "uniform 2-D, 3100 points");
}

TEST_CASE("sparse persistence equals the dense path on duplicate points and on grids full of ties") {
  std::vector<float> values = random_tensor({150, 3}, 30, 0.0f, 1.0f).to_vector<float>();
  const std::vector<float> copy = values;
  values.insert(values.end(), copy.begin(), copy.begin() + 3 * 60);  // 60 points twice
  values.insert(values.end(), copy.begin(), copy.begin() + 3 * 10);  // 10 of them three times
  const Tensor duplicates = Tensor::from_vector(values, {220, 3});
  check_sparse_equals_dense(duplicates, 0.3f, "duplicate points");
  check_sparse_equals_dense(duplicates, kInfinity, "duplicate points without a threshold");
  check_sparse_equals_dense(grid_cloud(9, 2), 2.0f, "9 x 9 grid");
  check_sparse_equals_dense(grid_cloud(6, 3), 1.5f, "6 x 6 x 6 grid");
  check_sparse_equals_dense(grid_cloud(6, 3), kInfinity, "6 x 6 x 6 grid without a threshold");
  check_sparse_equals_dense(grid_cloud(2, 9), 1.5f, "the 512 vertices of a 9-D cube");
  check_sparse_equals_dense(Tensor::from_vector(std::vector<float>(12, 0.5f), {4, 3}), kInfinity, "one point 4 times");
  check_sparse_equals_dense(random_tensor({1, 3}, 31), kInfinity, "a single point");
}

TEST_CASE("a sparse batch of clouds of different sizes and dimensions equals the clouds one by one") {
  const std::vector<Tensor> clouds = {random_tensor({300, 3}, 40, 0.0f, 1.0f), random_tensor({120, 2}, 41, 0.0f, 1.0f),
                                      random_tensor({200, 3}, 42, 0.0f, 1.0f),
                                      random_tensor({150, 12}, 43, 0.0f, 1.0f)};
  PersistenceOptions options;
  options.sparse = true;
  options.threshold = 0.8f;
  const std::vector<PersistenceResult> batch = topology::persistence_batch(clouds, options);
  REQUIRE(batch.size() == clouds.size());
  for (size_t c = 0; c < clouds.size(); ++c) {
    check_same_results(batch[c], topology::persistence(clouds[c], options), "cloud " + std::to_string(c));
    check_same_results(batch[c], run(clouds[c], 0.8f, false), "cloud " + std::to_string(c) + " dense");
  }
}

TEST_CASE("the sparse path refuses what it cannot compute, saying why") {
  PersistenceOptions options;
  options.sparse = true;
  const Tensor wide = random_tensor({50, 40}, 50, 0.0f, 1.0f);
  CHECK(error_message([&] { topology::persistence(wide, options); }).find("needs a finite threshold") !=
        std::string::npos);
  const Tensor matrix = topology::pairwise_distances(random_tensor({20, 3}, 51));
  CHECK(error_message([&] { topology::persistence_from_distances(matrix, options); }).find("sparse mode takes point") !=
        std::string::npos);
  options.threshold = 0.001f;
  const Tensor huge = random_tensor({65537, 2}, 52, 0.0f, 1.0f);
  CHECK(error_message([&] { topology::persistence(huge, options); }).find("at most 65536 with H1") !=
        std::string::npos);
  options.max_dim = 0;  // H0 takes any size
  const Diagram h0 = topology::persistence(huge, options).diagrams[0];
  CHECK(h0.pairs.size() + h0.essential.size() == 65537);
}

TEST_CASE("the time limit stops sparse persistence of a large cloud, or truncates it keeping H0") {
  // A torus of 20,000 points with about 250 neighbours a point: its H1 takes about 10 s on one core (2026-12).
  Generator generator(60);
  const Tensor torus = data::torus(20000, 2.0f, 0.7f, 0.02f, generator);
  PersistenceOptions options;
  options.sparse = true;
  options.threshold = 0.47f;
  options.time_limit_seconds = 0.2;
  CHECK(error_message([&] { topology::persistence(torus, options); }).find("time limit of 0.2 s") != std::string::npos);
  options.on_limit = topology::OnLimit::Truncate;
  const PersistenceResult r = topology::persistence(torus, options);
  CHECK(r.truncated);
  CHECK(r.truncation_reason.find("time limit") != std::string::npos);
  CHECK(r.diagrams[0].pairs.size() == 19999);  // H0 is always complete
}

TEST_CASE("the memory limit refuses a neighbour graph that does not fit, naming its edge count") {
  const Tensor cube = random_tensor({2000, 3}, 70, 0.0f, 1.0f);
  const NeighborGraph graph = topology::neighbor_graph_blocked(cube.data<float>(), 2000, 3, 0.3f);
  PersistenceOptions options;
  options.sparse = true;
  options.threshold = 0.3f;
  options.memory_limit_bytes = static_cast<size_t>(NeighborGraph::bytes_for(2000, graph.edge_count()) / 2);
  const std::string message = error_message([&] { topology::persistence(cube, options); });
  CHECK(message.find("holds " + std::to_string(graph.edge_count()) + " edges") != std::string::npos);
  CHECK(message.find("memory limit") != std::string::npos);
  options.on_limit = topology::OnLimit::Truncate;  // the k-d tree's graph serves H1 only: H0 stays complete
  const PersistenceResult r = topology::persistence(cube, options);
  CHECK(r.truncated);
  CHECK(r.diagrams[0].pairs.size() == run(cube, 0.3f, false, 0).diagrams[0].pairs.size());
  CHECK(r.diagrams[1].pairs.empty());
  // Above 32 dimensions H0 reads the graph too (counted before it is allocated), so even Truncate cannot go on.
  const Tensor forty = random_tensor({300, 40}, 71, 0.0f, 1.0f);
  const NeighborGraph wide = topology::neighbor_graph_blocked(forty.data<float>(), 300, 40, 2.4f);
  options.threshold = 2.4f;
  options.memory_limit_bytes = static_cast<size_t>(NeighborGraph::bytes_for(300, wide.edge_count()) / 2);
  CHECK(error_message([&] {
          topology::persistence(forty, options);
        }).find("holds " + std::to_string(wide.edge_count()) + " edges") != std::string::npos);
  // Kruskal sorts a copy of the graph's edges (12 bytes each): a limit the graph alone fits under refuses them too,
  // before either is allocated.
  const int64_t graph_bytes = NeighborGraph::bytes_for(300, wide.edge_count());
  options.memory_limit_bytes = static_cast<size_t>(graph_bytes + 6 * wide.edge_count());
  const std::string kruskal = error_message([&] { topology::persistence(forty, options); });
  CHECK(kruskal.find("holds " + std::to_string(wide.edge_count()) + " edges") != std::string::npos);
  CHECK(kruskal.find("at 28 bytes an edge") != std::string::npos);
  options.memory_limit_bytes = 1 << 30;  // enough: the dense path's diagrams
  check_same_results(topology::persistence(forty, options), run(forty, 2.4f, false), "40-D under a generous limit");
  // 1 KiB beside the graph and the spanning tree: H1's listed columns (about 1,500 here) count too.
  options.threshold = 0.15f;
  options.on_limit = topology::OnLimit::Error;
  const Tensor big_cube = random_tensor({3000, 3}, 73, 0.0f, 1.0f);
  const NeighborGraph cube_graph = topology::neighbor_graph_blocked(big_cube.data<float>(), 3000, 3, 0.15f);
  options.memory_limit_bytes = static_cast<size_t>(NeighborGraph::bytes_for(3000, cube_graph.edge_count()) +
                                                   2999 * static_cast<int64_t>(sizeof(kernels::WeightedEdge)) + 1024);
  const std::string listing = error_message([&] { topology::persistence(big_cube, options); });
  CHECK(listing.find("H1 reduction of 3000 points passed its memory limit of") != std::string::npos);
  CHECK(listing.find("while listing its columns") != std::string::npos);
}

}  // namespace
}  // namespace tl::testing
