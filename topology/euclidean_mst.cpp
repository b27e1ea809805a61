// Boruvka over a k-d tree (topology/euclidean_mst.h).
//
// Each round labels every tree node with the component of its points (or none when they differ), then finds for each
// component its least outgoing edge in the filtration order, and joins the components along those edges. The least
// edge of a component is the least of its points' nearest outside points, found by a search per point that skips
// nodes labelled with the point's own component and prunes by a per-component bound (the shortest outgoing edge
// seen so far, shared between threads). Three facts keep the rounds after the first cheap:
// - a point's outside set only shrinks, so its nearest outside point, once found exactly, stays so while it is
//   outside (the candidate is reused without a search), and any lower bound on its outgoing lengths stays one
//   (a point whose bound exceeds its component's is skipped: the interior of large components costs nothing);
// - the component's bound is seeded from the reused candidates before any search;
// - pruning only ever drops edges strictly longer than a real outgoing edge of the component, so the point holding
//   the component's least edge always finds it, whatever the threads' timing: the result does not depend on it.
#include "topology/euclidean_mst.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "core/base/error.h"
#include "topology/spatial_index.h"

namespace tl::topology {
namespace {

using kernels::edge_index;
using kernels::filtration_before;
using kernels::WeightedEdge;

constexpr int32_t kNone = -1;
constexpr float kInfinity = std::numeric_limits<float>::infinity();

void lower_to(std::atomic<float>& bound, float value) {
  float seen = bound.load(std::memory_order_relaxed);
  while (value < seen && !bound.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

// A node to visit and its squared gap from the query (KdTree::squared_gap).
struct PendingNode {
  int32_t node;
  double squared_gap;
};

class BoruvkaForest {
 public:
  BoruvkaForest(const KdTree& tree, float threshold)
      : tree_(tree),
        threshold_(threshold),
        component_(static_cast<size_t>(tree.size())),
        parent_(static_cast<size_t>(tree.size())),
        node_component_(tree.nodes().size()),
        candidate_(static_cast<size_t>(tree.size()), kNone),
        candidate_length_(static_cast<size_t>(tree.size()), kInfinity),
        candidate_exact_(static_cast<size_t>(tree.size()), 0),
        length_floor_(static_cast<size_t>(tree.size()), 0.0f),
        bound_(static_cast<size_t>(tree.size())),
        least_from_(static_cast<size_t>(tree.size())),
        least_to_(static_cast<size_t>(tree.size())),
        least_length_(static_cast<size_t>(tree.size())) {
    std::iota(component_.begin(), component_.end(), 0);
    std::iota(parent_.begin(), parent_.end(), 0);
  }

  // The forest's edges, in the filtration order.
  std::vector<WeightedEdge> edges() {
    const int32_t n = tree_.size();
    edges_.reserve(n > 0 ? static_cast<size_t>(n - 1) : 0);
    int32_t components = n;
    while (components > 1) {
      const int32_t joined = round();
      if (joined == 0) break;
      components -= joined;
    }
    std::sort(edges_.begin(), edges_.end(), [](const WeightedEdge& a, const WeightedEdge& b) {
      return filtration_before(a.length, edge_index(a.edge.u, a.edge.v), b.length, edge_index(b.edge.u, b.edge.v));
    });
    return std::move(edges_);
  }

 private:
  // One Boruvka round; returns how many edges it added.
  int32_t round() {
    label_nodes();
    seed_bounds();
    const int32_t n = tree_.size();
#pragma omp parallel
    {
      std::vector<PendingNode> stack;
#pragma omp for schedule(dynamic, 512)
      for (int32_t query = 0; query < n; ++query) {
        if (candidate_exact_[query]) continue;
        if (length_floor_[query] > bound_[component_[query]].load(std::memory_order_relaxed)) continue;
        search(query, stack);
      }
    }
    find_least_edges();
    return join_components();
  }

  // A node's label is the component of all its points, or kNone when they differ.
  void label_nodes() {
    const std::vector<KdTree::Node>& nodes = tree_.nodes();
    for (auto node = static_cast<int32_t>(nodes.size()) - 1; node >= 0; --node) {  // children after parents
      const KdTree::Node& box = nodes[node];
      if (box.leaf()) {
        int32_t label = component_[box.begin];
        for (int32_t p = box.begin + 1; p < box.end && label != kNone; ++p)
          if (component_[p] != label) label = kNone;
        node_component_[node] = label;
      } else {
        const int32_t left = node_component_[box.left];
        node_component_[node] = left == node_component_[box.right] ? left : kNone;
      }
    }
  }

  // Drops the candidates that the last joins brought inside their point's component and bounds every component by
  // its remaining candidates (each a real outgoing edge) and the threshold.
  void seed_bounds() {
    const int32_t n = tree_.size();
    for (int32_t c = 0; c < n; ++c) bound_[c].store(threshold_, std::memory_order_relaxed);
    for (int32_t p = 0; p < n; ++p) {
      if (candidate_[p] == kNone) continue;
      if (component_[candidate_[p]] == component_[p]) {
        candidate_[p] = kNone;
        candidate_exact_[p] = 0;
      } else {
        lower_to(bound_[component_[p]], candidate_length_[p]);
      }
    }
  }

  // The nearest point outside the query's component within its component's bound, in the filtration order, as the
  // query's candidate; exact when nothing left unexamined could come first. Also the query's length floor.
  void search(int32_t query, std::vector<PendingNode>& stack) {
    const int32_t component = component_[query];
    const float* q = tree_.point(query);
    const int32_t dim = tree_.dim();
    const int32_t query_index = tree_.original_index(query);
    std::atomic<float>& shared_bound = bound_[component];
    float limit = std::min(threshold_, shared_bound.load(std::memory_order_relaxed));
    double gap_limit = KdTree::gap_beyond(limit);
    int32_t best = kNone;
    float best_length = kInfinity;
    int64_t best_index = -1;
    // What was set aside: the least length examined and left out, the least squared gap of a pruned node.
    float least_left_out = kInfinity;
    double least_pruned_gap = std::numeric_limits<double>::infinity();
    const auto tighten = [&](float length) {
      if (length < limit) {
        limit = length;
        gap_limit = KdTree::gap_beyond(limit);
      }
    };
    const std::vector<KdTree::Node>& nodes = tree_.nodes();
    stack.clear();
    stack.push_back(PendingNode{0, tree_.squared_gap(q, 0)});
    while (!stack.empty()) {
      const PendingNode pending = stack.back();
      stack.pop_back();
      tighten(shared_bound.load(std::memory_order_relaxed));
      if (pending.squared_gap > gap_limit) {
        least_pruned_gap = std::min(least_pruned_gap, pending.squared_gap);
        continue;
      }
      const KdTree::Node& box = nodes[pending.node];
      if (box.leaf()) {
        for (int32_t p = box.begin; p < box.end; ++p) {
          if (component_[p] == component) continue;
          const float length = point_length(q, tree_.point(p), dim);
          if (!(length <= limit) || !kernels::edge_within(length, threshold_)) {
            least_left_out = std::min(least_left_out, length);
            continue;
          }
          const int64_t index = edge_index(query_index, tree_.original_index(p));
          if (best == kNone || filtration_before(length, index, best_length, best_index)) {
            best = p;
            best_length = length;
            best_index = index;
            tighten(length);
            // The leaf's later points have smaller input indices: at length 0 (the least) each comes after this one.
            if (length == 0.0f) break;
          }
        }
        continue;
      }
      const bool left_open = node_component_[box.left] != component;
      const bool right_open = node_component_[box.right] != component;
      const PendingNode left{box.left, left_open ? tree_.squared_gap(q, box.left) : 0.0};
      const PendingNode right{box.right, right_open ? tree_.squared_gap(q, box.right) : 0.0};
      if (left_open && right_open) {
        const bool left_first = left.squared_gap <= right.squared_gap;  // the nearer child is visited first
        stack.push_back(left_first ? right : left);
        stack.push_back(left_first ? left : right);
      } else if (left_open || right_open) {
        stack.push_back(left_open ? left : right);
      }
    }
    const float unseen_floor = std::min(least_left_out, KdTree::length_floor(least_pruned_gap));
    candidate_[query] = best;
    candidate_length_[query] = best_length;
    candidate_exact_[query] = best != kNone && best_length < unseen_floor;
    length_floor_[query] = std::min(best_length, unseen_floor);
    if (best != kNone) lower_to(shared_bound, best_length);
  }

  // Every component's least candidate in the filtration order (least_to_ kNone where it has none). The component
  // holding the least outgoing edge within the threshold always has it as its candidate (see the file comment).
  void find_least_edges() {
    const int32_t n = tree_.size();
    std::fill(least_to_.begin(), least_to_.end(), kNone);
    for (int32_t p = 0; p < n; ++p) {
      const int32_t other = candidate_[p];
      if (other == kNone) continue;
      const int32_t c = component_[p];
      const float length = candidate_length_[p];
      if (least_to_[c] == kNone ||
          filtration_before(length, edge_index(tree_.original_index(p), tree_.original_index(other)), least_length_[c],
                            edge_index(tree_.original_index(least_from_[c]), tree_.original_index(least_to_[c])))) {
        least_from_[c] = p;
        least_to_[c] = other;
        least_length_[c] = length;
      }
    }
  }

  int32_t root(int32_t p) {
    while (parent_[p] != p) {
      parent_[p] = parent_[parent_[p]];
      p = parent_[p];
    }
    return p;
  }

  // Joins every component to the other end of its least edge (two components sharing theirs join once) and
  // relabels the points; returns the number of edges added.
  int32_t join_components() {
    const int32_t n = tree_.size();
    int32_t joined = 0;
    for (int32_t c = 0; c < n; ++c) {
      if (component_[c] != c || least_to_[c] == kNone) continue;
      const int32_t a = root(c), b = root(least_to_[c]);
      if (a == b) continue;
      parent_[std::max(a, b)] = std::min(a, b);
      const int32_t u = tree_.original_index(least_from_[c]), v = tree_.original_index(least_to_[c]);
      edges_.push_back(WeightedEdge{kernels::Edge{std::max(u, v), std::min(u, v)}, least_length_[c]});
      ++joined;
    }
    for (int32_t p = 0; p < n; ++p) component_[p] = root(p);
    return joined;
  }

  const KdTree& tree_;
  const float threshold_;
  // Per tree position: its component (the root of parent_), its candidate (the nearest outside point found, kNone
  // for none) with the candidate's length and whether it is exact, and a floor under every outgoing length.
  std::vector<int32_t> component_;
  std::vector<int32_t> parent_;
  std::vector<int32_t> node_component_;
  std::vector<int32_t> candidate_;
  std::vector<float> candidate_length_;
  std::vector<uint8_t> candidate_exact_;
  std::vector<float> length_floor_;
  // Per component (indexed by its root): the shortest outgoing length seen this round, and its least edge.
  std::vector<std::atomic<float>> bound_;
  std::vector<int32_t> least_from_;
  std::vector<int32_t> least_to_;
  std::vector<float> least_length_;
  std::vector<WeightedEdge> edges_;
};

}  // namespace

std::vector<WeightedEdge> euclidean_mst(const float* points, int32_t n, int32_t dim, float threshold) {
  TL_CHECK_AS(ValueError, !std::isnan(threshold), "euclidean_mst needs a threshold, got NaN");
  const KdTree tree(points, n, dim);
  return BoruvkaForest(tree, threshold).edges();
}

}  // namespace tl::topology
