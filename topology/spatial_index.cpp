// The k-d tree and the neighbour graph built from it (topology/spatial_index.h).
#include "topology/spatial_index.h"

#include <algorithm>
#include <functional>
#include <numeric>
#include <utility>

#include "core/base/error.h"
#include "kernels/distance_impl.h"
#include "kernels/persistence_impl.h"

namespace tl::topology {
namespace {

// point_length rounds its differences, squares, sum and square root in float: at most about (dim + 2) units of
// 2^-24 of relative error for dim <= 32, far below kRelativeSlack, plus an absolute error from underflow (each
// squared difference below 2^-149 flushes) far below kAbsoluteSlack. Box distances are computed in double, and
// gap_beyond, reach_within and length_floor widen them by both, so that no rounding lets a point escape a bound.
constexpr double kRelativeSlack = 1e-5;
constexpr double kAbsoluteSlack = 1e-21;

// The point count of a cloud the tree takes, or a ValueError saying what is wrong with it.
int32_t checked_cloud_size(const float* points, int32_t n, int32_t dim) {
  TL_CHECK_AS(ValueError, n >= 0, "a k-d tree needs a point count >= 0, got ", n);
  TL_CHECK_AS(ValueError, dim >= 1 && dim <= kernels::kDirectDistanceMaxDim,
              "a k-d tree takes clouds of 1 to 32 dimensions, got ", dim,
              " (up to 32 pairwise_distances() uses the direct form, whose lengths the tree reproduces bit for bit): "
              "use neighbor_graph_blocked or the dense path");
  TL_CHECK_AS(ValueError, n == 0 || points != nullptr, "a k-d tree got no points for a cloud of ", n);
  for (int64_t i = 0; i < static_cast<int64_t>(n) * dim; ++i)
    TL_CHECK_AS(ValueError, std::isfinite(points[i]), "a k-d tree needs finite coordinates; point ", i / dim,
                " has coordinate ", i % dim, " = ", points[i]);
  return n;
}

}  // namespace

KdTree::KdTree(const float* points, int32_t n, int32_t dim)
    : n_(checked_cloud_size(points, n, dim)), dim_(dim), order_(static_cast<size_t>(n)) {
  if (n == 0) return;
  std::iota(order_.begin(), order_.end(), 0);
  nodes_.reserve(static_cast<size_t>(4 * (n / kLeafSize + 1)));
  build(points, 0, n);
  coordinates_.resize(static_cast<size_t>(n) * dim);
  for (int32_t position = 0; position < n; ++position)
    std::copy_n(points + static_cast<int64_t>(order_[position]) * dim, dim,
                coordinates_.begin() + static_cast<int64_t>(position) * dim);
}

// Builds the subtree of tree positions [begin, end) (`points` in input order, read through order_) and returns its
// node. The split is a strict total order (coordinate, then input index), so the tree depends on the cloud only.
int32_t KdTree::build(const float* points, int32_t begin, int32_t end) {
  const auto node = static_cast<int32_t>(nodes_.size());
  nodes_.push_back(Node{begin, end, -1, -1});
  boxes_.resize(boxes_.size() + 2 * static_cast<size_t>(dim_));
  float* low = boxes_.data() + static_cast<int64_t>(node) * 2 * dim_;
  float* high = low + dim_;
  const float* first = points + static_cast<int64_t>(order_[begin]) * dim_;
  std::copy_n(first, dim_, low);
  std::copy_n(first, dim_, high);
  for (int32_t position = begin + 1; position < end; ++position) {
    const float* p = points + static_cast<int64_t>(order_[position]) * dim_;
    for (int32_t k = 0; k < dim_; ++k) {
      low[k] = std::min(low[k], p[k]);
      high[k] = std::max(high[k], p[k]);
    }
  }
  int32_t widest = 0;
  for (int32_t k = 1; k < dim_; ++k)
    if (high[k] - low[k] > high[widest] - low[widest]) widest = k;
  // A leaf: few points, or points that all coincide (a leaf of any size).
  if (end - begin <= kLeafSize || high[widest] == low[widest]) {
    std::sort(order_.begin() + begin, order_.begin() + end, std::greater<int32_t>());
    return node;
  }
  const int32_t middle = begin + (end - begin) / 2;
  const int32_t dim = dim_;
  std::nth_element(order_.begin() + begin, order_.begin() + middle, order_.begin() + end,
                   [points, dim, widest](int32_t a, int32_t b) {
                     const float ca = points[static_cast<int64_t>(a) * dim + widest];
                     const float cb = points[static_cast<int64_t>(b) * dim + widest];
                     return ca < cb || (ca == cb && a < b);
                   });
  const int32_t left = build(points, begin, middle);
  const int32_t right = build(points, middle, end);
  nodes_[node].left = left;
  nodes_[node].right = right;
  return node;
}

double KdTree::squared_reach(const float* query, int32_t node) const {
  const float* low = lower(node);
  const float* high = upper(node);
  double squared = 0.0;
  for (int32_t k = 0; k < dim_; ++k) {
    const double q = query[k];
    const double reach = std::max(std::abs(q - low[k]), std::abs(q - high[k]));
    squared += reach * reach;
  }
  return squared;
}

double KdTree::gap_beyond(float limit) {
  if (limit < 0.0f) return -1.0;  // every gap is beyond: no length is negative
  const double gap = (static_cast<double>(limit) + kAbsoluteSlack) / (1.0 - kRelativeSlack);
  return gap * gap;  // +inf for an infinite limit
}

double KdTree::reach_within(float threshold) {
  // Lengths must also stay finite: below 1e19 a squared float sum cannot overflow.
  const double reach = std::min((static_cast<double>(threshold) - kAbsoluteSlack) / (1.0 + kRelativeSlack), 1e19);
  return reach < 0.0 ? -1.0 : reach * reach;
}

float KdTree::length_floor(double squared_gap) {
  return static_cast<float>(std::sqrt(squared_gap) * (1.0 - kRelativeSlack) - kAbsoluteSlack);
}

namespace {

// Walks the tree for the points within `threshold` of the point at tree position `query`, other than itself:
// `whole(box)` for a node whose every point is within (by its squared reach), `each(position, length)` for the
// points within of the leaves the threshold cuts.
template <class Whole, class Each>
void visit_within(const KdTree& tree, int32_t query, float threshold, std::vector<int32_t>& stack, Whole whole,
                  Each each) {
  const float* q = tree.point(query);
  const int32_t dim = tree.dim();
  const double gap_beyond = KdTree::gap_beyond(threshold), reach_within = KdTree::reach_within(threshold);
  stack.clear();
  stack.push_back(0);
  while (!stack.empty()) {
    const int32_t node = stack.back();
    stack.pop_back();
    if (tree.squared_gap(q, node) > gap_beyond) continue;
    const KdTree::Node& box = tree.nodes()[node];
    if (tree.squared_reach(q, node) <= reach_within) {
      whole(box);
    } else if (box.leaf()) {
      for (int32_t p = box.begin; p < box.end; ++p) {
        if (p == query) continue;
        const float length = point_length(q, tree.point(p), dim);
        if (kernels::edge_within(length, threshold)) each(p, length);
      }
    } else {
      stack.push_back(box.right);
      stack.push_back(box.left);
    }
  }
}

}  // namespace

NeighborGraph neighbor_graph_kd_tree(const float* points, int32_t n, int32_t dim, float threshold, int64_t max_edges) {
  TL_CHECK_AS(ValueError, !std::isnan(threshold), "neighbor_graph_kd_tree needs a threshold, got NaN");
  const KdTree tree(points, n, dim);
  NeighborGraph graph;
  graph.n = n;
  graph.threshold = threshold;
  graph.offsets.assign(static_cast<size_t>(n) + 1, 0);
  if (n == 0) return graph;

    // Rows are counted and filled in tree order (neighbouring queries share nodes), each into its own slot.
#pragma omp parallel
  {
    std::vector<int32_t> stack;
#pragma omp for schedule(dynamic, 256)
    for (int32_t query = 0; query < n; ++query) {
      int64_t count = 0;
      visit_within(
          tree, query, threshold, stack,
          [&](const KdTree::Node& box) { count += box.end - box.begin - (query >= box.begin && query < box.end); },
          [&](int32_t, float) { ++count; });
      graph.offsets[static_cast<size_t>(tree.original_index(query)) + 1] = count;
    }
  }
  std::partial_sum(graph.offsets.begin(), graph.offsets.end(), graph.offsets.begin());
  if (max_edges >= 0 && graph.offsets.back() / 2 > max_edges) return graph;
  graph.neighbors.resize(static_cast<size_t>(graph.offsets.back()));
  graph.lengths.resize(static_cast<size_t>(graph.offsets.back()));
#pragma omp parallel
  {
    std::vector<int32_t> stack;
    std::vector<std::pair<int32_t, float>> row;
#pragma omp for schedule(dynamic, 256)
    for (int32_t query = 0; query < n; ++query) {
      row.clear();
      const float* q = tree.point(query);
      visit_within(
          tree, query, threshold, stack,
          [&](const KdTree::Node& box) {
            for (int32_t p = box.begin; p < box.end; ++p)
              if (p != query) row.emplace_back(tree.original_index(p), point_length(q, tree.point(p), dim));
          },
          [&](int32_t p, float length) { row.emplace_back(tree.original_index(p), length); });
      std::sort(row.begin(), row.end());
      const int32_t u = tree.original_index(query);
      int64_t slot = graph.offsets[u];
      for (const auto& [v, length] : row) {
        graph.neighbors[slot] = v;
        graph.lengths[slot] = length;
        ++slot;
      }
    }
  }
  return graph;
}

}  // namespace tl::topology
