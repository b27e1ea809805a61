// CPU persistence kernels: pairwise distances (the direct form, or the Gram/GEMM form on the centred cloud with the
// cancelled entries recomputed), enclosing radii, dense Prim minimum spanning forests and the columns of the H1
// reduction, one cloud per thread when a batch holds several clouds, a single cloud's distance and radius loops on
// all threads; the scatter of diagram gradients onto points. The reference for kernels/cuda/topology.cu. (The CPU's
// persistence() lists only the reduction columns that are not apparent pairs, in topology/cohomology.cpp; h1_columns
// here lists them all, as the CUDA kernel does, and is what the parity tests compare.)
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <vector>

#include "core/base/memory.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/diagram_gradient_impl.h"
#include "kernels/distance_impl.h"
#include "kernels/topology_backend.h"

namespace tl::kernels::cpu {
namespace {

// Whether one cloud's O(n^2) loop runs on the OpenMP threads: a single cloud large enough, not already inside a
// parallel region (a batch spreads its clouds over the threads instead). A single cloud's loops are not wrapped in
// the batch's (inactive) region: a nested team would not reuse the threads, and with libgomp's default wait policy
// the idle threads of the other team spin on the cores the new one needs (2 threads ran 2x slower than 1).
bool single_cloud_parallel(int64_t n) {
  return n >= 512 && !omp_in_parallel();
}

// The direct form: row i against all points at once, over a coordinate-major copy, so the j loop vectorises. Each
// entry sums its squared differences in increasing k, as squared_distance does; (a-b)^2 == (b-a)^2 exactly, so the
// matrix comes out exactly symmetric (computing whole rows is cheaper than mirroring a triangle: the column-wise
// writes of a mirror miss the cache).
void direct_distances(const float* points, int64_t n, int64_t dim, float* dist) {
  std::vector<float> by_coordinate(static_cast<size_t>(n * dim));
  for (int64_t j = 0; j < n; ++j)
    for (int64_t k = 0; k < dim; ++k) by_coordinate[k * n + j] = points[j * dim + k];
#pragma omp parallel for schedule(static) if (single_cloud_parallel(n))
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
}

// The cloud centred at its mean (kernels/distance_impl.h): the coordinate sums run over the points in increasing
// order, in double.
std::vector<float> centred_cloud(const float* points, int64_t n, int64_t dim) {
  std::vector<double> sums(static_cast<size_t>(dim), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < dim; ++k) sums[k] += points[i * dim + k];
  std::vector<float> means(static_cast<size_t>(dim));
  for (int64_t k = 0; k < dim; ++k) means[k] = mean_coordinate(sums[k], n);
  std::vector<float> centred(static_cast<size_t>(n * dim));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < dim; ++k) centred[i * dim + k] = points[i * dim + k] - means[k];
  return centred;
}

// Copies the upper triangle of the n x n matrix onto the lower one, in square tiles so that both sides of a tile
// stay in cache (a column-wise copy misses it at every entry).
void mirror_upper_triangle(float* dist, int64_t n) {
  constexpr int64_t kTile = 32;
#pragma omp parallel for schedule(dynamic) if (single_cloud_parallel(n))
  for (int64_t ib = 0; ib < n; ib += kTile)
    for (int64_t jb = ib; jb < n; jb += kTile)
      for (int64_t i = ib; i < std::min(ib + kTile, n); ++i)
        for (int64_t j = std::max(jb, i + 1); j < std::min(jb + kTile, n); ++j) dist[j * n + i] = dist[i * n + j];
}

// The Gram form on the centred cloud: the Gram matrix by GEMM, its diagonal the squared norms; then per row i the
// trusted distances (a pass that vectorises; -1 marks a cancelled entry), the cancelled ones recomputed directly
// (rare), and the mirror below the diagonal. The same values as centred_gram_distance.
void gram_distances(const float* points, int64_t n, int64_t dim, float* dist) {
  const std::vector<float> centred = centred_cloud(points, n, dim);
  const float* c = centred.data();
  gemm(false, true, n, n, dim, 1.0f, c, c, 0.0f, dist);  // dist holds the Gram matrix for now
  std::vector<float> squared_norms(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) squared_norms[i] = dist[i * n + i];
#pragma omp parallel for schedule(dynamic, 16) if (single_cloud_parallel(n))
  for (int64_t i = 0; i < n; ++i) {
    float* row = dist + i * n;
    float least = 0.0f;  // negative when an entry cancelled (a min reduction vectorises, a flag does not)
#pragma omp simd reduction(min : least)
    for (int64_t j = i + 1; j < n; ++j) {
      const float squared = trusted_gram_squared_distance(squared_norms[i], squared_norms[j], row[j]);
      row[j] = squared >= 0.0f ? std::sqrt(squared) : -1.0f;
      least = std::min(least, squared);
    }
    if (least < 0.0f) {
      for (int64_t j = i + 1; j < n; ++j)
        if (row[j] < 0.0f) row[j] = std::sqrt(squared_distance(c + i * dim, c + j * dim, dim));
    }
    row[i] = 0.0f;
  }
  mirror_upper_triangle(dist, n);
}

void cloud_distances(const float* points, int64_t n, int64_t dim, float* dist) {
  if (dim <= kDirectDistanceMaxDim) {
    direct_distances(points, n, dim, dist);
  } else {
    gram_distances(points, n, dim, dist);
  }
}

// Dense Prim. key[v] is the length of v's best edge to the tree so far (kNoEdge: none within the threshold) and
// parent[v] its other end; tree vertices hold kInTree, below every length, so they are never relaxed or chosen.
// Each step is three passes over the vertices: relax (vectorised), settle ties, choose the next vertex. When no
// remaining vertex has an edge within the threshold, a new tree starts at the lowest remaining vertex.
constexpr float kNoEdge = std::numeric_limits<float>::infinity();
constexpr float kInTree = -1.0f;

// Relaxes the remaining vertices' keys by the edges of `current` within the threshold (strictly shorter edges
// replace; equal ones win by the filtration order: the larger edge index) and returns the least remaining key.
// That minimum is a hint only: OpenMP's identity for a min reduction is FLT_MAX under clang and +inf under GCC,
// so when no key is finite it may be either, and closest_vertex trusts it only where a vertex holds it.
float relax(const float* row, int32_t current, int64_t n, float threshold, float* key, int32_t* parent) {
  int equal_lengths = 0;
  float least = kNoEdge;
#pragma omp simd reduction(| : equal_lengths) reduction(min : least)
  for (int64_t v = 0; v < n; ++v) {
    const float d = row[v], k = key[v];
    const int within = edge_within(d, threshold);
    const int shorter = within & (d < k);
    equal_lengths |= within & (d == k);
    const float updated = shorter ? d : k;
    key[v] = updated;
    parent[v] = shorter ? current : parent[v];
    least = std::min(least, updated == kInTree ? kNoEdge : updated);
  }
  if (equal_lengths) {
    for (int32_t v = 0; v < n; ++v)
      if (row[v] == key[v] && edge_within(row[v], threshold) && edge_index(current, v) > edge_index(parent[v], v))
        parent[v] = current;
  }
  return least;
}

// The remaining vertex whose finite key equals `least`, the largest edge index first among them; -1 when none
// (no remaining vertex has an edge within the threshold).
int32_t closest_vertex(const float* key, const int32_t* parent, int64_t n, float least) {
  if (least == kNoEdge) return -1;
  int32_t next = -1;
  int64_t next_index = -1;
  for (int32_t v = 0; v < n; ++v) {
    if (key[v] != least) continue;
    const int64_t index = edge_index(parent[v], v);
    if (index > next_index) {
      next = v;
      next_index = index;
    }
  }
  return next;
}

// The lowest vertex not yet in a tree (one exists while Prim has steps left).
int32_t lowest_remaining_vertex(const float* key) {
  int32_t v = 0;
  while (key[v] == kInTree) ++v;
  return v;
}

int32_t cloud_spanning_forest(const float* dist, int64_t n, float threshold, WeightedEdge* edges) {
  if (n == 0) return 0;
  std::vector<float> key(static_cast<size_t>(n), kNoEdge);
  std::vector<int32_t> parent(static_cast<size_t>(n), -1);
  key[0] = kInTree;
  int32_t current = 0, count = 0;
  for (int64_t step = 1; step < n; ++step) {
    const float least =
        relax(dist + static_cast<int64_t>(current) * n, current, n, threshold, key.data(), parent.data());
    int32_t next = closest_vertex(key.data(), parent.data(), n, least);
    if (next >= 0) {
      edges[count++] = WeightedEdge{Edge{std::max(next, parent[next]), std::min(next, parent[next])}, key[next]};
    } else {
      next = lowest_remaining_vertex(key.data());  // a new tree
    }
    key[next] = kInTree;
    current = next;
  }
  return count;
}

// The CPU's column keys keep the edge index in their low 32 bits (column_sort_key), so that the radix sort can
// skip them (see radix_sort).
constexpr int kIndexBits = 32;

// The sort keys (column_sort_key) of one cloud's reduction columns: its edges within the threshold outside its
// spanning forest.
std::vector<uint64_t> column_keys(const float* dist, int64_t n, float threshold, const WeightedEdge* forest,
                                  int32_t forest_count) {
  std::vector<bool> in_forest(static_cast<size_t>(n * (n - 1) / 2), false);
  for (int32_t e = 0; e < forest_count; ++e) in_forest[edge_index(forest[e].edge.u, forest[e].edge.v)] = true;
  std::vector<uint64_t> keys;
  keys.reserve(static_cast<size_t>(n * (n - 1) / 2 - forest_count));
  for (int32_t u = 1; u < n; ++u) {
    const float* row = dist + static_cast<int64_t>(u) * n;
    for (int32_t v = 0; v < u; ++v) {
      const int64_t index = edge_index(u, v);
      if (row[v] <= threshold && !in_forest[index]) {
        const float diameter = row[v] + 0.0f;  // adding +0 turns a -0 into +0
        uint32_t bits;
        std::memcpy(&bits, &diameter, sizeof bits);
        keys.push_back(column_sort_key(bits, index, kIndexBits));
      }
    }
  }
  return keys;
}

// Sorts column keys ascending, least significant digit first, 11 bits a pass (a pass that all keys share a digit
// of is skipped). column_keys emits them in increasing edge index, their low 32 bits, so the stable passes over the
// high 32 bits (the diameter) alone give the full order. The deadline is read between passes; false when it passed.
bool radix_sort(std::vector<uint64_t>& keys, const Deadline& deadline) {
  constexpr int kDigitBits = 11;
  constexpr uint64_t kDigitMask = (uint64_t(1) << kDigitBits) - 1;
  std::vector<uint64_t> sorted(keys.size());
  std::vector<size_t> starts(kDigitMask + 2);
  for (int shift = kIndexBits; shift < 64; shift += kDigitBits) {
    if (deadline.passed()) return false;
    std::fill(starts.begin(), starts.end(), 0);
    for (uint64_t key : keys) ++starts[((key >> shift) & kDigitMask) + 1];
    if (std::find(starts.begin() + 1, starts.end(), keys.size()) != starts.end()) continue;
    std::partial_sum(starts.begin(), starts.end(), starts.begin());
    for (uint64_t key : keys) sorted[starts[(key >> shift) & kDigitMask]++] = key;
    keys.swap(sorted);
  }
  return true;
}

// h1_column with the scan for the emergent cofacet in blocks of 16 vertices, each tested at once (a test that
// vectorises) and searched only when some vertex in it passes: the same column.
H1Column cpu_h1_column(const float* dist, int64_t n, Edge e, float d) {
  constexpr int64_t kBlock = 16;
  const float* row_u = dist + static_cast<int64_t>(e.u) * n;
  const float* row_v = dist + static_cast<int64_t>(e.v) * n;
  for (int64_t top = n - 1; top >= 0; top -= kBlock) {
    const int64_t bottom = std::max<int64_t>(top - kBlock + 1, 0);
    int any = 0;
    for (int64_t k = bottom; k <= top; ++k) any |= static_cast<int>(row_u[k] <= d) & static_cast<int>(row_v[k] <= d);
    if (!any) continue;
    for (int64_t k = top; k >= bottom; --k) {
      if (cofacet_within(row_u, row_v, e, static_cast<int32_t>(k), d)) {
        H1Column column;
        column.diameter = d;
        column.edge = e;
        column.cofacet_vertex = static_cast<int32_t>(k);
        column.apparent = is_apparent(dist, n, e, column.cofacet_vertex);
        return column;
      }
    }
  }
  H1Column column;
  column.diameter = d;
  column.edge = e;
  return column;
}

// The reduction columns of one cloud: keyed, sorted latest first, then each scanned for its emergent cofacet.
// -1 when the deadline passed first (it is read between sort passes and every 4096 columns).
int64_t cloud_h1_columns(const float* dist, int64_t n, float threshold, const WeightedEdge* forest,
                         int32_t forest_count, const Deadline& deadline, H1Column* columns) {
  std::vector<uint64_t> keys = column_keys(dist, n, threshold, forest, forest_count);
  if (!radix_sort(keys, deadline)) return -1;
  for (size_t c = 0; c < keys.size(); ++c) {
    if (c % 4096 == 0 && deadline.passed()) return -1;
    const Edge e = edge_vertices(column_key_index(keys[c], kIndexBits));
    columns[c] = cpu_h1_column(dist, n, e, dist[e.u * n + e.v]);
  }
  return static_cast<int64_t>(keys.size());
}

void pairwise_distances(const float* points, const CloudBatch& batch, float* dist) {
  if (batch.count == 1) {  // no enclosing region: the cloud's own loops (and the GEMM's) use the threads
    cloud_distances(points, batch.points(0), batch.dim, dist);
    return;
  }
#pragma omp parallel for schedule(dynamic)
  for (int64_t c = 0; c < batch.count; ++c)
    cloud_distances(points + batch.point_offsets[c] * batch.dim, batch.points(c), batch.dim,
                    dist + batch.matrix_offsets[c]);
}

void enclosing_radii(const float* dist, const CloudBatch& batch, float* radii) {
  for (int64_t c = 0; c < batch.count; ++c) {
    const int64_t n = batch.points(c);
    const float* d = dist + batch.matrix_offsets[c];
    float radius = std::numeric_limits<float>::infinity();
#pragma omp parallel for schedule(static) reduction(min : radius) if (single_cloud_parallel(n))
    for (int64_t i = 0; i < n; ++i) radius = std::min(radius, *std::max_element(d + i * n, d + (i + 1) * n));
    radii[c] = radius;
  }
}

void minimum_spanning_forest(const float* dist, const CloudBatch& batch, float threshold, WeightedEdge* edges,
                             int32_t* edge_counts) {
#pragma omp parallel for schedule(dynamic) if (batch.count > 1)
  for (int64_t c = 0; c < batch.count; ++c)
    edge_counts[c] = cloud_spanning_forest(dist + batch.matrix_offsets[c], batch.points(c), threshold,
                                           edges + batch.point_offsets[c]);
}

void h1_columns(const float* dist, const CloudBatch& batch, const float* thresholds, const WeightedEdge* forest,
                const int32_t* forest_counts, const Deadline& deadline, H1Column* columns, int64_t* column_counts) {
#pragma omp parallel for schedule(dynamic) if (batch.count > 1)
  for (int64_t c = 0; c < batch.count; ++c)
    column_counts[c] =
        cloud_h1_columns(dist + batch.matrix_offsets[c], batch.points(c), thresholds[c],
                         forest + batch.point_offsets[c], forest_counts[c], deadline, columns + batch.edge_offsets[c]);
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

#define TL_BIND_CPU_TOPOLOGY_KERNEL(name) t.name = cpu::name;
const TopologyBackend& cpu_topology_backend() {
  return kernel_table<TopologyBackend>([](TopologyBackend& t) { TL_TOPOLOGY_KERNELS(TL_BIND_CPU_TOPOLOGY_KERNEL) });
}
#undef TL_BIND_CPU_TOPOLOGY_KERNEL

}  // namespace tl::kernels
