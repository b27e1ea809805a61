// The edges of a Vietoris-Rips filtration up to a threshold, as sparse neighbour rows: what the sparse persistence
// path reads instead of an n x n distance matrix, so that its memory grows with the number of edges below the
// threshold rather than with n^2. Two builders give the same graph: a k-d tree (topology/spatial_index.h, low
// dimension) and blocks of the distance matrix (any dimension).
#pragma once

#include <cstdint>
#include <vector>

namespace tl::topology {

// Every pair {u, v} with u != v and kernels::edge_within(length, threshold), stored in both rows.
// Row u is neighbors[offsets[u] .. offsets[u + 1]) in ascending vertex order; lengths[k] is the distance from u to
// neighbors[k], bit-identical to the entry of pairwise_distances() for the same cloud.
struct NeighborGraph {
  int32_t n = 0;
  float threshold = 0.0f;
  std::vector<int64_t> offsets;  // n + 1 entries
  std::vector<int32_t> neighbors;
  std::vector<float> lengths;

  int64_t edge_count() const { return static_cast<int64_t>(neighbors.size()) / 2; }
  // The bytes its three arrays hold for this many edges among n points.
  static int64_t bytes_for(int64_t n, int64_t edges) {
    return 8 * (n + 1) + 2 * edges * static_cast<int64_t>(sizeof(int32_t) + sizeof(float));
  }
};

// The graph from blocks of the distance matrix: O(n^2 d) time, O(block + edges) memory, any dimension.
// `points` is [n, dim] row-major, finite (the caller checks).
NeighborGraph neighbor_graph_blocked(const float* points, int32_t n, int32_t dim, float threshold);

// When the blocked builder gives up: at a time on std::chrono::steady_clock (seconds since its epoch, 0: never),
// read between blocks of rows; or before allocating a graph of more than max_edges edges (0: no limit), which it
// counts in a first pass over the blocks.
struct GraphLimits {
  double deadline_seconds = 0.0;
  int64_t max_edges = 0;
};

struct GraphBuild {
  enum Stop { kComplete, kTimePassed, kTooManyEdges };
  NeighborGraph graph;  // empty unless complete
  Stop stop = kComplete;
  int64_t edges = 0;  // the edges counted: all of them unless the time passed
};

// neighbor_graph_blocked under limits: two passes over the blocks (count, then fill the rows in place), so the graph
// is allocated once, at its exact size. The blocks of rows are spread over the OpenMP threads (when not inside a
// parallel region); the result does not depend on their number.
GraphBuild build_neighbor_graph_blocked(const float* points, int32_t n, int32_t dim, float threshold,
                                        const GraphLimits& limits);

// The cloud's enclosing radius, min over i of max over j of the distance, bit-identical to the dense path's: from
// blocks of the distance matrix, O(n^2 d) time at most and O(n d) memory; a row stops being read once it holds a
// distance no smaller than the least row maximum found so far (the point nearest the mean is read first). NaN when
// the deadline (as in GraphLimits) passed first.
float enclosing_radius_blocked(const float* points, int32_t n, int32_t dim, double deadline_seconds = 0.0);

}  // namespace tl::topology
