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
//
// The run's limits are checked at checkpoints spaced by work done (heap pops, lists listed, columns), so a
// single long column stops at its limit too.
#include "topology/cohomology.h"

#include <algorithm>
#include <cstdio>
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

// What one cloud's reduction holds, by part, in bytes.
enum class Part { Pivots, Lists, Absorbed, Working };
constexpr int kParts = 4;

// One cloud's reduction's view of the run's limits. Work is charged as it is done (a heap pop, a column: 1 unit;
// listing a coboundary: n / 16); every kWorkPerCheckpoint units, about 0.1 ms, a checkpoint reads the clock. Bytes
// are counted as the parts grow, and reported to the run at once when memory is limited. A passed limit trips:
// LimitError with a message that says what the run needed and what to change.
class ReductionGuard {
 public:
  static constexpr int64_t kWorkPerCheckpoint = 2048;

  ReductionGuard(RunLimits& limits, int32_t n, int64_t column_count)
      : limits_(limits), n_(n), column_count_(column_count) {}
  ~ReductionGuard() { limits_.hold(-reported_); }
  ReductionGuard(const ReductionGuard&) = delete;
  ReductionGuard& operator=(const ReductionGuard&) = delete;

  int32_t points() const { return n_; }
  // The cache budget for coboundary lists: 128 MiB, or a quarter of the memory limit when that is less.
  size_t cache_budget() const {
    constexpr size_t kCoboundaryCacheBytes = size_t(128) << 20;
    if (!limits_.memory_limited()) return kCoboundaryCacheBytes;
    return std::min(kCoboundaryCacheBytes, static_cast<size_t>(limits_.memory_limit() / 4));
  }
  void at_column(int64_t c) {
    column_ = c;
    charge(1);
  }
  void charge(int64_t units) {
    work_ += units;
    if (work_ >= kWorkPerCheckpoint) checkpoint();
  }
  // Counts `bytes` more (fewer when negative) for a part.
  void hold(Part part, int64_t bytes) {
    if (bytes == 0) return;
    parts_[static_cast<int>(part)] += bytes;
    if (limits_.memory_limited()) report_memory();
  }
  // Reads the clock now.
  void checkpoint() {
    work_ = 0;
    if (limits_.time_passed()) trip_time();
  }
  // The message of the limit that tripped; empty while none has.
  const std::string& reason() const { return reason_; }

 private:
  int64_t part(Part p) const { return parts_[static_cast<int>(p)]; }
  void report_memory() {
    int64_t total = 0;
    for (int64_t bytes : parts_) total += bytes;
    const int64_t held = limits_.hold(total - reported_);
    reported_ = total;
    if (held > limits_.memory_limit()) trip_memory(held, total);
  }
  [[noreturn]] void trip(const std::string& message) {
    reason_ = message;
    TL_FAIL(LimitError, message);
  }
  [[noreturn]] void trip_time() {
    trip(tl::detail::concat("H1 reduction of ", n_, " points passed its time limit of ", limits_.seconds(), " s (",
                            limits_.elapsed(), " s since the call began) in column ", column_ + 1, " of ",
                            column_count_,
                            ": raise time_limit_seconds, lower the threshold, use fewer points, or choose "
                            "OnLimit::Truncate"));
  }
  [[noreturn]] void trip_memory(int64_t held, int64_t reduction) {
    trip(tl::detail::concat(
        "H1 reduction of ", n_, " points passed its memory limit of ", readable_bytes(limits_.memory_limit()),
        " in column ", column_ + 1, " of ", column_count_, ": the run needs more than ", readable_bytes(held),
        " (distance matrices, columns and other clouds ", readable_bytes(held - reduction), "; this reduction ",
        readable_bytes(reduction), ": pivot table ", readable_bytes(part(Part::Pivots)), ", coboundary lists ",
        readable_bytes(part(Part::Lists)), ", reduction matrix V ", readable_bytes(part(Part::Absorbed)),
        ", working column ", readable_bytes(part(Part::Working)),
        "): lower the threshold, use fewer points, or raise memory_limit_bytes"));
  }

  RunLimits& limits_;
  int32_t n_;
  int64_t column_count_;
  int64_t column_ = 0;
  int64_t work_ = 0;
  int64_t parts_[kParts] = {};
  int64_t reported_ = 0;  // bytes counted in the run's total
  std::string reason_;
};

template <typename T>
int64_t bytes_of(const std::vector<T>& v) {
  return static_cast<int64_t>(v.capacity() * sizeof(T));
}

// v.push_back(value), its growth counted as the guard's `part`.
template <typename T>
void push_counted(std::vector<T>& v, const T& value, ReductionGuard& guard, Part part) {
  const int64_t before = bytes_of(v);
  v.push_back(value);
  guard.hold(part, bytes_of(v) - before);
}

// A rough size of one node of a std::unordered_map holding `Value`s, beyond what the value owns.
template <typename Value>
constexpr int64_t kMapNodeBytes = static_cast<int64_t>(sizeof(int32_t) + sizeof(Value) + 2 * sizeof(void*));

// Open-addressing map from triangle index to the column that claimed it as pivot; keys are never removed. Its
// arrays are counted (before they are allocated) as the guard's pivot part.
class PivotTable {
 public:
  PivotTable(size_t expected, ReductionGuard& guard) : guard_(guard) {
    size_t capacity = 16;
    while (capacity < 2 * expected) capacity *= 2;
    allocate(capacity);
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
  static int64_t bytes_for(size_t capacity) {
    return static_cast<int64_t>(capacity * (sizeof(int64_t) + sizeof(int32_t)));
  }
  void allocate(size_t capacity) {
    guard_.hold(Part::Pivots, bytes_for(capacity) - bytes_for(keys_.size()));
    keys_.assign(capacity, kEmpty);
    values_.resize(capacity);
    mask_ = capacity - 1;
  }
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
    keys_.clear();
    allocate(keys.size() * 2);  // the old arrays stay counted until the new ones are filled
    for (size_t i = 0; i < keys.size(); ++i)
      if (keys[i] != kEmpty) place(keys[i], values[i]);
    guard_.hold(Part::Pivots, -bytes_for(keys.size()));
  }
  ReductionGuard& guard_;
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
  explicit WorkingColumn(ReductionGuard& guard) : guard_(guard) {}
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
        guard_.charge(1);
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
    push_counted(heap_, c, guard_, Part::Working);
    std::push_heap(heap_.begin(), heap_.end(), later_head);
  }
  ReductionGuard& guard_;
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

// The coboundary lists of one cloud's columns: listed on first use and cached while the guard's budget allows;
// lists that did not fit live until the current column is done (release_uncached).
class CoboundaryCache {
 public:
  CoboundaryCache(const float* dist, int32_t n, float threshold, const kernels::H1Column* columns,
                  ReductionGuard& guard)
      : coboundaries_(dist, n, threshold), columns_(columns), guard_(guard), budget_(guard.cache_budget()) {}

  // The coboundary of column j, from the cache or listed now (and cached while the budget allows).
  CoboundaryList& of(int32_t j) {
    const auto hit = cached_.find(j);
    if (hit != cached_.end()) return hit->second;
    CoboundaryList list;
    coboundaries_.list(columns_[j].edge, columns_[j].diameter, list);
    guard_.charge(guard_.points() / 16);
    const size_t bytes = list.entries.capacity() * sizeof(Simplex);
    if (cached_bytes_ + bytes <= budget_) {
      cached_bytes_ += bytes;
      guard_.hold(Part::Lists, static_cast<int64_t>(bytes) + kMapNodeBytes<CoboundaryList>);
      return cached_.emplace(j, std::move(list)).first->second;
    }
    uncached_bytes_ += static_cast<int64_t>(bytes);
    guard_.hold(Part::Lists, static_cast<int64_t>(bytes));
    uncached_.push_back(std::move(list));
    return uncached_.back();
  }
  void release_uncached() {
    uncached_.clear();
    guard_.hold(Part::Lists, -uncached_bytes_);
    uncached_bytes_ = 0;
  }

 private:
  const Coboundaries coboundaries_;
  const kernels::H1Column* columns_;
  ReductionGuard& guard_;
  const size_t budget_;
  std::unordered_map<int32_t, CoboundaryList> cached_;  // node-based: stable addresses
  size_t cached_bytes_ = 0;
  std::deque<CoboundaryList> uncached_;  // lists of the current column that did not fit the cache
  int64_t uncached_bytes_ = 0;
};

// The reduction of one cloud's columns in the order given, with what carries from column to column: the column
// that claimed each pivot, and for the columns that absorbed others the list of those (V).
class ColumnReduction {
 public:
  ColumnReduction(const float* dist, int32_t n, float threshold, const kernels::H1Column* columns, int64_t column_count,
                  ReductionGuard& guard)
      : dist_(dist),
        n_(n),
        columns_(columns),
        guard_(guard),
        coboundaries_(dist, n, threshold, columns, guard),
        pivot_owner_(static_cast<size_t>(column_count), guard),
        working_(guard) {}

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
    if (!added_.empty()) {
      guard_.hold(Part::Absorbed,
                  static_cast<int64_t>(added_.size() * sizeof(int32_t)) + kMapNodeBytes<std::vector<int32_t>>);
      absorbed_.emplace(c, added_);
    }
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
    push_counted(added_, j, guard_, Part::Working);
    working_.add(coboundaries_.of(j));
    const auto j_absorbed = absorbed_.find(j);
    if (j_absorbed == absorbed_.end()) return;
    for (int32_t k : j_absorbed->second) {
      push_counted(added_, k, guard_, Part::Working);
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
  ReductionGuard& guard_;
  CoboundaryCache coboundaries_;
  PivotTable pivot_owner_;
  std::unordered_map<int32_t, std::vector<int32_t>> absorbed_;  // V: columns added into column c (c itself implied)
  WorkingColumn working_;
  std::vector<int32_t> added_;
};

// Reduces the columns in order, adding their pairs and essential bars to `diagram` (latest birth first).
void reduce_columns(const float* dist, int32_t n, float threshold, const kernels::H1Column* columns,
                    int64_t column_count, ReductionGuard& guard, Diagram& diagram) {
  guard.checkpoint();  // the stages before may have used up the time
  ColumnReduction reduction(dist, n, threshold, columns, column_count, guard);
  for (int32_t c = 0; c < static_cast<int32_t>(column_count); ++c) {
    guard.at_column(c);
    if (!reduction.pairs_without_reduction(c)) reduction.reduce(c, diagram);
  }
}

}  // namespace

std::string readable_bytes(int64_t bytes) {
  static const char* const kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while ((value >= 1024.0 || value <= -1024.0) && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, kUnits[unit]);
  return text;
}

H1Outcome h1_cohomology(const float* dist, int32_t n, float threshold, const kernels::H1Column* columns,
                        int64_t column_count, RunLimits& limits) {
  H1Outcome outcome;
  outcome.diagram.dim = 1;
  if (n < 3) return outcome;
  ReductionGuard guard(limits, n, column_count);
  try {
    reduce_columns(dist, n, threshold, columns, column_count, guard, outcome.diagram);
  } catch (const LimitError&) {
    if (guard.reason().empty() || limits.on_limit() == OnLimit::Error) throw;
    outcome.truncated = true;
    outcome.truncation_reason = guard.reason();
  }
  // Reported in the filtration order of the birth edges: the reverse of the order columns were reduced in.
  std::reverse(outcome.diagram.pairs.begin(), outcome.diagram.pairs.end());
  std::reverse(outcome.diagram.essential.begin(), outcome.diagram.essential.end());
  return outcome;
}

}  // namespace tl::topology::detail
