// CPU persistence kernels: pairwise distances (direct or Gram/GEMM form) and dense Prim minimum spanning
// forests, one cloud per thread when a batch holds several clouds. The reference for kernels/cuda/topology.cu.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "core/memory.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/distance_impl.h"
#include "kernels/topology_backend.h"

namespace tl::kernels::cpu {
namespace {

void cloud_distances(const float* points, int64_t n, int64_t dim, float* dist) {
  if (dim <= kDirectDistanceMaxDim) {
    // Row i against all points at once over a coordinate-major copy, so the j loop vectorises. Each entry sums
    // its squared differences in increasing k, as squared_distance does; (a-b)^2 == (b-a)^2 exactly, so the
    // matrix comes out exactly symmetric.
    std::vector<float> by_coordinate(static_cast<size_t>(n * dim));
    for (int64_t j = 0; j < n; ++j)
      for (int64_t k = 0; k < dim; ++k) by_coordinate[k * n + j] = points[j * dim + k];
    for (int64_t i = 0; i < n; ++i) {
      float* row = dist + i * n;
      std::fill(row, row + n, 0.0f);
      for (int64_t k = 0; k < dim; ++k) {
        const float xi = points[i * dim + k];
        const float* column = by_coordinate.data() + k * n;
        for (int64_t j = 0; j < n; ++j) {
          const float diff = xi - column[j];
          row[j] += diff * diff;
        }
      }
      for (int64_t j = 0; j < n; ++j) row[j] = std::sqrt(row[j]);
      row[i] = 0.0f;
    }
    return;
  }
  std::vector<float> squared_norms(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) squared_norms[i] = squared_norm(points + i * dim, dim);
  gemm(false, true, n, n, dim, 1.0f, points, points, 0.0f, dist);  // dist holds the Gram matrix for now
  for (int64_t i = 0; i < n; ++i) {
    dist[i * n + i] = 0.0f;
    for (int64_t j = i + 1; j < n; ++j) {
      const float value = gram_distance(squared_norms[i], squared_norms[j], dist[i * n + j]);
      dist[i * n + j] = value;
      dist[j * n + i] = value;
    }
  }
}

// Dense Prim over the vertices not yet in the forest; `key` holds each one's best (length, edge index) to the
// forest so far. When no remaining vertex has an edge within the threshold, a new tree starts.
int32_t cloud_spanning_forest(const float* dist, int64_t n, float threshold, WeightedEdge* edges) {
  if (n == 0) return 0;
  constexpr float kNone = std::numeric_limits<float>::infinity();
  std::vector<float> key(static_cast<size_t>(n), kNone);
  std::vector<int64_t> key_index(static_cast<size_t>(n), -1);
  std::vector<int32_t> parent(static_cast<size_t>(n), -1);
  std::vector<int32_t> remaining(static_cast<size_t>(n - 1));
  for (int64_t v = 1; v < n; ++v) remaining[v - 1] = static_cast<int32_t>(v);
  int32_t current = 0, count = 0;
  while (!remaining.empty()) {
    const float* row = dist + static_cast<int64_t>(current) * n;
    size_t best = 0;
    float best_key = kNone;
    int64_t best_index = -1;
    for (size_t p = 0; p < remaining.size(); ++p) {
      const int32_t v = remaining[p];
      const float d = row[v];
      if (d <= threshold && d <= key[v]) {
        const int64_t index = edge_index(current, v);
        if (filtration_before(d, index, key[v], key_index[v])) {
          key[v] = d;
          key_index[v] = index;
          parent[v] = current;
        }
      }
      if (p == 0 || filtration_before(key[v], key_index[v], best_key, best_index)) {
        best = p;
        best_key = key[v];
        best_index = key_index[v];
      }
    }
    const int32_t next = remaining[best];
    remaining[best] = remaining.back();
    remaining.pop_back();
    if (parent[next] >= 0) {
      edges[count++] = WeightedEdge{Edge{std::max(next, parent[next]), std::min(next, parent[next])}, key[next]};
    }
    current = next;
  }
  return count;
}

void pairwise_distances(const float* points, const CloudBatch& batch, float* dist) {
#pragma omp parallel for schedule(dynamic) if (batch.count > 1)
  for (int64_t c = 0; c < batch.count; ++c)
    cloud_distances(points + batch.point_offsets[c] * batch.dim, batch.points(c), batch.dim,
                    dist + batch.matrix_offsets[c]);
}

void minimum_spanning_forest(const float* dist, const CloudBatch& batch, float threshold, WeightedEdge* edges,
                             int32_t* edge_counts) {
#pragma omp parallel for schedule(dynamic) if (batch.count > 1)
  for (int64_t c = 0; c < batch.count; ++c)
    edge_counts[c] = cloud_spanning_forest(dist + batch.matrix_offsets[c], batch.points(c), threshold,
                                           edges + batch.point_offsets[c]);
}

}  // namespace
}  // namespace tl::kernels::cpu

namespace tl::kernels {

const TopologyBackend& cpu_topology_backend() {
  static const TopologyBackend table{cpu::pairwise_distances, cpu::minimum_spanning_forest};
  return table;
}

}  // namespace tl::kernels
