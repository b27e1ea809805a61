// The persistence kernels each backend provides, over ragged batches of point clouds: cloud c owns points
// [point_offsets[c], point_offsets[c+1]) of a [total_points, dim] array, the row-major n_c x n_c distance
// matrix starting at matrix_offsets[c] of one flat buffer, and n_c (n_c - 1) / 2 edge slots starting at
// edge_offsets[c]. Offsets (and per-cloud scalars) live on the host, data on the table's device; a caller that
// runs several kernels on one batch may also hand in the offsets already on the device, saving each kernel's upload.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "core/base/types.h"
#include "kernels/backend.h"
#include "kernels/diagram_gradient_impl.h"
#include "kernels/persistence_impl.h"

namespace tl::kernels {

struct CloudBatch {
  int64_t count = 0;
  int64_t dim = 0;                          // coordinates per point (unused for distance-matrix input)
  const int64_t* point_offsets = nullptr;   // count + 1 entries
  const int64_t* matrix_offsets = nullptr;  // count + 1 entries
  const int64_t* edge_offsets = nullptr;    // count + 1 entries
  // Optional: the three offset arrays, in that order (3 (count + 1) entries), on the table's device; null: the
  // kernels upload them.
  const int64_t* device_offsets = nullptr;
  int64_t points(int64_t c) const { return point_offsets[c + 1] - point_offsets[c]; }
};

// A CUDA grid holds at most 65,535 blocks along y and z, where the kernels index clouds: they cover a batch in
// chunks of at most this many clouds.
constexpr int64_t kMaxGridClouds = 65535;

// Calls body(first, count) for consecutive chunks [first, first + count) of at most `chunk` items covering [0, total).
template <class Body>
void for_each_chunk(int64_t total, int64_t chunk, Body&& body) {
  for (int64_t first = 0; first < total; first += chunk) body(first, std::min(chunk, total - first));
}

// When the CPU kernels that take one give up early: a time on std::chrono::steady_clock. The CUDA kernels run to
// their end (they take a small part of a run).
struct Deadline {
  double steady_seconds = 0.0;  // seconds since the clock's epoch; 0: never
  static double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  bool passed() const { return steady_seconds > 0.0 && now() > steady_seconds; }
};

// Each persistence kernel's signature, written once (see kernels/backend.h for the pattern).
namespace topology_signature {
// dist[c] = pairwise Euclidean distances of cloud c: exact zero diagonal, exactly symmetric.
using pairwise_distances = void(const float* points, const CloudBatch& batch, float* dist);
// radii[c] (on the table's device) = cloud c's enclosing radius, min over rows i of max_j D[i, j].
using enclosing_radii = void(const float* dist, const CloudBatch& batch, float* radii);
// For each cloud, the minimum spanning forest of the finite edges no longer than `threshold` (edge_within), its
// edges written at edges + point_offsets[c] (n_c - 1 slots) in the order Prim adds them, edge_counts[c] of them.
// Ties follow the filtration order of kernels/persistence_impl.h, so the forest is unique.
using minimum_spanning_forest = void(const float* dist, const CloudBatch& batch, float threshold, WeightedEdge* edges,
                                     int32_t* edge_counts);
// For each cloud, the columns of its degree-1 cohomology reduction: the edges no longer than thresholds[c]
// (a host array) outside its spanning forest (as minimum_spanning_forest wrote it), latest in the filtration
// first, each with its emergent cofacet and apparent flag (h1_column). Written at columns + edge_offsets[c];
// column_counts[c] (a host array) says how many, or is -1 when the deadline passed before they were all listed.
using h1_columns = void(const float* dist, const CloudBatch& batch, const float* thresholds, const WeightedEdge* forest,
                        const int32_t* forest_counts, const Deadline& deadline, H1Column* columns,
                        int64_t* column_counts);
// grad[p, k] = incident_gradient of point p (p < total_points) over incidence[offsets[p], offsets[p+1]):
// offsets (total_points + 1 entries) and incidence are host arrays; points and grad on the table's device.
using scatter_edge_gradients = void(const float* points, int64_t total_points, int64_t dim, const int64_t* offsets,
                                    const IncidentEdge* incidence, float* grad);
}  // namespace topology_signature

// The persistence kernels by name, once (X-macro, as TL_BACKEND_KERNELS).
#define TL_TOPOLOGY_KERNELS(X) \
  X(pairwise_distances) X(enclosing_radii) X(minimum_spanning_forest) X(h1_columns) X(scatter_edge_gradients)

struct TopologyBackend {
#define TL_TOPOLOGY_FIELD(name) topology_signature::name* name = nullptr;
  TL_TOPOLOGY_KERNELS(TL_TOPOLOGY_FIELD)
#undef TL_TOPOLOGY_FIELD
};

const TopologyBackend& cpu_topology_backend();
const TopologyBackend& cuda_topology_backend();

inline const TopologyBackend& topology_backend_for(Device device) {
  return device == Device::CPU ? cpu_topology_backend() : cuda_topology_backend();
}

}  // namespace tl::kernels
