// CPU persistence kernels: pairwise distances (direct or Gram/GEMM form), dense Prim minimum spanning forests and
// the columns of the H1 reduction, one cloud per thread when a batch holds several clouds; the scatter of diagram
// gradients onto points. The reference for kernels/cuda/topology.cu.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "core/base/memory.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/diagram_gradient_impl.h"
#include "kernels/distance_impl.h"
#include "kernels/topology_backend.h"

namespace tl::kernels::cpu {
namespace {

void cloud_distances(const float* points, int64_t n, int64_t dim, float* dist) {
  if (dim <= kDirectDistanceMaxDim) {
    // Row i against all points at once, over a coordinate-major copy, so the j loop vectorises. Each entry sums
    // its squared differences in increasing k, as squared_distance does; (a-b)^2 == (b-a)^2 exactly, so the
    // matrix comes out exactly symmetric (computing whole rows is cheaper than mirroring a triangle: the
    // column-wise writes of a mirror miss the cache).
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

// Dense Prim. key[v] is the length of v's best edge to the tree so far (infinity: none within the threshold) and
// parent[v] its other end; tree vertices hold kInTree, below every length, so they are never relaxed or chosen.
// Each step is three passes over the vertices that vectorise: relax strictly shorter edges, find the least key,
// then settle ties by the filtration order (equal lengths: the larger edge index first). When no remaining vertex
// has an edge within the threshold, a new tree starts at the lowest remaining vertex.
int32_t cloud_spanning_forest(const float* dist, int64_t n, float threshold, WeightedEdge* edges) {
  if (n == 0) return 0;
  constexpr float kNone = std::numeric_limits<float>::infinity();
  constexpr float kInTree = -1.0f;
  std::vector<float> key(static_cast<size_t>(n), kNone);
  std::vector<int32_t> parent(static_cast<size_t>(n), -1);
  key[0] = kInTree;
  int32_t current = 0, count = 0;
  for (int64_t step = 1; step < n; ++step) {
    const float* row = dist + static_cast<int64_t>(current) * n;
    int equal_lengths = 0;
    float least = kNone;
#pragma omp simd reduction(| : equal_lengths) reduction(min : least)
    for (int64_t v = 0; v < n; ++v) {
      const float d = row[v], k = key[v];
      const int within = d <= threshold;
      const int shorter = within & (d < k);
      equal_lengths |= within & (d == k);
      const float updated = shorter ? d : k;
      key[v] = updated;
      parent[v] = shorter ? current : parent[v];
      least = std::min(least, updated == kInTree ? kNone : updated);
    }
    if (equal_lengths) {
      for (int32_t v = 0; v < n; ++v)
        if (row[v] == key[v] && row[v] <= threshold && edge_index(current, v) > edge_index(parent[v], v))
          parent[v] = current;
    }
    int32_t next = -1;
    int64_t next_index = -1;
    for (int32_t v = 0; v < n; ++v) {
      if (key[v] != least) continue;
      if (least == kNone) {  // a new tree
        next = v;
        break;
      }
      const int64_t index = edge_index(parent[v], v);
      if (index > next_index) {
        next = v;
        next_index = index;
      }
    }
    if (least != kNone)
      edges[count++] = WeightedEdge{Edge{std::max(next, parent[next]), std::min(next, parent[next])}, least};
    key[next] = kInTree;
    current = next;
  }
  return count;
}

// The reduction columns of one cloud: enumerated, sorted latest first, then each scanned for its emergent cofacet.
int64_t cloud_h1_columns(const float* dist, int64_t n, float threshold, const WeightedEdge* forest,
                         int32_t forest_count, H1Column* columns) {
  std::vector<bool> in_forest(static_cast<size_t>(n * (n - 1) / 2), false);
  for (int32_t e = 0; e < forest_count; ++e) in_forest[edge_index(forest[e].edge.u, forest[e].edge.v)] = true;
  int64_t count = 0;
  for (int32_t u = 1; u < n; ++u) {
    const float* row = dist + static_cast<int64_t>(u) * n;
    for (int32_t v = 0; v < u; ++v) {
      if (row[v] <= threshold && !in_forest[edge_index(u, v)]) {
        columns[count].diameter = row[v];
        columns[count++].edge = Edge{u, v};
      }
    }
  }
  std::sort(columns, columns + count, [](const H1Column& a, const H1Column& b) {
    return filtration_before(b.diameter, edge_index(b.edge.u, b.edge.v), a.diameter, edge_index(a.edge.u, a.edge.v));
  });
  for (int64_t c = 0; c < count; ++c) columns[c] = h1_column(dist, n, columns[c].edge, columns[c].diameter);
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

void h1_columns(const float* dist, const CloudBatch& batch, const float* thresholds, const WeightedEdge* forest,
                const int32_t* forest_counts, H1Column* columns, int64_t* column_counts) {
#pragma omp parallel for schedule(dynamic) if (batch.count > 1)
  for (int64_t c = 0; c < batch.count; ++c)
    column_counts[c] =
        cloud_h1_columns(dist + batch.matrix_offsets[c], batch.points(c), thresholds[c],
                         forest + batch.point_offsets[c], forest_counts[c], columns + batch.edge_offsets[c]);
}

void scatter_edge_gradients(const float* points, int64_t total_points, int64_t dim, const int64_t* offsets,
                            const IncidentEdge* incidence, float* grad) {
#pragma omp parallel for schedule(static) if (total_points * dim > (int64_t(1) << 16))
  for (int64_t p = 0; p < total_points; ++p)
    for (int64_t k = 0; k < dim; ++k)
      grad[p * dim + k] = incident_gradient(points, dim, p, k, incidence + offsets[p], incidence + offsets[p + 1]);
}

}  // namespace
}  // namespace tl::kernels::cpu

namespace tl::kernels {

const TopologyBackend& cpu_topology_backend() {
  static const TopologyBackend table = [] {
    TopologyBackend filled;
#define TL_BIND_CPU_TOPOLOGY_KERNEL(name) filled.name = cpu::name;
    TL_TOPOLOGY_KERNELS(TL_BIND_CPU_TOPOLOGY_KERNEL)
#undef TL_BIND_CPU_TOPOLOGY_KERNEL
    return filled;
  }();
  return table;
}

}  // namespace tl::kernels
