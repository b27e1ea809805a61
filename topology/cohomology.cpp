// Degree-1 cohomology reduction over Z/2 (the method of Bauer's ripser, written from its description).
//
// Columns are the edges within the threshold that are not H0 deaths (clearing), taken in reverse filtration
// order; a column's entries are its cofacet triangles, enumerated from the distance matrix. The pivot of a
// column is its earliest cofacet in the filtration. Most columns are apparent or emergent pairs: the edge is the
// diameter of an unclaimed triangle of the same length, which is then the pivot with nothing to reduce. The
// backend finds those triangles for every column in parallel (kernels::H1Column); their cofacets are never
// listed here. The other columns are reduced as a lazy merge of coboundary lists (a heap of list heads, not of
// entries), each list sorted only as far as the merge reads it; the lists are cached within a memory budget,
// and only columns that absorbed others keep the list of those (the reduction matrix V).
#include "topology/cohomology.h"

#include <algorithm>
#include <deque>
#include <unordered_map>

#include "core/base/error.h"

namespace tl::topology::detail {
namespace {

using kernels::edge_index;
using kernels::filtration_before;
using kernels::triangle_index;

struct Simplex {
  float diameter;
  int64_t index;
};

// Open-addressing map from triangle index to the column that claimed it as pivot; keys are never removed.
class PivotTable {
 public:
  explicit PivotTable(size_t expected) {
    size_t capacity = 16;
    while (capacity < 2 * expected) capacity *= 2;
    keys_.assign(capacity, kEmpty);
    values_.resize(capacity);
    mask_ = capacity - 1;
  }
  int32_t find(int64_t key) const {  // -1 when absent
    for (size_t slot = hash(key);; slot = (slot + 1) & mask_) {
      if (keys_[slot] == key) return values_[slot];
      if (keys_[slot] == kEmpty) return -1;
    }
  }
  void insert(int64_t key, int32_t value) {
    if (2 * (size_ + 1) > keys_.size()) grow();
    place(key, value);
    ++size_;
  }

 private:
  static constexpr int64_t kEmpty = -1;
  size_t hash(int64_t key) const { return (static_cast<uint64_t>(key) * 0x9E3779B97F4A7C15ull >> 17) & mask_; }
  void place(int64_t key, int32_t value) {
    size_t slot = hash(key);
    while (keys_[slot] != kEmpty) slot = (slot + 1) & mask_;
    keys_[slot] = key;
    values_[slot] = value;
  }
  void grow() {
    std::vector<int64_t> keys = std::move(keys_);
    std::vector<int32_t> values = std::move(values_);
    keys_.assign(keys.size() * 2, kEmpty);
    values_.resize(keys.size() * 2);
    mask_ = keys_.size() - 1;
    for (size_t i = 0; i < keys.size(); ++i)
      if (keys[i] != kEmpty) place(keys[i], values[i]);
  }
  std::vector<int64_t> keys_;
  std::vector<int32_t> values_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

bool earlier(const Simplex& a, const Simplex& b) {
  return filtration_before(a.diameter, a.index, b.diameter, b.index);
}

// The cofacets of a column, sorted on demand: entries[0, sorted) are the earliest ones in filtration order, in
// order, and every later entry comes after them. The sorted prefix grows in doubling chunks (a partition, then a
// sort of the chunk) only as far as the reduction reads, and most lists are read only near their head.
struct CoboundaryList {
  static constexpr size_t kFirstChunk = 32;
  std::vector<Simplex> entries;
  size_t sorted = 0;

  void sort_through(size_t position) {
    while (position >= sorted) {
      const auto begin = entries.begin() + static_cast<std::ptrdiff_t>(sorted);
      const auto middle =
          begin + static_cast<std::ptrdiff_t>(std::min(std::max(kFirstChunk, sorted), entries.size() - sorted));
      if (middle != entries.end()) std::nth_element(begin, middle, entries.end(), earlier);
      std::sort(begin, middle, earlier);
      sorted = static_cast<size_t>(middle - entries.begin());
    }
  }
};

class Coboundaries {
 public:
  Coboundaries(const float* dist, int32_t n, float threshold) : dist_(dist), n_(n), threshold_(threshold) {}

  // Every cofacet of edge {u, v} (diameter d) within the threshold, none sorted yet.
  void list(const kernels::Edge& e, float d, CoboundaryList& out) const {
    out.entries.clear();
    out.sorted = 0;
    const float* row_u = dist_ + static_cast<int64_t>(e.u) * n_;
    const float* row_v = dist_ + static_cast<int64_t>(e.v) * n_;
    for (int32_t k = n_ - 1; k >= 0; --k) {
      if (k == e.u || k == e.v) continue;
      const float far = std::max(row_u[k], row_v[k]);
      if (far <= threshold_) out.entries.push_back(Simplex{std::max(far, d), kernels::triangle_with(e, k)});
    }
  }

 private:
  const float* dist_;
  int32_t n_;
  float threshold_;
};

// A column under reduction: the Z/2 sum of coboundary lists, merged lazily. Only list heads sit in the heap, so
// adding a column costs one push and finding the pivot reads (and sorts) each list only up to it.
class WorkingColumn {
 public:
  void clear() { heap_.clear(); }
  void add(CoboundaryList& list) {
    if (list.entries.empty()) return;
    list.sort_through(0);
    push(Cursor{list.entries[0], &list, 0});
  }
  // The earliest simplex of odd multiplicity; it stays in the column (as a carry: a cursor without a list), so a
  // column added next with the same pivot cancels it. False when the column is zero.
  bool pivot(Simplex& out) {
    while (!heap_.empty()) {
      const Simplex x = heap_.front().head;
      int count = 0;
      while (!heap_.empty() && heap_.front().head.index == x.index) {
        std::pop_heap(heap_.begin(), heap_.end(), later_head);
        Cursor& c = heap_.back();
        if (c.list == nullptr || ++c.position == c.list->entries.size()) {
          heap_.pop_back();
        } else {
          c.list->sort_through(c.position);
          c.head = c.list->entries[c.position];
          std::push_heap(heap_.begin(), heap_.end(), later_head);
        }
        ++count;
      }
      if (count % 2 == 1) {
        push(Cursor{x, nullptr, 0});
        out = x;
        return true;
      }
    }
    return false;
  }

 private:
  struct Cursor {
    Simplex head;          // list->entries[position], kept here for the heap's comparisons
    CoboundaryList* list;  // nullptr: a carry
    size_t position;
  };
  static bool later_head(const Cursor& a, const Cursor& b) { return earlier(b.head, a.head); }
  void push(const Cursor& c) {
    heap_.push_back(c);
    std::push_heap(heap_.begin(), heap_.end(), later_head);
  }
  std::vector<Cursor> heap_;
};

// Keeps the columns that occur an odd number of times.
void cancel_pairs(std::vector<int32_t>& columns) {
  std::sort(columns.begin(), columns.end());
  size_t out = 0;
  for (size_t i = 0; i < columns.size();) {
    size_t j = i;
    while (j < columns.size() && columns[j] == columns[i]) ++j;
    if ((j - i) % 2 == 1) columns[out++] = columns[i];
    i = j;
  }
  columns.resize(out);
}

// Coboundaries of reduced columns, kept for reuse while they fit the memory budget.
constexpr size_t kCoboundaryCacheBytes = size_t(128) << 20;

// The coboundary lists of one cloud's columns: listed on first use and cached while the budget allows; lists that
// did not fit live until the current column is done (release_uncached).
class CoboundaryCache {
 public:
  CoboundaryCache(const float* dist, int32_t n, float threshold, const kernels::H1Column* columns)
      : coboundaries_(dist, n, threshold), columns_(columns) {}

  // The coboundary of column j, from the cache or listed now (and cached while the budget allows).
  CoboundaryList& of(int32_t j) {
    const auto hit = cached_.find(j);
    if (hit != cached_.end()) return hit->second;
    CoboundaryList list;
    coboundaries_.list(columns_[j].edge, columns_[j].diameter, list);
    const size_t bytes = list.entries.capacity() * sizeof(Simplex);
    if (cached_bytes_ + bytes <= kCoboundaryCacheBytes) {
      cached_bytes_ += bytes;
      return cached_.emplace(j, std::move(list)).first->second;
    }
    uncached_.push_back(std::move(list));
    return uncached_.back();
  }
  void release_uncached() { uncached_.clear(); }

 private:
  const Coboundaries coboundaries_;
  const kernels::H1Column* columns_;
  std::unordered_map<int32_t, CoboundaryList> cached_;  // node-based: stable addresses
  size_t cached_bytes_ = 0;
  std::deque<CoboundaryList> uncached_;  // lists of the current column that did not fit the cache
};

// The reduction of one cloud's columns in the order given, with what carries from column to column: the column
// that claimed each pivot, and for the columns that absorbed others the list of those (V).
class ColumnReduction {
 public:
  ColumnReduction(const float* dist, int32_t n, float threshold, const kernels::H1Column* columns, int64_t column_count)
      : dist_(dist),
        n_(n),
        columns_(columns),
        coboundaries_(dist, n, threshold, columns),
        pivot_owner_(static_cast<size_t>(column_count)) {}

  // True when column c is an apparent pair, or an emergent pair whose triangle no earlier column claimed: it
  // claims that triangle with nothing to reduce, and the pair has length zero (nothing to report).
  bool pairs_without_reduction(int32_t c) {
    const kernels::H1Column& column = columns_[c];
    if (column.cofacet_vertex < 0) return false;
    const int64_t emergent = kernels::triangle_with(column.edge, column.cofacet_vertex);
    if (!column.apparent && pivot_owner_.find(emergent) >= 0) return false;
    pivot_owner_.insert(emergent, c);
    return true;
  }

  // Reduces column c and adds what it gives to `diagram`: an essential bar when the column reduces to zero,
  // otherwise it claims its pivot, and the pair counts when the pivot triangle is longer than the edge.
  void reduce(int32_t c, Diagram& diagram) {
    const kernels::H1Column& column = columns_[c];
    Simplex pivot{};
    if (!reduce_to_unclaimed_pivot(c, pivot)) {
      diagram.essential.push_back(EssentialBar{column.diameter, column.edge});
      return;
    }
    pivot_owner_.insert(pivot.index, c);
    cancel_pairs(added_);
    if (!added_.empty()) absorbed_.emplace(c, added_);
    if (pivot.diameter > column.diameter) diagram.pairs.push_back(pair_of(column, pivot));
  }

 private:
  // Adds to column c the reduced column that claimed its pivot, until the pivot is unclaimed (true, `pivot` set)
  // or the column is zero (false); added_ lists the columns added, with repeats.
  bool reduce_to_unclaimed_pivot(int32_t c, Simplex& pivot) {
    working_.clear();
    coboundaries_.release_uncached();
    added_.clear();
    working_.add(coboundaries_.of(c));
    bool has_pivot = working_.pivot(pivot);
    while (has_pivot) {
      const int32_t owner = pivot_owner_.find(pivot.index);
      if (owner < 0) break;
      add_reduced_column(owner);
      has_pivot = working_.pivot(pivot);
    }
    return has_pivot;
  }

  // Adds reduced column j: its own coboundary and those of the columns it absorbed.
  void add_reduced_column(int32_t j) {
    added_.push_back(j);
    working_.add(coboundaries_.of(j));
    const auto j_absorbed = absorbed_.find(j);
    if (j_absorbed == absorbed_.end()) return;
    for (int32_t k : j_absorbed->second) {
      added_.push_back(k);
      working_.add(coboundaries_.of(k));
    }
  }

  // The pair of a column with its pivot triangle, which dies at the triangle's longest edge.
  PersistencePair pair_of(const kernels::H1Column& column, const Simplex& pivot) const {
    int32_t a, b, k;
    kernels::triangle_vertices(pivot.index, n_ - 1, a, b, k);
    return PersistencePair{column.diameter, pivot.diameter, column.edge, kernels::max_facet(dist_, n_, a, b, k)};
  }

  const float* dist_;
  int32_t n_;
  const kernels::H1Column* columns_;
  CoboundaryCache coboundaries_;
  PivotTable pivot_owner_;
  std::unordered_map<int32_t, std::vector<int32_t>> absorbed_;  // V: columns added into column c (c itself implied)
  WorkingColumn working_;
  std::vector<int32_t> added_;
};

}  // namespace

H1Outcome h1_cohomology(const float* dist, int32_t n, float threshold, const kernels::H1Column* columns,
                        int64_t column_count, const Deadline& deadline, OnLimit on_limit) {
  H1Outcome outcome;
  outcome.diagram.dim = 1;
  if (n < 3) return outcome;

  ColumnReduction reduction(dist, n, threshold, columns, column_count);
  for (int32_t c = 0; c < static_cast<int32_t>(column_count); ++c) {
    if ((c & 255) == 0 && deadline.passed()) {
      TL_CHECK_AS(LimitError, on_limit == OnLimit::Truncate, "H1 reduction of ", n, " points passed its time limit of ",
                  deadline.seconds, " s after ", c, " of ", column_count,
                  " columns (raise time_limit_seconds, lower the threshold, or choose OnLimit::Truncate)");
      outcome.truncated = true;
      break;
    }
    if (!reduction.pairs_without_reduction(c)) reduction.reduce(c, outcome.diagram);
  }
  // Reported in the filtration order of the birth edges: the reverse of the order columns were reduced in.
  std::reverse(outcome.diagram.pairs.begin(), outcome.diagram.pairs.end());
  std::reverse(outcome.diagram.essential.begin(), outcome.diagram.essential.end());
  return outcome;
}

}  // namespace tl::topology::detail
