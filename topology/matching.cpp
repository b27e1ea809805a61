// Optimal matchings between persistence diagrams: a dynamic programme for diagrams on one horizontal line, the
// Hungarian algorithm (shortest augmenting paths with potentials) on the components of the pairs worth matching
// for W_p, binary search with Hopcroft-Karp for the bottleneck distance; and the autograd ops built on them.
#include "topology/matching.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <queue>

#include "core/autograd.h"
#include "core/base/error.h"

namespace tl::topology {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

struct Diagrams {
  const float* a;
  int32_t n;
  const float* b;
  int32_t m;
};

Diagrams check_diagrams(const std::vector<float>& a, const std::vector<float>& b, const char* what) {
  TL_CHECK_AS(ShapeError, a.size() % 2 == 0 && b.size() % 2 == 0, what,
              ": diagrams are flat (birth, death) arrays of even length, got ", a.size(), " and ", b.size());
  for (const std::vector<float>* diagram : {&a, &b})
    for (size_t i = 0; i < diagram->size(); ++i)
      TL_CHECK_AS(ValueError, std::isfinite((*diagram)[i]), what, ": diagram ", diagram == &a ? "A" : "B", " point ",
                  i / 2, " has a non-finite ", i % 2 == 0 ? "birth " : "death ", (*diagram)[i],
                  " (leave essential bars out of the diagrams you match)");
  return Diagrams{a.data(), static_cast<int32_t>(a.size() / 2), b.data(), static_cast<int32_t>(b.size() / 2)};
}

// True when every point of both diagrams has one and the same birth (H0 diagrams).
bool on_one_line(const Diagrams& d) {
  const float* first = d.n > 0 ? d.a : d.b;
  for (int32_t i = 0; i < d.n; ++i)
    if (d.a[2 * i] != first[0]) return false;
  for (int32_t j = 0; j < d.m; ++j)
    if (d.b[2 * j] != first[0]) return false;
  return true;
}

// x^p, with the usual exponents exact and cheap.
double power(double x, double p) {
  return p == 1.0 ? x : (p == 2.0 ? x * x : std::pow(x, p));
}

// power(cost to the diagonal, p) of each of the `count` points.
std::vector<double> diagonal_powers(const float* points, int32_t count, double p, GroundMetric metric) {
  std::vector<double> out(count);
  for (int32_t i = 0; i < count; ++i) out[i] = power(matching_cost(points + 2 * i, nullptr, metric), p);
  return out;
}

// Points on one line: sort both by death; an optimal matching is non-crossing (|x - y|^p is convex), so
// best[i][j] over the first i points of A and j of B takes the last point of either to the diagonal or matches
// the two.
DiagramMatching line_matching(const Diagrams& d, double p, GroundMetric metric) {
  std::vector<int32_t> order_a(d.n), order_b(d.m);
  std::iota(order_a.begin(), order_a.end(), 0);
  std::iota(order_b.begin(), order_b.end(), 0);
  std::stable_sort(order_a.begin(), order_a.end(),
                   [&](int32_t x, int32_t y) { return d.a[2 * x + 1] < d.a[2 * y + 1]; });
  std::stable_sort(order_b.begin(), order_b.end(),
                   [&](int32_t x, int32_t y) { return d.b[2 * x + 1] < d.b[2 * y + 1]; });
  const std::vector<double> diagonal_a = diagonal_powers(d.a, d.n, p, metric);
  const std::vector<double> diagonal_b = diagonal_powers(d.b, d.m, p, metric);
  const size_t width = static_cast<size_t>(d.m) + 1;
  std::vector<double> best((static_cast<size_t>(d.n) + 1) * width);
  enum Step : uint8_t { kMatch, kDiagonalA, kDiagonalB };
  std::vector<uint8_t> step(best.size());
  for (int32_t i = 0; i <= d.n; ++i) {
    for (int32_t j = 0; j <= d.m; ++j) {
      double value = i == 0 && j == 0 ? 0.0 : kInfinity;
      uint8_t choice = kMatch;
      if (i > 0 && j > 0) {
        value = best[(i - 1) * width + j - 1] +
                power(matching_cost(d.a + 2 * order_a[i - 1], d.b + 2 * order_b[j - 1], metric), p);
      }
      if (i > 0) {
        const double to_diagonal = best[(i - 1) * width + j] + diagonal_a[order_a[i - 1]];
        if (to_diagonal < value) value = to_diagonal, choice = kDiagonalA;
      }
      if (j > 0) {
        const double to_diagonal = best[i * width + j - 1] + diagonal_b[order_b[j - 1]];
        if (to_diagonal < value) value = to_diagonal, choice = kDiagonalB;
      }
      best[i * width + j] = value;
      step[i * width + j] = choice;
    }
  }
  DiagramMatching out;
  out.distance = std::pow(best[d.n * width + d.m], 1.0 / p);
  for (int32_t i = d.n, j = d.m; i > 0 || j > 0;) {
    switch (step[i * width + j]) {
      case kMatch:
        out.pairs.emplace_back(order_a[--i], order_b[--j]);
        break;
      case kDiagonalA:
        out.pairs.emplace_back(order_a[--i], -1);
        break;
      default:
        out.pairs.emplace_back(-1, order_b[--j]);
        break;
    }
  }
  std::reverse(out.pairs.begin(), out.pairs.end());
  return out;
}

// Minimum-cost assignment of every row of the rows x columns matrix `cost` (row-major, rows <= columns) to a
// distinct column, by successive shortest augmenting paths with row and column potentials; returns the column of
// each row. O(rows^2 columns).
std::vector<int32_t> hungarian(const std::vector<double>& cost, int32_t rows, int32_t columns) {
  std::vector<double> row_potential(rows + 1, 0.0), column_potential(columns + 1, 0.0), slack(columns + 1);
  std::vector<int32_t> row_of_column(columns + 1, 0), previous(columns + 1, 0);  // 1-based; column 0 is the root
  std::vector<char> visited(columns + 1);
  for (int32_t row = 1; row <= rows; ++row) {
    row_of_column[0] = row;
    int32_t column = 0;
    std::fill(slack.begin(), slack.end(), kInfinity);
    std::fill(visited.begin(), visited.end(), 0);
    do {
      visited[column] = 1;
      const int32_t r = row_of_column[column];
      double delta = kInfinity;
      int32_t next = 0;
      for (int32_t c = 1; c <= columns; ++c) {
        if (visited[c]) continue;
        const double reduced =
            cost[static_cast<size_t>(r - 1) * columns + (c - 1)] - row_potential[r] - column_potential[c];
        if (reduced < slack[c]) slack[c] = reduced, previous[c] = column;
        if (slack[c] < delta) delta = slack[c], next = c;
      }
      for (int32_t c = 0; c <= columns; ++c) {
        if (visited[c]) {
          row_potential[row_of_column[c]] += delta;
          column_potential[c] -= delta;
        } else {
          slack[c] -= delta;
        }
      }
      column = next;
    } while (row_of_column[column] != 0);
    do {
      const int32_t before = previous[column];
      row_of_column[column] = row_of_column[before];
      column = before;
    } while (column != 0);
  }
  std::vector<int32_t> column_of_row(rows);
  for (int32_t c = 1; c <= columns; ++c)
    if (row_of_column[c] != 0) column_of_row[row_of_column[c] - 1] = c - 1;
  return column_of_row;
}

int32_t find_root(std::vector<int32_t>& parent, int32_t x) {
  while (parent[x] != x) x = parent[x] = parent[parent[x]];
  return x;
}

// A pair worth matching: point i of A with point j of B gains diag(i) + diag(j) - c(i, j) > 0.
struct Gain {
  int32_t i, j;
  double gain;
};

std::vector<Gain> positive_gains(const Diagrams& d, const std::vector<double>& diagonal_a,
                                 const std::vector<double>& diagonal_b, double p, GroundMetric metric) {
  std::vector<Gain> gains;
  for (int32_t i = 0; i < d.n; ++i) {
    for (int32_t j = 0; j < d.m; ++j) {
      const double gain = diagonal_a[i] + diagonal_b[j] - power(matching_cost(d.a + 2 * i, d.b + 2 * j, metric), p);
      if (gain <= 0.0) continue;
      gains.push_back({i, j, gain});
    }
  }
  return gains;
}

// The connected components of the pairs worth matching, over the nodes A's points, then B's.
struct GainComponents {
  std::vector<std::vector<Gain>> gains;            // per component
  std::vector<std::pair<int32_t, int32_t>> sides;  // per component: (A points, B points)
  std::vector<int32_t> local;                      // per node: its index within its side of its component
};

GainComponents connected_components(const std::vector<Gain>& gains, int32_t n, int32_t m) {
  std::vector<int32_t> parent(static_cast<size_t>(n) + m);
  std::iota(parent.begin(), parent.end(), 0);
  for (const Gain& g : gains) parent[find_root(parent, g.i)] = find_root(parent, n + g.j);
  // Each point's component and its index within its side of that component.
  GainComponents out;
  std::vector<int32_t> component(parent.size(), -1), id_of_root(parent.size(), -1);
  out.local.resize(parent.size());
  for (int32_t node = 0; node < static_cast<int32_t>(parent.size()); ++node) {
    const int32_t root = find_root(parent, node);
    if (id_of_root[root] < 0) {
      id_of_root[root] = static_cast<int32_t>(out.sides.size());
      out.sides.emplace_back(0, 0);
    }
    component[node] = id_of_root[root];
    out.local[node] = node < n ? out.sides[component[node]].first++ : out.sides[component[node]].second++;
  }
  out.gains.resize(out.sides.size());
  for (const Gain& g : gains) out.gains[component[g.i]].push_back(g);
  return out;
}

// A partial matching under construction: the partner of each point of A (-1: the diagonal), which points of B
// are matched, and the cost so far.
struct PartialMatching {
  std::vector<int32_t> partner_of_a;
  std::vector<char> b_matched;
  double total = 0.0;

  DiagramMatching finish(double p) const {
    DiagramMatching out;
    for (int32_t i = 0; i < static_cast<int32_t>(partner_of_a.size()); ++i) out.pairs.emplace_back(i, partner_of_a[i]);
    for (int32_t j = 0; j < static_cast<int32_t>(b_matched.size()); ++j)
      if (!b_matched[j]) out.pairs.emplace_back(-1, j);
    out.distance = std::pow(std::max(total, 0.0), 1.0 / p);
    return out;
  }
};

// Matches the points of one component (`sides` of them, with their `gains`) by an assignment problem of the
// smaller side x the larger side, with gains as negative costs and 0 for "unmatched".
void match_component(const std::vector<Gain>& gains, std::pair<int32_t, int32_t> sides,
                     const std::vector<int32_t>& local, int32_t n, PartialMatching& matching) {
  const bool a_rows = sides.first <= sides.second;  // rows are the smaller side
  const int32_t rows = a_rows ? sides.first : sides.second;
  const int32_t columns = a_rows ? sides.second : sides.first;
  std::vector<double> cost(static_cast<size_t>(rows) * columns, 0.0);
  std::vector<int32_t> point_a(sides.first), point_b(sides.second);
  for (const Gain& g : gains) {
    const int32_t li = local[g.i], lj = local[n + g.j];
    point_a[li] = g.i;
    point_b[lj] = g.j;
    cost[a_rows ? static_cast<size_t>(li) * columns + lj : static_cast<size_t>(lj) * columns + li] = -g.gain;
  }
  const std::vector<int32_t> column_of_row = hungarian(cost, rows, columns);
  for (int32_t r = 0; r < rows; ++r) {
    const double value = cost[static_cast<size_t>(r) * columns + column_of_row[r]];
    if (value >= 0.0) continue;  // assigned at no gain: both stay on the diagonal
    matching.total += value;
    const int32_t i = point_a[a_rows ? r : column_of_row[r]], j = point_b[a_rows ? column_of_row[r] : r];
    matching.partner_of_a[i] = j;
    matching.b_matched[j] = 1;
  }
}

// W_p as a maximum-gain partial matching. Every point alone costs its distance to the diagonal; matching a of A
// with b of B gains diag(a) + diag(b) - c(a, b). Only pairs with a positive gain can be in an optimal matching
// (otherwise sending both to the diagonal is no worse), so the problem splits into the connected components of
// those pairs, each an assignment problem of (smaller side) x (larger side) with gains as negative costs and 0 for
// "unmatched". On typical diagrams the components are small; at worst this is one n x m problem instead of the
// textbook (n + m)-square one with diagonal slots.
DiagramMatching assignment_matching(const Diagrams& d, double p, GroundMetric metric) {
  const std::vector<double> diagonal_a = diagonal_powers(d.a, d.n, p, metric);
  const std::vector<double> diagonal_b = diagonal_powers(d.b, d.m, p, metric);
  PartialMatching matching{std::vector<int32_t>(d.n, -1), std::vector<char>(d.m, 0)};
  for (double cost : diagonal_a) matching.total += cost;
  for (double cost : diagonal_b) matching.total += cost;
  const GainComponents components =
      connected_components(positive_gains(d, diagonal_a, diagonal_b, p, metric), d.n, d.m);
  for (size_t c = 0; c < components.sides.size(); ++c)
    if (!components.gains[c].empty())
      match_component(components.gains[c], components.sides[c], components.local, d.n, matching);
  return matching.finish(p);
}

// Hopcroft-Karp maximum matching of a bipartite graph with `size` vertices per side; true when perfect.
class BipartiteMatcher {
 public:
  explicit BipartiteMatcher(const std::vector<std::vector<int32_t>>& adjacency)
      : adjacency_(adjacency),
        size_(static_cast<int32_t>(adjacency.size())),
        match_left_(size_, -1),
        match_right_(size_, -1),
        layer_(size_) {}

  bool perfect() {
    int32_t matched = 0;
    while (build_layers()) {
      for (int32_t left = 0; left < size_; ++left)
        if (match_left_[left] < 0 && augment(left)) ++matched;
    }
    return matched == size_;
  }
  const std::vector<int32_t>& match_of_left() const { return match_left_; }

 private:
  bool build_layers() {
    std::queue<int32_t> queue;
    bool reached_free = false;
    for (int32_t left = 0; left < size_; ++left) {
      layer_[left] = match_left_[left] < 0 ? 0 : -1;
      if (layer_[left] == 0) queue.push(left);
    }
    while (!queue.empty()) {
      const int32_t left = queue.front();
      queue.pop();
      for (int32_t right : adjacency_[left]) {
        const int32_t partner = match_right_[right];
        if (partner < 0) {
          reached_free = true;
        } else if (layer_[partner] < 0) {
          layer_[partner] = layer_[left] + 1;
          queue.push(partner);
        }
      }
    }
    return reached_free;
  }
  bool augment(int32_t left) {
    for (int32_t right : adjacency_[left]) {
      const int32_t partner = match_right_[right];
      if (partner < 0 || (layer_[partner] == layer_[left] + 1 && augment(partner))) {
        match_left_[left] = right;
        match_right_[right] = left;
        return true;
      }
    }
    layer_[left] = -1;  // a dead end in this phase
    return false;
  }

  const std::vector<std::vector<int32_t>>& adjacency_;
  int32_t size_;
  std::vector<int32_t> match_left_, match_right_, layer_;
};

}  // namespace

double matching_cost(const float* a, const float* b, GroundMetric metric) {
  if (b == nullptr) {
    const double length = std::fabs(static_cast<double>(a[1]) - a[0]);
    return metric == GroundMetric::LInf ? length / 2.0 : length / std::sqrt(2.0);
  }
  const double birth = static_cast<double>(a[0]) - b[0], death = static_cast<double>(a[1]) - b[1];
  return metric == GroundMetric::LInf ? std::max(std::fabs(birth), std::fabs(death)) : std::hypot(birth, death);
}

DiagramMatching wasserstein_matching(const std::vector<float>& a, const std::vector<float>& b, double p,
                                     GroundMetric metric) {
  TL_CHECK_AS(ValueError, p >= 1.0 && std::isfinite(p), "wasserstein_matching: p must be a finite value >= 1, got ", p);
  const Diagrams d = check_diagrams(a, b, "wasserstein_matching");
  if (d.n + d.m == 0) return {};
  return on_one_line(d) ? line_matching(d, p, metric) : assignment_matching(d, p, metric);
}

DiagramMatching bottleneck_matching(const std::vector<float>& a, const std::vector<float>& b, GroundMetric metric) {
  const Diagrams d = check_diagrams(a, b, "bottleneck_matching");
  const int32_t size = d.n + d.m;
  if (size == 0) return {};
  std::vector<double> diagonal_a(d.n), diagonal_b(d.m), pair_cost(static_cast<size_t>(d.n) * d.m);
  std::vector<double> candidates{0.0};
  for (int32_t i = 0; i < d.n; ++i) candidates.push_back(diagonal_a[i] = matching_cost(d.a + 2 * i, nullptr, metric));
  for (int32_t j = 0; j < d.m; ++j) candidates.push_back(diagonal_b[j] = matching_cost(d.b + 2 * j, nullptr, metric));
  for (int32_t i = 0; i < d.n; ++i)
    for (int32_t j = 0; j < d.m; ++j)
      candidates.push_back(pair_cost[i * d.m + j] = matching_cost(d.a + 2 * i, d.b + 2 * j, metric));
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());

  // Left: A's points, then B's diagonal slots; right: B's points, then A's diagonal slots. A point may use only its
  // own slot; any B slot may take any A slot (both on the diagonal, cost 0).
  std::vector<std::vector<int32_t>> adjacency(size);
  auto build = [&](double t) {
    for (int32_t i = 0; i < d.n; ++i) {
      adjacency[i].clear();
      for (int32_t j = 0; j < d.m; ++j)
        if (pair_cost[i * d.m + j] <= t) adjacency[i].push_back(j);
      if (diagonal_a[i] <= t) adjacency[i].push_back(d.m + i);
    }
    for (int32_t j = 0; j < d.m; ++j) {
      adjacency[d.n + j].clear();
      if (diagonal_b[j] <= t) adjacency[d.n + j].push_back(j);
      for (int32_t i = 0; i < d.n; ++i) adjacency[d.n + j].push_back(d.m + i);
    }
  };
  size_t low = 0, high = candidates.size() - 1;  // the largest candidate always admits a perfect matching
  while (low < high) {
    const size_t middle = (low + high) / 2;
    build(candidates[middle]);
    if (BipartiteMatcher(adjacency).perfect()) {
      high = middle;
    } else {
      low = middle + 1;
    }
  }
  build(candidates[low]);
  BipartiteMatcher matcher(adjacency);
  TL_CHECK(matcher.perfect(), "bottleneck_matching: no perfect matching at the largest candidate cost");
  DiagramMatching out;
  out.distance = candidates[low];
  const std::vector<int32_t>& match = matcher.match_of_left();
  for (int32_t i = 0; i < d.n; ++i) out.pairs.emplace_back(i, match[i] < d.m ? match[i] : -1);
  for (int32_t j = 0; j < d.m; ++j)
    if (match[d.n + j] == j) out.pairs.emplace_back(-1, j);
  return out;
}

namespace {

std::vector<float> diagram_values(const Tensor& diagram, const char* op, const char* which) {
  TL_CHECK_AS(ShapeError,
              diagram.defined() && diagram.rank() == 2 && diagram.dim(1) == 2 && diagram.dtype() == DType::Float32, op,
              ": diagram ", which, " must be a float32 [points, 2] tensor of (birth, death) rows, got ",
              diagram.defined() ? diagram.describe() : std::string("an undefined tensor"));
  return diagram.to_vector<float>();
}

// d cost / d(birth, death) of a matched point `a` against `b`, or against the diagonal (b = nullptr).
void cost_gradient(const float* a, const float* b, GroundMetric metric, double out[2]) {
  auto sign = [](double x) { return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0); };
  if (b == nullptr) {
    const double s =
        sign(static_cast<double>(a[1]) - a[0]) * (metric == GroundMetric::LInf ? 0.5 : 1.0 / std::sqrt(2.0));
    out[0] = -s;
    out[1] = s;
    return;
  }
  const double birth = static_cast<double>(a[0]) - b[0], death = static_cast<double>(a[1]) - b[1];
  if (metric == GroundMetric::LInf) {
    const bool by_birth = std::fabs(birth) > std::fabs(death);
    out[0] = by_birth ? sign(birth) : 0.0;
    out[1] = by_birth ? 0.0 : sign(death);
  } else {
    const double length = std::hypot(birth, death);
    out[0] = length > 0.0 ? birth / length : 0.0;
    out[1] = length > 0.0 ? death / length : 0.0;
  }
}

// Adds scale * d cost / d(points) of one matched pair to the gradients of both diagrams.
void add_pair_gradient(const std::vector<float>& a, const std::vector<float>& b, std::pair<int32_t, int32_t> pair,
                       GroundMetric metric, double scale, std::vector<float>& grad_a, std::vector<float>& grad_b) {
  double g[2];
  if (pair.first >= 0) {
    cost_gradient(&a[2 * pair.first], pair.second >= 0 ? &b[2 * pair.second] : nullptr, metric, g);
    grad_a[2 * pair.first] += static_cast<float>(scale * g[0]);
    grad_a[2 * pair.first + 1] += static_cast<float>(scale * g[1]);
  }
  if (pair.second >= 0) {
    cost_gradient(&b[2 * pair.second], pair.first >= 0 ? &a[2 * pair.first] : nullptr, metric, g);
    grad_b[2 * pair.second] += static_cast<float>(scale * g[0]);
    grad_b[2 * pair.second + 1] += static_cast<float>(scale * g[1]);
  }
}

double pair_cost(const std::vector<float>& a, const std::vector<float>& b, std::pair<int32_t, int32_t> pair,
                 GroundMetric metric) {
  if (pair.first < 0) return matching_cost(&b[2 * pair.second], nullptr, metric);
  return matching_cost(&a[2 * pair.first], pair.second >= 0 ? &b[2 * pair.second] : nullptr, metric);
}

Tensor distance_op(const Tensor& a, const Tensor& b, const char* op, bool bottleneck, double p, GroundMetric metric) {
  std::vector<float> va = diagram_values(a, op, "A"), vb = diagram_values(b, op, "B");
  TL_CHECK_AS(DeviceError, a.device() == b.device(), op, ": diagram A is on ", device_name(a.device()), " but B on ",
              device_name(b.device()));
  const DiagramMatching matching =
      bottleneck ? bottleneck_matching(va, vb, metric) : wasserstein_matching(va, vb, p, metric);
  const Device device = a.device();
  const Tensor out = Tensor::from_vector(std::vector<float>{static_cast<float>(matching.distance)}, {}, device);
  return record(out, op, {a, b}, [va, vb, matching, bottleneck, p, metric, device](const Tensor& grad_output) {
    const double g = grad_output.item();
    std::vector<float> grad_a(va.size(), 0.0f), grad_b(vb.size(), 0.0f);
    if (bottleneck) {
      for (const auto& pair : matching.pairs) {  // the first pair attaining d_B carries the whole gradient
        if (pair_cost(va, vb, pair, metric) == matching.distance) {
          add_pair_gradient(va, vb, pair, metric, g, grad_a, grad_b);
          break;
        }
      }
    } else if (matching.distance > 0.0) {
      // W = S^(1/p), S = sum c^p: dW/dc = S^(1/p - 1) c^(p - 1) = (c / W)^(p - 1).
      for (const auto& pair : matching.pairs) {
        const double c = pair_cost(va, vb, pair, metric);
        add_pair_gradient(va, vb, pair, metric, g * std::pow(c / matching.distance, p - 1.0), grad_a, grad_b);
      }
    }
    return std::vector<Tensor>{Tensor::from_vector(grad_a, {static_cast<int64_t>(va.size() / 2), 2}, device),
                               Tensor::from_vector(grad_b, {static_cast<int64_t>(vb.size() / 2), 2}, device)};
  });
}

}  // namespace

Tensor wasserstein_distance(const Tensor& a, const Tensor& b, double p, GroundMetric metric) {
  return distance_op(a, b, "wasserstein_distance", false, p, metric);
}

Tensor bottleneck_distance(const Tensor& a, const Tensor& b, GroundMetric metric) {
  return distance_op(a, b, "bottleneck_distance", true, 0.0, metric);
}

}  // namespace tl::topology
