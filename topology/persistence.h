// Vietoris-Rips persistent homology of point clouds, degrees 0 and 1, with the critical edges of every pair.
//
// H0 is the minimum spanning tree (dense Prim); H1 is a cohomology reduction over Z/2 in the style of ripser:
// threshold at the enclosing radius (exact: beyond it the complex is a cone), clearing by the H0 pairs, emergent
// pairs found without building their columns, triangles implicit in the combinatorial number system, and only
// the columns that needed reduction stored. Every tie follows the filtration order of
// kernels/persistence_impl.h (diameter, then larger combinatorial index first), so pairs and critical edges are
// unique, and birth = D[birth_edge], death = D[death_edge] hold exactly for the float32 distance matrix D.
//
// Distances (kernels/distance_impl.h) depend on the points' differences only, up to float rounding: above 32
// dimensions the Gram form runs on the centred cloud and recomputes the entries where it cancels, so translating
// a cloud changes its diagrams by a few float roundings of the distances (relative), on both backends.
// Coordinates must be finite, and every point must lie within 8.5e18 (kernels::kMaxCentroidDistance) of its
// cloud's mean: beyond that a squared distance could overflow float32 (distances reach at least that far and at
// most twice it; sqrt(FLT_MAX) is 1.8e19), and the cloud is refused with a ValueError naming the point (rescale
// it; the diagrams scale with it). No distance, birth or death is ever infinite.
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "kernels/persistence_impl.h"

namespace tl::topology {

using kernels::Edge;

struct PersistencePair {
  float birth = 0.0f;
  float death = 0.0f;
  Edge birth_edge;  // H1: the edge that creates the cycle. H0: {-1, -1} (every vertex is born at 0)
  Edge death_edge;  // H0: the spanning-tree edge that merges two components. H1: the killing triangle's longest edge
};

// A class still alive at the threshold (the one H0 bar of a connected cloud, or bars cut by a user threshold).
struct EssentialBar {
  float birth = 0.0f;
  Edge birth_edge;  // {-1, -1} in H0
};

struct Diagram {
  int dim = 0;
  // H0: all n - components finite pairs, zero-length ones included, in the filtration order of their death
  // edges. H1: the pairs with death > birth, in the filtration order of their birth edges.
  std::vector<PersistencePair> pairs;
  std::vector<EssentialBar> essential;
};

enum class OnLimit { Error, Truncate };  // what a guard does when it trips: throw LimitError, or stop and flag

struct PersistenceOptions {
  int max_dim = 1;  // 0: H0 only; 1: H0 and H1
  // Edges longer than this are left out of the filtration. H1 is computed up to min(threshold, enclosing
  // radius), which loses nothing; a smaller threshold can leave essential bars.
  float threshold = std::numeric_limits<float>::infinity();
  // The guards of one call (the clouds of a batch share them); 0 disables each. When one trips, on_limit says what
  // happens: LimitError (its message says what the run needed and what to change), or the diagrams found so far
  // with `truncated` set and the message in truncation_reason (H0 is always complete).
  // time_limit_seconds: the clock starts with the call. The H1 reduction reads it every ~0.1 ms of work, inside
  // long columns too, and listing the H1 columns on the CPU between sort passes and every 4096 columns; distances
  // and spanning trees (O(n^2): tens of ms for thousands of points) and the CUDA kernels run to their end, and a
  // limit they overrun trips right after them.
  double time_limit_seconds = 0.0;
  // memory_limit_bytes: the call's large buffers: the distance matrices (4 n^2 bytes per cloud, twice on CUDA for
  // the host copy), the H1 columns (20 bytes per edge, twice on CUDA, and 16 more while they are sorted), and the
  // reduction's pivot table, coboundary lists, working column and reduction matrix V. The fixed part is estimated
  // before anything is allocated; the reduction's part is counted as it grows (its coboundary cache is kept to a
  // quarter of the limit).
  size_t memory_limit_bytes = 0;
  OnLimit on_limit = OnLimit::Error;
};

struct PersistenceResult {
  std::vector<Diagram> diagrams;  // diagrams[k] is H_k, k = 0..max_dim
  int64_t points = 0;
  float enclosing_radius = 0.0f;  // min_i max_j D_ij
  float h1_threshold = 0.0f;      // the threshold the H1 reduction used
  bool truncated = false;         // a guard stopped the H1 reduction early (OnLimit::Truncate)
  std::string truncation_reason;  // the guard's message
};

// [n, d] points -> [n, n] Euclidean distances on the same device; exact zero diagonal, exactly symmetric.
Tensor pairwise_distances(const Tensor& points);

// Persistence of one cloud given as [n, d] points, or as an [n, n] symmetric distance matrix.
PersistenceResult persistence(const Tensor& points, const PersistenceOptions& options = {});
PersistenceResult persistence_from_distances(const Tensor& distances, const PersistenceOptions& options = {});

// Many clouds in one call (sizes and dimensions may differ): one result per cloud.
// On CPU, clouds are spread over the OpenMP threads.
std::vector<PersistenceResult> persistence_batch(const std::vector<Tensor>& clouds,
                                                 const PersistenceOptions& options = {});
std::vector<PersistenceResult> persistence_batch_from_distances(const std::vector<Tensor>& matrices,
                                                                const PersistenceOptions& options = {});

}  // namespace tl::topology
