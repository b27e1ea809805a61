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

}  // namespace

H1Outcome h1_cohomology(const float* dist, int32_t n, float threshold, const kernels::H1Column* columns,
                        int64_t column_count, const Deadline& deadline, OnLimit on_limit) {
  H1Outcome outcome;
  outcome.diagram.dim = 1;
  if (n < 3) return outcome;

  const Coboundaries coboundaries(dist, n, threshold);
  PivotTable pivot_owner(static_cast<size_t>(column_count));
  std::unordered_map<int32_t, std::vector<int32_t>> absorbed;  // V: columns added into column c (c itself implied)
  std::unordered_map<int32_t, CoboundaryList> cached;          // node-based: stable addresses
  size_t cached_bytes = 0;
  std::deque<CoboundaryList> uncached;  // lists of the current column that did not fit the cache
  // The coboundary of column j, from the cache or listed now (and cached while the budget allows).
  auto coboundary_of = [&](int32_t j) -> CoboundaryList& {
    const auto hit = cached.find(j);
    if (hit != cached.end()) return hit->second;
    CoboundaryList list;
    coboundaries.list(columns[j].edge, columns[j].diameter, list);
    const size_t bytes = list.entries.capacity() * sizeof(Simplex);
    if (cached_bytes + bytes <= kCoboundaryCacheBytes) {
      cached_bytes += bytes;
      return cached.emplace(j, std::move(list)).first->second;
    }
    uncached.push_back(std::move(list));
    return uncached.back();
  };
  WorkingColumn working;
  std::vector<int32_t> added;
  for (int32_t c = 0; c < static_cast<int32_t>(column_count); ++c) {
    if ((c & 255) == 0 && deadline.passed()) {
      TL_CHECK_AS(LimitError, on_limit == OnLimit::Truncate, "H1 reduction of ", n, " points passed its time limit of ",
                  deadline.seconds, " s after ", c, " of ", column_count,
                  " columns (raise time_limit_seconds, lower the threshold, or choose OnLimit::Truncate)");
      outcome.truncated = true;
      break;
    }
    const kernels::H1Column& column = columns[c];
    if (column.cofacet_vertex >= 0) {
      const int64_t emergent = kernels::triangle_with(column.edge, column.cofacet_vertex);
      if (column.apparent || pivot_owner.find(emergent) < 0) {
        pivot_owner.insert(emergent, c);  // a zero-length pair: nothing to report
        continue;
      }
    }
    working.clear();
    uncached.clear();
    added.clear();
    working.add(coboundary_of(c));
    Simplex pivot{};
    bool has_pivot = working.pivot(pivot);
    while (has_pivot) {
      const int32_t owner = pivot_owner.find(pivot.index);
      if (owner < 0) break;
      added.push_back(owner);
      working.add(coboundary_of(owner));
      const auto owner_absorbed = absorbed.find(owner);
      if (owner_absorbed != absorbed.end()) {
        for (int32_t j : owner_absorbed->second) {
          added.push_back(j);
          working.add(coboundary_of(j));
        }
      }
      has_pivot = working.pivot(pivot);
    }
    if (!has_pivot) {
      outcome.diagram.essential.push_back(EssentialBar{column.diameter, column.edge});
      continue;
    }
    pivot_owner.insert(pivot.index, c);
    cancel_pairs(added);
    if (!added.empty()) absorbed.emplace(c, added);
    if (pivot.diameter > column.diameter) {
      int32_t a, b, k;
      kernels::triangle_vertices(pivot.index, n - 1, a, b, k);
      const kernels::Edge death_edge = kernels::max_facet(dist, n, a, b, k);
      outcome.diagram.pairs.push_back(PersistencePair{column.diameter, pivot.diameter, column.edge, death_edge});
    }
  }
  // Reported in the filtration order of the birth edges: the reverse of the order columns were reduced in.
  std::reverse(outcome.diagram.pairs.begin(), outcome.diagram.pairs.end());
  std::reverse(outcome.diagram.essential.begin(), outcome.diagram.essential.end());
  return outcome;
}

}  // namespace tl::topology::detail
