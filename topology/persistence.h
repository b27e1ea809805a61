// Vietoris-Rips persistent homology of point clouds, degrees 0 and 1, with the critical edges of every pair.
//
// H0 is the minimum spanning tree (dense Prim, or the sparse path's: PersistenceOptions::sparse); H1 is a cohomology
// reduction over Z/2 in the style of ripser: threshold at the enclosing radius (exact: beyond it the complex is a
// cone), clearing by the H0 pairs, emergent pairs found without building their columns, triangles implicit in the
// combinatorial number system, and only the columns that needed reduction stored. Every tie follows the filtration
// order of kernels/persistence_impl.h (diameter, then larger combinatorial index first), so pairs and critical edges
// are unique, and birth = D[birth_edge], death = D[death_edge] hold exactly for the float32 distance matrix D.
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
  // the host copy), the H1 columns, and the reduction's pivot table, coboundary lists, working column and reduction
  // matrix V. The matrices, and on CUDA the columns (every edge: 20 bytes each, twice, and 16 more while they are
  // sorted), are estimated before anything is allocated. On the CPU, which lists only the columns that need reducing
  // (about 0.5 % of the edges on typical clouds), the columns are counted as they are listed (36 bytes each while
  // they are sorted, 20 after), and the reduction's part as it grows (its coboundary cache is kept to a quarter of
  // the limit).
  size_t memory_limit_bytes = 0;
  OnLimit on_limit = OnLimit::Error;
  // The sparse path, for clouds too large for n x n matrices: persistence(), persistence_batch() only (points; a
  // distance matrix is refused), on the host (a CUDA cloud is copied there: the sparse path has no device kernels).
  // Memory grows with the edges within the threshold, not with n^2; the diagrams, essential bars and critical edges
  // are the dense path's, bit for bit. How:
  // - H0: the exact Euclidean minimum spanning tree over a k-d tree (topology/euclidean_mst.h) up to 32 dimensions,
  //   any number of points (10^6 in 3-D in seconds); else Kruskal, in the filtration order, over the graph's edges.
  // - H1 (at most 65,536 points): the dense path's reduction reading a neighbour graph (topology/neighbor_graph.h) of
  //   the edges within h1_threshold = min(threshold, enclosing radius), from a k-d tree up to 8 dimensions and from
  //   blocks of the distance matrix above (there, when the threshold is below the enclosing radius, one graph up
  //   to the threshold serves H0 too). The enclosing radius is found from blocks of the distance matrix (O(n) memory;
  //   rows stop early once they cannot lower it, O(n^2 d) time at worst).
  // - Without a finite threshold, H1 runs up to the enclosing radius, as the dense path does; its graph then holds a
  //   good part of all pairs (use a threshold for large clouds). Above 32 dimensions H0 then has no tree to come
  //   from, and a cloud without a finite threshold is refused (ValueError).
  // - Guards: memory_limit_bytes counts the graph (16 bytes an edge, 28 where Kruskal sorts a copy of its edges;
  //   counted before it is allocated when built from blocks, once built from the tree: a limit it passes throws
  //   LimitError naming the edge count, or under OnLimit::Truncate skips H1), the spanning tree, the listed H1
  //   columns (36 bytes each while they are sorted, 20 after) and the reduction; time_limit_seconds is read while the enclosing radius is found, the
  //   blocked graph built and H1 reduced (the tree builders run to their end).
  // - enclosing_radius is NaN when only H0 is asked for (it is not computed).
  bool sparse = false;
};

struct PersistenceResult {
  std::vector<Diagram> diagrams;  // diagrams[k] is H_k, k = 0..max_dim
  int64_t points = 0;
  float enclosing_radius = 0.0f;  // min_i max_j D_ij (NaN for the sparse path's H0 only)
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
