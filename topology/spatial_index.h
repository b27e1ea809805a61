// A k-d tree over a low-dimensional point cloud, and the Vietoris-Rips neighbour graph up to a threshold built from
// it: the spatial side of persistence for clouds too large for an n x n distance matrix (topology/euclidean_mst.h
// builds the minimum spanning tree on the same tree).
//
// Lengths are the dense path's own floats: point_length is the direct form that pairwise_distances() uses up to
// kernels::kDirectDistanceMaxDim = 32 dimensions, with the same roundings, so they are bit-identical to it. Above 32
// dimensions the dense path uses the Gram form, whose floats a tree cannot reproduce, so these functions refuse such
// clouds (neighbor_graph_blocked takes any dimension).
//
// Where it pays: a tree prunes by boxes, which works while the dimension is small against log2(n / leaf size).
// Measured for the neighbour graph of 20,000 uniform points at a threshold of about 20 neighbours per point (one
// thread, against a plain O(n^2) scan of point_length): 11x faster in 2-3 dimensions, 7x in 4, 1.8x in 8, but 2x
// slower in 12 and 4-5x slower from 16 to 32 (a query then opens nearly every leaf). Use it up to about 8 dimensions
// and neighbor_graph_blocked above; it refuses nothing up to 32, and gives the same graph there, only slower.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "topology/neighbor_graph.h"

namespace tl::topology {

// The length pairwise_distances() holds for points a and b of a cloud of at most 32 dimensions: the squared
// differences summed in increasing coordinate order (kernels::squared_distance's order), each step one fused
// multiply-add where the target has FMA, else a product and a sum, then the square root. That is what the dense loop
// (kernels/cpu/topology.cpp, direct_distances) compiles to: the compiler contracts its `row[j] += diff * diff` into
// a fused multiply-add exactly when FMA is available, and nvcc contracts squared_distance likewise. Calling
// squared_distance here would not do: GCC vectorises its products across coordinates and then adds them one by one,
// unfused, which changed the last bit of a fifth of a spanning tree's lengths in 8 dimensions.
inline float point_length(const float* a, const float* b, int32_t dim) {
  float sum = 0.0f;
  for (int32_t k = 0; k < dim; ++k) {
    const float diff = a[k] - b[k];
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
    sum = std::fma(diff, diff, sum);
#else
    sum += diff * diff;  // without FMA instructions no compiler fuses this, here or in the dense loop
#endif
  }
  return std::sqrt(sum);
}

// A balanced k-d tree: each node splits its points at the median of its widest coordinate, down to leaves of at
// most kLeafSize points or of points that all coincide; every node keeps the tight bounding box of its points, and
// a leaf lists its points in decreasing input index (so that a search for the latest of equal lengths can stop at
// the first it meets in a leaf of duplicates). Memory: the cloud copied in tree order, one index per point and about
// 2 n / kLeafSize nodes (16 bytes and a box of 2 dim floats each).
class KdTree {
 public:
  static constexpr int32_t kLeafSize = 16;

  struct Node {
    int32_t begin = 0;  // the node's points are the tree positions [begin, end)
    int32_t end = 0;
    int32_t left = -1;  // children, -1 for a leaf; a parent comes before its children in nodes()
    int32_t right = -1;
    bool leaf() const { return left < 0; }
  };

  // `points` is [n, dim] row-major with finite coordinates (checked), 1 <= dim <= 32.
  KdTree(const float* points, int32_t n, int32_t dim);

  int32_t size() const { return n_; }
  int32_t dim() const { return dim_; }
  const std::vector<Node>& nodes() const { return nodes_; }  // nodes()[0] is the root when size() > 0
  int32_t original_index(int32_t position) const { return order_[position]; }
  const float* point(int32_t position) const { return coordinates_.data() + static_cast<int64_t>(position) * dim_; }

  // The squared distance from `query` to the node's box (0 inside it), and to the box's farthest corner, in double.
  double squared_gap(const float* query, int32_t node) const {  // inline: the searches' innermost call
    const float* low = lower(node);
    const float* high = upper(node);
    double squared = 0.0;
    for (int32_t k = 0; k < dim_; ++k) {
      const double q = query[k];
      const double gap = q < low[k] ? low[k] - q : (q > high[k] ? q - high[k] : 0.0);
      squared += gap * gap;
    }
    return squared;
  }
  double squared_reach(const float* query, int32_t node) const;

  // Conversions between those and point_length that are safe against its rounding. A box whose squared gap from
  // the query exceeds gap_beyond(limit) holds no point with point_length(query, p) <= limit; one whose squared
  // reach is at most reach_within(threshold) holds only points with kernels::edge_within(length, threshold); no
  // point of a box at squared gap g is closer than length_floor(g).
  static double gap_beyond(float limit);
  static double reach_within(float threshold);
  static float length_floor(double squared_gap);

 private:
  int32_t build(const float* points, int32_t begin, int32_t end);
  const float* lower(int32_t node) const { return boxes_.data() + static_cast<int64_t>(node) * 2 * dim_; }
  const float* upper(int32_t node) const { return lower(node) + dim_; }

  int32_t n_ = 0;
  int32_t dim_ = 0;
  std::vector<int32_t> order_;      // tree position -> index in the input
  std::vector<float> coordinates_;  // the points in tree order
  std::vector<Node> nodes_;
  std::vector<float> boxes_;  // per node: dim lower bounds, then dim upper bounds
};

// The neighbour graph (topology/neighbor_graph.h) of [n, dim] points up to `threshold`, from a k-d tree: the same
// graph as neighbor_graph_blocked, in O(n log n + edges) time for small dimensions and O(n + edges) memory beyond
// the tree. Rows are built in parallel over the points (OpenMP: each row counted, the offsets summed, then each row
// filled and sorted), so the graph is the same for any number of threads. Coordinates must be finite and
// 1 <= dim <= 32 (ValueError otherwise); threshold must not be NaN. With max_edges >= 0, a graph of more edges is
// counted but not filled: it comes back with its offsets and no neighbours (the count, offsets.back() / 2, for the
// caller's message), before its arrays are allocated.
NeighborGraph neighbor_graph_kd_tree(const float* points, int32_t n, int32_t dim, float threshold,
                                     int64_t max_edges = -1);

}  // namespace tl::topology
