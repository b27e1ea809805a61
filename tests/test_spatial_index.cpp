// The spatial side of large-cloud persistence: the k-d tree neighbour graph against the graph read off the dense
// distance matrix, the Euclidean minimum spanning tree against the dense path's H0 (diagram and death edges, bit for
// bit) and against brute-force Prim in double, on random, duplicate-heavy and integer-grid clouds, with thresholds at
// 0, at a distance that occurs in the cloud and at infinity; independence of the thread count; bad input.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "kernels/persistence_impl.h"
#include "nn/data/synthetic.h"
#include "tests/test_support.h"
#include "topology/euclidean_mst.h"
#include "topology/persistence.h"
#include "topology/spatial_index.h"

namespace tl::testing {
namespace {

using kernels::WeightedEdge;
using topology::NeighborGraph;

constexpr float kInfinity = std::numeric_limits<float>::infinity();

struct Cloud {
  std::string name;
  std::vector<float> points;  // [n, dim] row-major
  int32_t n;
  int32_t dim;
};

Cloud uniform_cloud(int32_t n, int32_t dim, uint64_t seed) {
  Generator generator(seed);
  return Cloud{"uniform " + std::to_string(dim) + "-D", data::uniform_cube(n, dim, generator).to_vector<float>(), n,
               dim};
}

// Integer coordinates in [0, side): many duplicate points and many equal lengths.
Cloud grid_cloud(int32_t n, int32_t dim, int side, uint64_t seed) {
  std::mt19937 random(static_cast<uint32_t>(seed));
  std::uniform_int_distribution<int> coordinate(0, side - 1);
  Cloud cloud{"grid " + std::to_string(dim) + "-D side " + std::to_string(side), {}, n, dim};
  for (int64_t i = 0; i < static_cast<int64_t>(n) * dim; ++i)
    cloud.points.push_back(static_cast<float>(coordinate(random)));
  return cloud;
}

// A few distinct points, each repeated many times, with a little noise on some copies.
Cloud duplicate_heavy_cloud(int32_t n, int32_t dim, uint64_t seed) {
  Generator generator(seed);
  const std::vector<float> sites = data::uniform_cube(7, dim, generator).to_vector<float>();
  std::mt19937 random(static_cast<uint32_t>(seed));
  Cloud cloud{"duplicates " + std::to_string(dim) + "-D", {}, n, dim};
  for (int32_t i = 0; i < n; ++i) {
    const auto site = static_cast<int64_t>(random() % 7);
    const bool jitter = random() % 4 == 0;
    for (int32_t k = 0; k < dim; ++k)
      cloud.points.push_back(sites[site * dim + k] + (jitter ? 1e-3f * static_cast<float>(random() % 5) : 0.0f));
  }
  return cloud;
}

// Gaussian blobs of very different spreads around random centres.
Cloud clustered_cloud(int32_t n, int32_t dim, uint64_t seed) {
  std::mt19937 random(static_cast<uint32_t>(seed));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(0.0f, 100.0f);
  std::vector<float> centres(20 * static_cast<size_t>(dim));
  for (float& c : centres) c = uniform(random);
  Cloud cloud{"clustered " + std::to_string(dim) + "-D", {}, n, dim};
  for (int32_t i = 0; i < n; ++i) {
    const int blob = i % 20;
    const float spread = std::pow(10.0f, static_cast<float>(blob % 4) - 2.0f);
    for (int32_t k = 0; k < dim; ++k) cloud.points.push_back(centres[blob * dim + k] + spread * normal(random));
  }
  return cloud;
}

std::vector<float> dense_distances(const Cloud& cloud) {
  return topology::pairwise_distances(Tensor::from_vector(cloud.points, {cloud.n, cloud.dim})).to_vector<float>();
}

// The neighbour graph read off the dense distance matrix: every pair within the threshold, rows ascending.
NeighborGraph brute_force_graph(const std::vector<float>& dist, int32_t n, float threshold) {
  NeighborGraph graph;
  graph.n = n;
  graph.threshold = threshold;
  graph.offsets.push_back(0);
  for (int32_t u = 0; u < n; ++u) {
    for (int32_t v = 0; v < n; ++v) {
      const float length = dist[static_cast<int64_t>(u) * n + v];
      if (u != v && kernels::edge_within(length, threshold)) {
        graph.neighbors.push_back(v);
        graph.lengths.push_back(length);
      }
    }
    graph.offsets.push_back(static_cast<int64_t>(graph.neighbors.size()));
  }
  return graph;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  // An empty vector's data() may be null, which memcmp must not be given.
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

void check_same_graph(const NeighborGraph& actual, const NeighborGraph& expected) {
  CHECK(actual.n == expected.n);
  CHECK(actual.threshold == expected.threshold);
  CHECK(actual.edge_count() == expected.edge_count());
  CHECK(actual.offsets == expected.offsets);
  CHECK(actual.neighbors == expected.neighbors);
  CHECK(same_bits(actual.lengths, expected.lengths));
}

// A short length that occurs in the matrix (the 5th percentile of its distinct lengths): a threshold some pairs meet
// exactly.
float occurring_distance(const std::vector<float>& dist) {
  std::vector<float> lengths(dist);
  std::sort(lengths.begin(), lengths.end());
  lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());
  return lengths[lengths.size() / 20];
}

// The EMST's edges as H0 pairs, in the order they come: the dense diagram's order if the EMST keeps its promise.
void check_matches_dense_h0(const std::vector<WeightedEdge>& forest, const Cloud& cloud, float threshold) {
  topology::PersistenceOptions options;
  options.max_dim = 0;
  options.threshold = threshold;
  const topology::PersistenceResult dense =
      topology::persistence(Tensor::from_vector(cloud.points, {cloud.n, cloud.dim}), options);
  const topology::Diagram& h0 = dense.diagrams[0];
  REQUIRE(forest.size() == h0.pairs.size());
  CHECK(h0.essential.size() == static_cast<size_t>(cloud.n) - forest.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < forest.size(); ++i) {
    const bool same = std::memcmp(&forest[i].length, &h0.pairs[i].death, sizeof(float)) == 0 &&
                      forest[i].edge.u == h0.pairs[i].death_edge.u && forest[i].edge.v == h0.pairs[i].death_edge.v;
    if (!same && mismatches++ == 0)
      FAIL_CHECK("pair ", i, ": EMST edge {", forest[i].edge.u, ", ", forest[i].edge.v, "} length ", forest[i].length,
                 ", dense {", h0.pairs[i].death_edge.u, ", ", h0.pairs[i].death_edge.v, "} death ", h0.pairs[i].death);
  }
  CHECK(mismatches == 0);
}

// Prim in double over lengths computed in double: the minimum spanning tree's total weight, an independent reference.
double brute_force_prim_weight(const Cloud& cloud) {
  const int32_t n = cloud.n, dim = cloud.dim;
  const auto length = [&](int32_t a, int32_t b) {
    double sum = 0.0;
    for (int32_t k = 0; k < dim; ++k) {
      const double diff = static_cast<double>(cloud.points[static_cast<int64_t>(a) * dim + k]) -
                          cloud.points[static_cast<int64_t>(b) * dim + k];
      sum += diff * diff;
    }
    return std::sqrt(sum);
  };
  std::vector<double> key(static_cast<size_t>(n), std::numeric_limits<double>::infinity());
  std::vector<char> in_tree(static_cast<size_t>(n), 0);
  double total = 0.0;
  int32_t current = 0;
  in_tree[0] = 1;
  for (int32_t step = 1; step < n; ++step) {
    int32_t next = -1;
    for (int32_t v = 0; v < n; ++v) {
      if (in_tree[v]) continue;
      key[v] = std::min(key[v], length(current, v));
      if (next < 0 || key[v] < key[next]) next = v;
    }
    total += key[next];
    in_tree[next] = 1;
    current = next;
  }
  return total;
}

TEST_CASE("the k-d tree neighbour graph equals the graph of the dense distance matrix") {
  const Cloud clouds[] = {uniform_cloud(300, 1, 1),  uniform_cloud(400, 2, 2),         uniform_cloud(500, 3, 3),
                          uniform_cloud(300, 8, 4),  grid_cloud(400, 2, 6, 5),         grid_cloud(500, 3, 4, 6),
                          grid_cloud(300, 1, 20, 7), duplicate_heavy_cloud(300, 3, 8), clustered_cloud(600, 3, 9),
                          uniform_cloud(2, 3, 10)};
  for (const Cloud& cloud : clouds) {
    CAPTURE(cloud.name);
    const std::vector<float> dist = dense_distances(cloud);
    for (const float threshold : {0.0f, occurring_distance(dist), kInfinity}) {
      CAPTURE(threshold);
      const NeighborGraph graph = topology::neighbor_graph_kd_tree(cloud.points.data(), cloud.n, cloud.dim, threshold);
      check_same_graph(graph, brute_force_graph(dist, cloud.n, threshold));
    }
  }
}

TEST_CASE("a threshold at an integer grid's step keeps exactly the lengths equal to it") {
  const Cloud cloud = grid_cloud(500, 2, 30, 11);
  const std::vector<float> dist = dense_distances(cloud);
  const NeighborGraph graph = topology::neighbor_graph_kd_tree(cloud.points.data(), cloud.n, cloud.dim, 1.0f);
  check_same_graph(graph, brute_force_graph(dist, cloud.n, 1.0f));
  CHECK(std::count(graph.lengths.begin(), graph.lengths.end(), 1.0f) > 0);
  CHECK(std::count(graph.lengths.begin(), graph.lengths.end(), 0.0f) > 0);  // duplicates are neighbours at 0
}

TEST_CASE("a k-d tree graph over its edge budget comes back counted and unfilled") {
  const Cloud cloud = grid_cloud(500, 2, 30, 11);
  const NeighborGraph whole = topology::neighbor_graph_kd_tree(cloud.points.data(), cloud.n, cloud.dim, 1.0f);
  const int64_t edges = whole.edge_count();
  REQUIRE(edges > 0);
  const NeighborGraph fits = topology::neighbor_graph_kd_tree(cloud.points.data(), cloud.n, cloud.dim, 1.0f, edges);
  check_same_graph(fits, whole);
  const NeighborGraph over = topology::neighbor_graph_kd_tree(cloud.points.data(), cloud.n, cloud.dim, 1.0f, edges - 1);
  CHECK(over.offsets == whole.offsets);
  CHECK(over.neighbors.empty());
  CHECK(over.lengths.empty());
}

TEST_CASE("the Euclidean MST gives the dense path's H0 diagram and death edges bit for bit") {
  const Cloud clouds[] = {
      uniform_cloud(2000, 2, 21),   uniform_cloud(3000, 3, 22),         uniform_cloud(800, 1, 23),
      uniform_cloud(1000, 8, 24),   grid_cloud(2000, 2, 20, 25),        grid_cloud(2500, 3, 8, 26),
      grid_cloud(1500, 1, 100, 27), duplicate_heavy_cloud(2000, 3, 28), duplicate_heavy_cloud(1000, 2, 29),
      clustered_cloud(3000, 3, 30), clustered_cloud(2000, 2, 31),       uniform_cloud(2, 2, 32)};
  for (const Cloud& cloud : clouds) {
    CAPTURE(cloud.name);
    check_matches_dense_h0(topology::euclidean_mst(cloud.points.data(), cloud.n, cloud.dim), cloud, kInfinity);
    // Thresholds that cut the tree into a forest: at a length of the tree itself (kept), and at 0 (duplicates only).
    const std::vector<WeightedEdge> tree = topology::euclidean_mst(cloud.points.data(), cloud.n, cloud.dim);
    for (const float threshold : {tree[tree.size() * 3 / 4].length, 0.0f}) {
      CAPTURE(threshold);
      check_matches_dense_h0(topology::euclidean_mst(cloud.points.data(), cloud.n, cloud.dim, threshold), cloud,
                             threshold);
    }
  }
}

TEST_CASE("degenerate clouds give the dense path's spanning forest") {
  const std::vector<float> one_point{0.5f, -2.0f};
  CHECK(topology::euclidean_mst(one_point.data(), 1, 2).empty());
  CHECK(topology::euclidean_mst(nullptr, 0, 2).empty());
  CHECK(topology::neighbor_graph_kd_tree(nullptr, 0, 2, kInfinity).offsets == std::vector<int64_t>{0});
  const Cloud identical{"100 identical points", std::vector<float>(300, 1.25f), 100, 3};
  check_matches_dense_h0(topology::euclidean_mst(identical.points.data(), identical.n, identical.dim), identical,
                         kInfinity);
  check_same_graph(topology::neighbor_graph_kd_tree(identical.points.data(), identical.n, identical.dim, 0.0f),
                   brute_force_graph(dense_distances(identical), identical.n, 0.0f));
  Cloud collinear{"points on a line in 3-D", {}, 700, 3};
  for (int32_t i = 0; i < collinear.n; ++i) collinear.points.insert(collinear.points.end(), {i * 0.5f, 1.0f, -3.0f});
  check_matches_dense_h0(topology::euclidean_mst(collinear.points.data(), collinear.n, collinear.dim), collinear,
                         kInfinity);
  const std::vector<float> two_far{0.0f, 0.0f, 3.0f, 4.0f};
  CHECK(topology::euclidean_mst(two_far.data(), 2, 2, 4.99f).empty());
  REQUIRE(topology::euclidean_mst(two_far.data(), 2, 2, 5.0f).size() == 1);
  CHECK(topology::euclidean_mst(two_far.data(), 2, 2, -1.0f).empty());
}

TEST_CASE("the Euclidean MST's total weight equals brute-force Prim in double on larger clouds") {
  for (const Cloud& cloud : {uniform_cloud(12000, 3, 41), clustered_cloud(12000, 2, 42)}) {
    CAPTURE(cloud.name);
    const std::vector<WeightedEdge> tree = topology::euclidean_mst(cloud.points.data(), cloud.n, cloud.dim);
    REQUIRE(tree.size() == static_cast<size_t>(cloud.n - 1));
    double total = 0.0;
    for (const WeightedEdge& e : tree) total += e.length;
    const double reference = brute_force_prim_weight(cloud);
    CHECK(std::abs(total - reference) <= 1e-6 * reference);
  }
}

TEST_CASE("the neighbour graph and the Euclidean MST do not depend on the number of threads") {
  const Cloud cloud = clustered_cloud(30000, 3, 51);
  const Cloud grid = grid_cloud(30000, 3, 25, 52);
  const int threads = omp_get_max_threads();
  const auto run = [&](int count) {
    omp_set_num_threads(count);
    struct Runs {
      NeighborGraph graph;
      std::vector<WeightedEdge> tree, grid_tree;
    } runs{topology::neighbor_graph_kd_tree(cloud.points.data(), cloud.n, cloud.dim, 0.5f),
           topology::euclidean_mst(cloud.points.data(), cloud.n, cloud.dim),
           topology::euclidean_mst(grid.points.data(), grid.n, grid.dim)};
    return runs;
  };
  const auto one = run(1);
  const auto two = run(2);
  omp_set_num_threads(threads);
  check_same_graph(two.graph, one.graph);
  CHECK(one.graph.edge_count() > cloud.n);
  for (const auto& [a, b] : {std::pair{&one.tree, &two.tree}, std::pair{&one.grid_tree, &two.grid_tree}}) {
    REQUIRE(a->size() == b->size());
    CHECK(a->size() == static_cast<size_t>(cloud.n - 1));
    bool same = true;
    for (size_t i = 0; i < a->size(); ++i)
      same = same && (*a)[i].edge.u == (*b)[i].edge.u && (*a)[i].edge.v == (*b)[i].edge.v &&
             std::memcmp(&(*a)[i].length, &(*b)[i].length, sizeof(float)) == 0;
    CHECK(same);
  }
}

TEST_CASE("the spatial index refuses bad input with a message naming the problem") {
  std::vector<float> points{0, 0, 1, 0, 1, 1, 0, 1};
  CHECK(error_message([&] { topology::euclidean_mst(points.data(), 4, 2, NAN); }).find("threshold, got NaN") !=
        std::string::npos);
  CHECK(error_message([&] { topology::neighbor_graph_kd_tree(points.data(), 4, 2, NAN); }).find("threshold, got NaN") !=
        std::string::npos);
  CHECK(error_message([&] { topology::euclidean_mst(points.data(), 2, 0); }).find("1 to 32 dimensions, got 0 (") !=
        std::string::npos);
  const std::vector<float> wide(66, 0.0f);
  CHECK(error_message([&] {
          topology::neighbor_graph_kd_tree(wide.data(), 2, 33, 1.0f);
        }).find("1 to 32 dimensions, got 33 (") != std::string::npos);
  CHECK(error_message([&] { topology::euclidean_mst(points.data(), -1, 2); }).find("point count >= 0, got -1") !=
        std::string::npos);
  points[5] = INFINITY;
  CHECK(error_message([&] { topology::euclidean_mst(points.data(), 4, 2); }).find("point 2 has coordinate 1 = inf") !=
        std::string::npos);
}

}  // namespace
}  // namespace tl::testing
