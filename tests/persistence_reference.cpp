// Brute-force H0 and H1 (see persistence_reference.h).
#include "tests/persistence_reference.h"

#include <algorithm>
#include <numeric>

namespace tl::testing::reference {
namespace {

struct Simplex {
  float diameter;
  int64_t index;
  std::vector<int32_t> vertices;  // decreasing
};

bool before(const Simplex& a, const Simplex& b) {
  return kernels::filtration_before(a.diameter, a.index, b.diameter, b.index);
}

std::vector<Simplex> sorted_edges(const std::vector<float>& dist, int64_t n) {
  std::vector<Simplex> edges;
  for (int32_t u = 1; u < n; ++u)
    for (int32_t v = 0; v < u; ++v) edges.push_back(Simplex{dist[u * n + v], kernels::edge_index(u, v), {u, v}});
  std::sort(edges.begin(), edges.end(), before);
  return edges;
}

}  // namespace

std::vector<Pair> kruskal_h0(const std::vector<float>& dist, int64_t n) {
  std::vector<int64_t> parent(static_cast<size_t>(n));
  std::iota(parent.begin(), parent.end(), 0);
  auto root = [&](int64_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  std::vector<Pair> pairs;
  for (const Simplex& e : sorted_edges(dist, n)) {
    const int64_t a = root(e.vertices[0]), b = root(e.vertices[1]);
    if (a == b) continue;
    parent[a] = b;
    pairs.push_back(Pair{0.0f, e.diameter, kernels::Edge{}, kernels::Edge{e.vertices[0], e.vertices[1]}});
  }
  return pairs;
}

std::vector<Pair> boundary_reduction_h1(const std::vector<float>& dist, int64_t n) {
  const std::vector<Simplex> edges = sorted_edges(dist, n);
  std::vector<int64_t> edge_row(static_cast<size_t>(n * (n - 1) / 2));  // edge index -> position in the order
  for (size_t r = 0; r < edges.size(); ++r) edge_row[edges[r].index] = static_cast<int64_t>(r);
  std::vector<Simplex> triangles;
  for (int32_t a = 2; a < n; ++a)
    for (int32_t b = 1; b < a; ++b)
      for (int32_t c = 0; c < b; ++c) {
        const float diameter = std::max({dist[a * n + b], dist[a * n + c], dist[b * n + c]});
        triangles.push_back(Simplex{diameter, kernels::triangle_index(a, b, c), {a, b, c}});
      }
  std::sort(triangles.begin(), triangles.end(), before);

  // Columns of the boundary matrix as sorted row lists; reduce left to right over Z/2.
  std::vector<std::vector<int64_t>> columns;
  std::vector<int64_t> column_of_low(edges.size(), -1);
  std::vector<Pair> pairs;
  for (const Simplex& t : triangles) {
    const int32_t a = t.vertices[0], b = t.vertices[1], c = t.vertices[2];
    std::vector<int64_t> column{edge_row[kernels::edge_index(a, b)], edge_row[kernels::edge_index(a, c)],
                                edge_row[kernels::edge_index(b, c)]};
    std::sort(column.begin(), column.end());
    while (!column.empty() && column_of_low[column.back()] >= 0) {
      const std::vector<int64_t>& other = columns[column_of_low[column.back()]];
      std::vector<int64_t> sum;
      std::set_symmetric_difference(column.begin(), column.end(), other.begin(), other.end(), std::back_inserter(sum));
      column.swap(sum);
    }
    columns.push_back(column);
    if (column.empty()) continue;
    column_of_low[column.back()] = static_cast<int64_t>(columns.size() - 1);
    const Simplex& birth = edges[column.back()];
    if (t.diameter > birth.diameter) {
      pairs.push_back(Pair{birth.diameter, t.diameter, kernels::Edge{birth.vertices[0], birth.vertices[1]},
                           kernels::max_facet(dist.data(), n, a, b, c)});
    }
  }
  return pairs;
}

}  // namespace tl::testing::reference
