// Degree-1 cohomology reduction over Z/2 (the method of Bauer's ripser, written from its description), with
// coboundaries that are never stored: each is enumerated lazily, in filtration order, from two sorted neighbour rows.
// The reduction reads its distances through a filtration source (DenseDistances, SparseDistances below): the dense
// n x n matrix, or the neighbour graph of the sparse path, which gives the same columns, pivots and pairs.
//
// Columns are the edges within the threshold that are not H0 deaths (clearing), taken in reverse filtration
// order; a column's entries are its cofacet triangles, and its pivot is its earliest cofacet in the filtration.
// - Apparent pairs (the edge is the latest facet of its earliest cofacet, which has the edge's diameter; over 99 %
//   of the columns) need nothing: on the CPU they are never listed (list_columns), a list from a backend has them
//   skipped, and a triangle they own is recognised from the triangle itself (apparent_owner), so the pivot table
//   holds only the other columns' pivots and stays small.
// - Emergent pairs (that cofacet has the edge's diameter but a later facet) claim it unless it is claimed already.
// - The other columns are reduced: the working column is a merge of coboundary streams (one per column added, a
//   cursor each) through a radix heap, the reduction matrix V keeps, for the columns that absorbed others, the list of
//   those.
//
// A coboundary stream of edge {u, v} (diameter d) yields the cofacets {u, v, k} in filtration order, diameter
// max(d, D[u][k], D[v][k]) then larger k first: first the k with both distances <= d (diameter d), found by a scan
// down from the edge's emergent cofacet vertex; then a merge of u's and v's neighbour rows (vertices sorted by
// distance, larger vertex first among equal ones) past d: vertex k is yielded at its later occurrence, at distance
// max(D[u][k], D[v][k]). A stream is a few integers, so a column that adds tens of thousands of others (the long
// cycle of a circle or torus) holds kilobytes where stored coboundaries took gigabytes, and reads each coboundary
// only as far as the reduction needs.
//
// On several threads (reduce_columns), each takes the next column and reduces it against the pivots settled so far,
// and whichever thread is free settles the reduced columns in order; a thread with nothing to reduce helps a long
// column (WorkingColumn::serve): it takes part of its streams, merges them and hands the entries that did not cancel
// to the column's thread through a ring. Every column is still reduced only by earlier ones, so the pivots, hence
// the pairs, essential bars and critical edges, are those of one thread.
//
// The run's limits are checked at checkpoints spaced by work done (heap steps, rows sorted, columns), on every
// thread, so a single long column stops at its limit too.
#include "topology/cohomology.h"

#include <omp.h>
#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "core/base/error.h"
#include "topology/neighbor_graph.h"

namespace tl::topology::detail {
namespace {

using kernels::filtration_before;

struct Simplex {
  float diameter;
  int64_t index;
};

// What one cloud's reduction holds, by part, in bytes.
enum class Part { Pivots, Rows, Absorbed, Working };
constexpr int kParts = 4;

// One cloud's reduction's view of the run's limits, shared by the threads that reduce it. Bytes are counted as the
// parts grow and reported to the run at once; a checkpoint reads the clock (each thread calls it through its own
// Meter, every ~0.1 ms of work). A passed limit trips: LimitError with a message that says what the run needed and
// what to change. Thread-safe.
class ReductionGuard {
 public:
  ReductionGuard(RunLimits& limits, int32_t n, int64_t column_count)
      : limits_(limits), n_(n), column_count_(column_count) {}
  ~ReductionGuard() { limits_.hold(-reported_.load()); }
  ReductionGuard(const ReductionGuard&) = delete;
  ReductionGuard& operator=(const ReductionGuard&) = delete;

  int32_t points() const { return n_; }
  void at_column(int64_t c) { column_.store(c, std::memory_order_relaxed); }
  // Counts `bytes` more (fewer when negative) for a part.
  void hold(Part part, int64_t bytes) {
    if (bytes == 0) return;
    parts_[static_cast<int>(part)].fetch_add(bytes, std::memory_order_relaxed);
    reported_.fetch_add(bytes, std::memory_order_relaxed);
    const int64_t held = limits_.hold(bytes);
    if (limits_.memory_limited() && held > limits_.memory_limit()) trip_memory(held);
  }
  // Reads the clock now.
  void checkpoint() {
    if (limits_.time_passed()) trip_time();
  }
  // The message of the limit that tripped first; empty while none has.
  std::string reason() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return reason_;
  }

 private:
  int64_t part(Part p) const { return parts_[static_cast<int>(p)].load(std::memory_order_relaxed); }
  [[noreturn]] void trip(const std::string& message) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (reason_.empty()) reason_ = message;
    }
    TL_FAIL(LimitError, message);
  }
  [[noreturn]] void trip_time() {
    trip(tl::detail::concat("H1 reduction of ", n_, " points passed its time limit of ", limits_.seconds(), " s (",
                            limits_.elapsed(), " s since the call began) in column ", column_.load() + 1, " of ",
                            column_count_,
                            ": raise time_limit_seconds, lower the threshold, use fewer points, or choose "
                            "OnLimit::Truncate"));
  }
  [[noreturn]] void trip_memory(int64_t held) {
    const int64_t reduction = reported_.load();
    trip(tl::detail::concat(
        "H1 reduction of ", n_, " points passed its memory limit of ", readable_bytes(limits_.memory_limit()),
        " in column ", column_.load() + 1, " of ", column_count_, ": the run needs more than ", readable_bytes(held),
        " (distance matrices, columns and other clouds ", readable_bytes(held - reduction), "; this reduction ",
        readable_bytes(reduction), ": pivot table ", readable_bytes(part(Part::Pivots)),
        ", sorted neighbour rows of the coboundary lists ", readable_bytes(part(Part::Rows)), ", reduction matrix V ",
        readable_bytes(part(Part::Absorbed)), ", working columns ", readable_bytes(part(Part::Working)),
        "): lower the threshold, use fewer points, or raise memory_limit_bytes"));
  }

  RunLimits& limits_;
  int32_t n_;
  int64_t column_count_;
  std::atomic<int64_t> column_{0};
  std::atomic<int64_t> parts_[kParts] = {};
  std::atomic<int64_t> reported_{0};  // bytes counted in the run's total
  mutable std::mutex mutex_;
  std::string reason_;
};

// One thread's work on a reduction: charged as it is done (a heap step, a column: 1 unit; sorting a neighbour row:
// n / 16), it reads the clock every kWorkPerCheckpoint units, about 0.1 ms.
class Meter {
 public:
  static constexpr int64_t kWorkPerCheckpoint = 2048;
  explicit Meter(ReductionGuard& guard) : guard_(guard) {}
  ReductionGuard& guard() { return guard_; }
  void charge(int64_t units) {
    work_ += units;
    if (work_ >= kWorkPerCheckpoint) {
      work_ = 0;
      guard_.checkpoint();
    }
  }

 private:
  ReductionGuard& guard_;
  int64_t work_ = 0;
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

// Open-addressing map from triangle index to the column that claimed it as pivot, and where that column's V is
// (its slot among the reduction's V lists, -1: none); keys are never removed. Its capacity, fixed at the start, is
// twice the number of columns that can claim a pivot (those that are not apparent pairs), so it never grows. One
// thread inserts while others look up: a claim is stored before its key is published (release), and a look-up that
// reads the key (acquire) reads the claim; a look-up racing an insertion may miss it, as if it came a little earlier.
class PivotTable {
 public:
  struct Claim {
    int32_t column = -1;  // -1: none
    int32_t v_slot = -1;
  };
  PivotTable(size_t claimants, ReductionGuard& guard) {
    size_t capacity = 16;
    while (capacity < 2 * claimants) capacity *= 2;
    guard.hold(Part::Pivots, static_cast<int64_t>(capacity * (sizeof(int64_t) + sizeof(uint64_t))));
    keys_.reset(new std::atomic<int64_t>[capacity]);
    claims_.reset(new std::atomic<uint64_t>[capacity]);
    for (size_t slot = 0; slot < capacity; ++slot) keys_[slot].store(kEmpty, std::memory_order_relaxed);
    mask_ = capacity - 1;
  }
  Claim find(int64_t key) const {
    for (size_t slot = hash(key);; slot = (slot + 1) & mask_) {
      const int64_t found = keys_[slot].load(std::memory_order_acquire);
      if (found == key) {
        const uint64_t claim = claims_[slot].load(std::memory_order_relaxed);
        return Claim{static_cast<int32_t>(claim >> 32), static_cast<int32_t>(claim & 0xffffffffu) - 1};
      }
      if (found == kEmpty) return Claim{};
    }
  }
  void insert(int64_t key, Claim claim) {
    size_t slot = hash(key);
    while (keys_[slot].load(std::memory_order_relaxed) != kEmpty) slot = (slot + 1) & mask_;
    claims_[slot].store(static_cast<uint64_t>(claim.column) << 32 | static_cast<uint32_t>(claim.v_slot + 1),
                        std::memory_order_relaxed);
    keys_[slot].store(key, std::memory_order_release);
  }

 private:
  static constexpr int64_t kEmpty = -1;
  size_t hash(int64_t key) const { return (static_cast<uint64_t>(key) * 0x9E3779B97F4A7C15ull >> 17) & mask_; }
  std::unique_ptr<std::atomic<int64_t>[]> keys_;
  std::unique_ptr<std::atomic<uint64_t>[]> claims_;
  size_t mask_ = 0;
};

// The vertices a > b > c of a triangle index (the inverse of kernels::triangle_index), from floating-point roots
// corrected to the exact values.
void triangle_vertices(int64_t index, int32_t& a, int32_t& b, int32_t& c) {
  const auto c3 = [](int64_t x) { return x * (x - 1) * (x - 2) / 6; };
  const auto c2 = [](int64_t x) { return x * (x - 1) / 2; };
  int64_t x = static_cast<int64_t>(std::cbrt(6.0 * static_cast<double>(index))) + 1;
  while (c3(x) > index) --x;
  while (c3(x + 1) <= index) ++x;
  index -= c3(x);
  int64_t y = static_cast<int64_t>(std::sqrt(2.0 * static_cast<double>(index))) + 1;
  while (c2(y) > index) --y;
  while (c2(y + 1) <= index) ++y;
  a = static_cast<int32_t>(x);
  b = static_cast<int32_t>(y);
  c = static_cast<int32_t>(index - c2(y));
}

// Bit i set when row_u[i] <= d and row_v[i] <= d, for i < 16.
uint32_t within_mask16(const float* row_u, const float* row_v, float d) {
#if defined(__AVX512F__)
  const __m512 bound = _mm512_set1_ps(d);
  return _mm512_cmp_ps_mask(_mm512_loadu_ps(row_u), bound, _CMP_LE_OQ) &
         _mm512_cmp_ps_mask(_mm512_loadu_ps(row_v), bound, _CMP_LE_OQ);
#elif defined(__AVX2__)
  const __m256 bound = _mm256_set1_ps(d);
  uint32_t mask = 0;
  for (int half = 0; half < 2; ++half) {
    const __m256 both = _mm256_and_ps(_mm256_cmp_ps(_mm256_loadu_ps(row_u + 8 * half), bound, _CMP_LE_OQ),
                                      _mm256_cmp_ps(_mm256_loadu_ps(row_v + 8 * half), bound, _CMP_LE_OQ));
    mask |= static_cast<uint32_t>(_mm256_movemask_ps(both)) << (8 * half);
  }
  return mask;
#else
  uint32_t mask = 0;
  for (int i = 0; i < 16; ++i) mask |= static_cast<uint32_t>(row_u[i] <= d && row_v[i] <= d) << i;
  return mask;
#endif
}

// The largest vertex k <= from, other than u and v, with D[u][k] <= d and D[v][k] <= d (rows row_u, row_v); -1
// when there is none. Blocks of 16 vertices are tested at once, the largest passing one read off the mask.
int32_t next_cofacet_within(const float* row_u, const float* row_v, int32_t u, int32_t v, float d, int32_t from) {
  int32_t top = from;
  for (; top >= 15; top -= 16) {
    const int32_t base = top - 15;
    uint32_t mask = within_mask16(row_u + base, row_v + base, d);
    if (static_cast<uint32_t>(u - base) < 16) mask &= ~(uint32_t(1) << (u - base));
    if (static_cast<uint32_t>(v - base) < 16) mask &= ~(uint32_t(1) << (v - base));
    if (mask != 0) return base + 31 - __builtin_clz(mask);
  }
  for (; top >= 0; --top)
    if (row_u[top] <= d && row_v[top] <= d && top != u && top != v) return top;
  return -1;
}

// The distances the reduction reads: a filtration source. Two give the same reduction: the dense n x n matrix
// (DenseDistances) and a neighbour graph up to a threshold (SparseDistances, topology/neighbor_graph.h). Each says:
// - Entry: an entry of a sorted neighbour row, Source::vertex(entry) its vertex, Source::entry(k, length) made;
// - view(u): the distances from vertex u; view.to(k) is D[u][k] (infinity for a pair outside a graph), view.at(e)
//   the distance of an entry of u's sorted row;
// - for_each_neighbour_down(u, visit): visit(k, D[u][k]) for the row_size(u) vertices k != u it holds, k decreasing;
// - for_each_lower_edge(u, visit): visit(v, D[u][v], slot) for the edges {u, v}, v < u, it holds, v increasing, each
//   with its slot: a number below slots(), which slot(edge) also gives;
// - next_cofacet_within(view_u, view_v, u, v, d, from): the largest k <= from, k != u, v, with D[u][k] <= d and
//   D[v][k] <= d (-1: none);
// - max_facet(a, b, c): the triangle's last edge in the filtration (kernels::max_facet).
class DenseDistances {
 public:
  using Entry = uint16_t;
  struct View {
    const float* row;
    float to(int32_t k) const { return row[k]; }
    float at(Entry e) const { return row[e]; }
  };
  DenseDistances(const float* dist, int32_t n) : dist_(dist), n_(n) {}
  int32_t points() const { return n_; }
  View view(int32_t u) const { return View{dist_ + static_cast<int64_t>(u) * n_}; }
  static int32_t vertex(Entry e) { return e; }
  static Entry entry(int32_t k, float) { return static_cast<Entry>(k); }
  int64_t row_size(int32_t) const { return n_ - 1; }
  template <class Visit>
  void for_each_neighbour_down(int32_t u, Visit visit) const {
    const float* du = dist_ + static_cast<int64_t>(u) * n_;
    for (int32_t k = n_ - 1; k >= 0; --k)
      if (k != u) visit(k, du[k]);
  }
  // Slots are edge indices.
  int64_t slots() const { return static_cast<int64_t>(n_) * (n_ - 1) / 2; }
  int64_t slot(kernels::Edge e) const { return kernels::edge_index(e.u, e.v); }
  template <class Visit>
  void for_each_lower_edge(int32_t u, Visit visit) const {
    const float* du = dist_ + static_cast<int64_t>(u) * n_;
    const int64_t first = static_cast<int64_t>(u) * (u - 1) / 2;
    for (int32_t v = 0; v < u; ++v) visit(v, du[v], first + v);
  }
  int32_t next_cofacet_within(const View& du, const View& dv, int32_t u, int32_t v, float d, int32_t from) const {
    return detail::next_cofacet_within(du.row, dv.row, u, v, d, from);
  }
  kernels::Edge max_facet(int32_t a, int32_t b, int32_t c) const { return kernels::max_facet(dist_, n_, a, b, c); }

 private:
  const float* dist_;
  int32_t n_;
};

// The graph's rows are sorted by vertex: a distance is found by binary search, a cofacet by walking two rows down.
class SparseDistances {
 public:
  struct Entry {
    int32_t vertex;
    float length;
  };
  struct View {
    const int32_t* begin;
    const int32_t* end;
    const float* lengths;
    // A binary search without branches (conditional moves): the last entry <= k, then whether it is k.
    float to(int32_t k) const {
      int64_t size = end - begin;
      if (size == 0) return std::numeric_limits<float>::infinity();
      const int32_t* at = begin;
      while (size > 1) {
        const int64_t half = size / 2;
        at = at[half] <= k ? at + half : at;
        size -= half;
      }
      return *at == k ? lengths[at - begin] : std::numeric_limits<float>::infinity();
    }
    float at(Entry e) const { return e.length; }
  };
  explicit SparseDistances(const NeighborGraph& graph) : graph_(graph) {}
  int32_t points() const { return graph_.n; }
  View view(int32_t u) const {
    const int64_t first = graph_.offsets[static_cast<size_t>(u)], last = graph_.offsets[static_cast<size_t>(u) + 1];
    return View{graph_.neighbors.data() + first, graph_.neighbors.data() + last, graph_.lengths.data() + first};
  }
  static int32_t vertex(Entry e) { return e.vertex; }
  static Entry entry(int32_t k, float length) { return Entry{k, length}; }
  int64_t row_size(int32_t u) const {
    return graph_.offsets[static_cast<size_t>(u) + 1] - graph_.offsets[static_cast<size_t>(u)];
  }
  template <class Visit>
  void for_each_neighbour_down(int32_t u, Visit visit) const {
    const View row = view(u);
    for (int64_t p = row.end - row.begin - 1; p >= 0; --p) visit(row.begin[p], row.lengths[p]);
  }
  // Slots are positions in the graph's arrays (edge {u, v}, u > v: v's place in row u).
  int64_t slots() const { return static_cast<int64_t>(graph_.neighbors.size()); }
  int64_t slot(kernels::Edge e) const {
    const View row = view(e.u);
    const int32_t* found = std::lower_bound(row.begin, row.end, e.v);
    TL_CHECK(found != row.end && *found == e.v, "sparse persistence: the spanning-forest edge {", e.u, ", ", e.v,
             "} is not in the neighbour graph (its builders disagree on a length)");
    return graph_.offsets[static_cast<size_t>(e.u)] + (found - row.begin);
  }
  template <class Visit>
  void for_each_lower_edge(int32_t u, Visit visit) const {
    const View row = view(u);
    const int64_t first = graph_.offsets[static_cast<size_t>(u)];
    for (int64_t p = 0; row.begin + p < row.end && row.begin[p] < u; ++p)
      visit(row.begin[p], row.lengths[p], first + p);
  }
  int32_t next_cofacet_within(const View& du, const View& dv, int32_t, int32_t, float d, int32_t from) const {
    // Positions past the vertices <= from, walked down together.
    int64_t pu = std::upper_bound(du.begin, du.end, from) - du.begin;
    int64_t pv = std::upper_bound(dv.begin, dv.end, from) - dv.begin;
    while (pu > 0 && pv > 0) {
      const int32_t ku = du.begin[pu - 1], kv = dv.begin[pv - 1];
      if (ku > kv) {
        --pu;
      } else if (kv > ku) {
        --pv;
      } else {
        if (du.lengths[pu - 1] <= d && dv.lengths[pv - 1] <= d) return ku;
        --pu;
        --pv;
      }
    }
    return -1;
  }
  kernels::Edge max_facet(int32_t a, int32_t b, int32_t c) const {
    // As kernels::max_facet: candidates in increasing edge index, a later one wins only when longer.
    const View va = view(a);
    kernels::Edge best{b, c};
    float best_length = view(b).to(c);
    const float ac = va.to(c), ab = va.to(b);
    if (ac > best_length) {
      best = kernels::Edge{a, c};
      best_length = ac;
    }
    if (ab > best_length) best = kernels::Edge{a, b};
    return best;
  }

 private:
  const NeighborGraph& graph_;
};

// The neighbour rows of a cloud: row u lists the vertices k != u with D[u][k] within the threshold, sorted by
// D[u][k] ascending and, among equal distances, larger k first. Each row is sorted on first use (a stable radix sort
// of the distances' bits, over the vertices listed in decreasing order), by whichever thread needs it first, and
// kept; a Source::Entry a vertex (2 bytes for the dense matrix, whose rows hold the distances).
template <class Source>
class NeighbourRows {
 public:
  using Entry = typename Source::Entry;
  NeighbourRows(const Source& source, float threshold)
      : source_(source),
        threshold_(threshold),
        rows_(static_cast<size_t>(source.points())),
        once_(new std::once_flag[static_cast<size_t>(source.points())]) {}

  // Row u, sorted now if it was not yet.
  const std::vector<Entry>& row(int32_t u, Meter& meter) {
    std::call_once(once_[u], [&] { sort_row(u, meter); });
    return rows_[static_cast<size_t>(u)];
  }
  // Row u, which this thread has had through row() before.
  const std::vector<Entry>& sorted_row(int32_t u) const { return rows_[static_cast<size_t>(u)]; }

 private:
  void sort_row(int32_t u, Meter& meter) {
    std::vector<uint64_t> keys;
    keys.reserve(static_cast<size_t>(source_.row_size(u)));
    int64_t listed = 0;
    source_.for_each_neighbour_down(u, [&](int32_t k, float length) {
      ++listed;
      const float d = length + 0.0f;  // +0 turns a -0 into +0, whose bits sort first
      if (!(d <= threshold_)) return;
      uint32_t bits;
      std::memcpy(&bits, &d, sizeof bits);
      keys.push_back(static_cast<uint64_t>(bits) << 32 | static_cast<uint64_t>(k));
    });
    sort_by_distance(keys);
    std::vector<Entry>& row = rows_[static_cast<size_t>(u)];
    row.resize(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      const auto bits = static_cast<uint32_t>(keys[i] >> 32);
      float length;
      std::memcpy(&length, &bits, sizeof length);
      row[i] = Source::entry(static_cast<int32_t>(keys[i] & 0xffffffffu), length);
    }
    meter.guard().hold(Part::Rows, bytes_of(row));
    meter.charge(listed / 16);
  }
  // Sorts keys (distance bits << 32 | vertex, listed with the vertices decreasing) by their distance bits (the bits
  // of floats >= 0 order as the floats do), stably: a least-significant-digit radix sort, 8 bits a pass; a pass whose
  // digit all keys share is skipped. (One bucketing pass with small sorts per bucket measured slower: distances
  // crowd the buckets of their bits unevenly.)
  static void sort_by_distance(std::vector<uint64_t>& keys) {
    std::vector<uint64_t> scratch(keys.size());
    size_t counts[257];
    for (int shift = 32; shift < 64; shift += 8) {
      std::fill(counts, counts + 257, 0);
      for (uint64_t key : keys) ++counts[((key >> shift) & 0xff) + 1];
      if (std::find(counts + 1, counts + 257, keys.size()) != counts + 257) continue;
      for (int i = 1; i < 257; ++i) counts[i] += counts[i - 1];
      for (uint64_t key : keys) scratch[counts[(key >> shift) & 0xff]++] = key;
      keys.swap(scratch);
    }
  }

  const Source& source_;
  float threshold_;
  std::vector<std::vector<Entry>> rows_;
  std::unique_ptr<std::once_flag[]> once_;
};

// One column's coboundary as a lazy stream (see the top of the file). `scan` is the next vertex the scan for
// cofacets of the edge's own diameter tests (-1: that part is done); pu/pv index u's and v's neighbour rows in the
// merge (pu < 0: the merge has not started), ku/kv are the vertices there (-1: the row is used up) and a/b their
// distances from u and v (infinity when used up).
struct Stream {
  int32_t u, v;  // u > v
  float d;
  int32_t scan;
  int32_t pu, pv;
  int32_t ku, kv;
  float a, b;
};

// A reduction column to add: an edge and its emergent cofacet vertex (-1: none), packed in one word (20 bits each,
// the vertex plus one), which also names the column in V.
using Packed = uint64_t;
Packed pack(int32_t u, int32_t v, int32_t cofacet_vertex) {
  return static_cast<uint64_t>(u) << 40 | static_cast<uint64_t>(v) << 20 | static_cast<uint64_t>(cofacet_vertex + 1);
}
void unpack(Packed p, int32_t& u, int32_t& v, int32_t& cofacet_vertex) {
  u = static_cast<int32_t>(p >> 40);
  v = static_cast<int32_t>(p >> 20 & 0xfffff);
  cofacet_vertex = static_cast<int32_t>(p & 0xfffff) - 1;
}

// A cofacet's place in the filtration as one unsigned integer: the diameter's bits (a float >= 0 orders as its bits
// do) above the complement of the triangle index (larger indices first among equal diameters). 64 bits hold it while
// triangle indices fit 32 bits (clouds of at most kNarrowKeyPoints points); larger clouds use 128.
constexpr int32_t kNarrowKeyPoints = 2952;  // C(2952, 3) < 2^32

uint32_t diameter_bits(float diameter) {
  const float positive = diameter + 0.0f;  // -0 becomes +0
  uint32_t bits;
  std::memcpy(&bits, &positive, sizeof bits);
  return bits;
}
float bits_diameter(uint32_t bits) {
  float diameter;
  std::memcpy(&diameter, &bits, sizeof diameter);
  return diameter;
}

__extension__ typedef unsigned __int128 WideKey;

template <typename Key>
struct KeyTraits;
template <>
struct KeyTraits<uint64_t> {
  static constexpr int kBits = 64;
  static uint64_t make(uint32_t bits, int64_t index) {
    return static_cast<uint64_t>(bits) << 32 | (0xffffffffu - static_cast<uint32_t>(index));
  }
  static Simplex simplex(uint64_t key) {
    return Simplex{bits_diameter(static_cast<uint32_t>(key >> 32)),
                   static_cast<int64_t>(0xffffffffu - static_cast<uint32_t>(key))};
  }
  // 1 + the position of the highest set bit (x != 0).
  static int highest_bit(uint64_t x) { return 64 - __builtin_clzll(x); }
};
template <>
struct KeyTraits<WideKey> {
  static constexpr int kBits = 128;
  static WideKey make(uint32_t bits, int64_t index) {
    return static_cast<WideKey>(bits) << 64 | static_cast<WideKey>(~static_cast<uint64_t>(index));
  }
  static Simplex simplex(WideKey key) {
    return Simplex{bits_diameter(static_cast<uint32_t>(key >> 64)), static_cast<int64_t>(~static_cast<uint64_t>(key))};
  }
  static int highest_bit(WideKey x) {
    const auto high = static_cast<uint64_t>(x >> 64);
    return high != 0 ? 128 - __builtin_clzll(high) : 64 - __builtin_clzll(static_cast<uint64_t>(x));
  }
};

// A stream's head in the working column: its key and its stream.
template <typename Key>
struct Item {
  Key key;
  uint32_t stream;
};

// A monotone priority queue of stream heads (a radix heap): no key pushed is below the floor, the last minimum
// taken. Bucket b > 0 holds the keys whose highest bit differing from the floor is bit b - 1, bucket 0 the keys equal
// to it: copies of one triangle, which cancel in pairs. When bucket 0 empties, the lowest non-empty bucket is spread
// over the buckets below it around its own minimum. A key moves down a few buckets in all, by appends that predict
// well, where a binary heap over the tens of thousands of streams of a long column spends a dozen levels of
// mispredicted comparisons on every step.
template <typename Key>
class RadixHeap {
 public:
  static constexpr int kBuckets = KeyTraits<Key>::kBits + 1;
  explicit RadixHeap(ReductionGuard& guard) : guard_(guard) {}
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  Key floor() const { return last_; }
  void clear() {
    for (int b = 0; b < kBuckets; ++b) buckets_[b].clear();
    for (uint64_t& word : occupied_) word = 0;
    size_ = 0;
    last_ = 0;
  }
  // Only while empty: the key no later push goes below.
  void set_floor(Key key) { last_ = key; }
  // Adds an item whose key is at least the floor.
  void push(const Item<Key>& item) {
    ++size_;
    place(item);
  }
  // The least key (the queue must not be empty); its items are in bucket 0, taken with take_least.
  Key least() {
    if (buckets_[0].empty()) refill();
    return last_;
  }
  // Appends the items of the least key to `out` (after least()).
  void take_least(std::vector<Item<Key>>& out) {
    size_ -= buckets_[0].size();
    if (out.empty()) {
      out.swap(buckets_[0]);
    } else {
      out.insert(out.end(), buckets_[0].begin(), buckets_[0].end());
    }
    buckets_[0].clear();
  }
  // Appends every item to `out` and empties the queue.
  void drain(std::vector<Item<Key>>& out) {
    for (int b = 0; b < kBuckets; ++b) out.insert(out.end(), buckets_[b].begin(), buckets_[b].end());
    clear();
  }

 private:
  void place(const Item<Key>& item) {
    const Key difference = item.key ^ last_;
    const int bucket = difference == 0 ? 0 : KeyTraits<Key>::highest_bit(difference);
    push_counted(buckets_[bucket], item, guard_, Part::Working);
    occupied_[bucket / 64] |= uint64_t(1) << (bucket % 64);
  }
  void refill() {
    int bucket = 1;
    for (int word = 0;; ++word) {
      const uint64_t bits = occupied_[word] & (word == 0 ? ~uint64_t(1) : ~uint64_t(0));
      if (bits != 0) {
        bucket = word * 64 + __builtin_ctzll(bits);
        break;
      }
    }
    std::vector<Item<Key>>& from = buckets_[bucket];
    Key least = from[0].key;
    for (const Item<Key>& item : from) least = std::min(least, item.key);
    last_ = least;
    occupied_[bucket / 64] &= ~(uint64_t(1) << (bucket % 64));
    for (const Item<Key>& item : from) place(item);
    from.clear();
  }

  ReductionGuard& guard_;
  std::vector<Item<Key>> buckets_[kBuckets];
  uint64_t occupied_[(kBuckets + 63) / 64] = {};  // bit b: bucket b may hold items (bucket 0's bit is not used)
  Key last_ = 0;
  size_t size_ = 0;
};

// kernels::triangle_with, always inlined in the streams' inner loop.
__attribute__((always_inline)) inline int64_t cofacet_index(int32_t u, int32_t v, int32_t k) {
  const auto c3 = [](int64_t x) { return x * (x - 1) * (x - 2) / 6; };
  const auto c2 = [](int64_t x) { return x * (x - 1) / 2; };
  if (k > u) return c3(k) + c2(u) + v;
  if (k > v) return c3(u) + c2(k) + v;
  return c3(u) + c2(v) + k;
}

// The coboundary streams of one cloud: opening one, and moving one on (see the top of the file).
template <class Source>
class Coboundaries {
 public:
  using Entry = typename Source::Entry;
  Coboundaries(const Source& source, NeighbourRows<Source>& rows) : source_(source), rows_(rows) {}

  Stream open(int32_t u, int32_t v, int32_t cofacet_vertex) const {
    return Stream{u, v, source_.view(u).to(v), cofacet_vertex, -1, -1, -1, -1, 0.0f, 0.0f};
  }

  // The stream's next cofacet's key into `key`; false when it has none left.
  template <typename Key>
  bool next(Stream& s, Key& key, Meter& meter) const {
    using Traits = KeyTraits<Key>;
    const typename Source::View du = source_.view(s.u), dv = source_.view(s.v);
    if (s.scan >= 0) {
      const int32_t k = source_.next_cofacet_within(du, dv, s.u, s.v, s.d, s.scan);
      meter.charge((s.scan - k) / 256);
      if (k >= 0) {
        s.scan = k - 1;
        key = Traits::make(diameter_bits(s.d), cofacet_index(s.u, s.v, k));
        return true;
      }
      s.scan = -1;
    }
    constexpr float kEnd = std::numeric_limits<float>::infinity();
    const bool starting = s.pu < 0;
    const std::vector<Entry>& row_u = starting ? rows_.row(s.u, meter) : rows_.sorted_row(s.u);
    const std::vector<Entry>& row_v = starting ? rows_.row(s.v, meter) : rows_.sorted_row(s.v);
    const auto end_u = static_cast<int32_t>(row_u.size()), end_v = static_cast<int32_t>(row_v.size());
    if (starting) {  // the merge starts past the distances <= d
      const auto past = [&](const std::vector<Entry>& row, const typename Source::View& d_row) {
        return static_cast<int32_t>(
            std::partition_point(row.begin(), row.end(), [&](Entry e) { return d_row.at(e) <= s.d; }) - row.begin());
      };
      s.pu = past(row_u, du);
      s.pv = past(row_v, dv);
      s.ku = s.pu < end_u ? Source::vertex(row_u[s.pu]) : -1;
      s.kv = s.pv < end_v ? Source::vertex(row_v[s.pv]) : -1;
      s.a = s.ku >= 0 ? du.at(row_u[s.pu]) : kEnd;
      s.b = s.kv >= 0 ? dv.at(row_v[s.pv]) : kEnd;
    }
    while (s.ku >= 0 || s.kv >= 0) {
      if (s.a < s.b || (s.a == s.b && s.ku > s.kv)) {  // u's row is first in the merged order
        const int32_t k = s.ku;
        const float a = s.a;
        ++s.pu;
        s.ku = s.pu < end_u ? Source::vertex(row_u[s.pu]) : -1;
        s.a = s.ku >= 0 ? du.at(row_u[s.pu]) : kEnd;
        if (dv.to(k) <= a) {  // k's later occurrence: emitted at distance D[u][k]
          key = Traits::make(diameter_bits(a), cofacet_index(s.u, s.v, k));
          return true;
        }
      } else {
        const int32_t k = s.kv;
        const float b = s.b;
        ++s.pv;
        s.kv = s.pv < end_v ? Source::vertex(row_v[s.pv]) : -1;
        s.b = s.kv >= 0 ? dv.at(row_v[s.pv]) : kEnd;
        if (du.to(k) < b) {
          key = Traits::make(diameter_bits(b), cofacet_index(s.u, s.v, k));
          return true;
        }
      }
    }
    return false;
  }

 private:
  const Source& source_;
  NeighbourRows<Source>& rows_;
};

// An item of no stream: a single entry (a column's carry, or an entry handed back from a helper's output).
constexpr uint32_t kLoose = 0xffffffffu;

// A set of coboundary streams (and loose entries) whose Z/2 sum is read in filtration order: a radix heap of their
// heads, and beside it a small binary heap for heads below the radix heap's floor (the columns added after this side
// read past the column's pivot; rebuilt into the radix heap when it grows). peek_odd finds the least entry of odd
// multiplicity, passing the cancelling ones; its copies are held out of the heaps until pop_group moves them on.
template <typename Key, class Source>
class Side {
 public:
  Side(const Coboundaries<Source>& coboundaries, ReductionGuard& guard)
      : coboundaries_(coboundaries), guard_(guard), main_(guard) {}

  size_t size() const { return main_.size() + fresh_.size() + group_.size(); }
  void clear() {
    main_.clear();
    fresh_.clear();
    group_.clear();
    held_ = false;
    streams_.clear();
  }
  // A new stream for edge {u, v} (emergent cofacet vertex `cofacet_vertex`) with its first cofacet in `head`; false
  // (and no stream) when it has none.
  bool open(int32_t u, int32_t v, int32_t cofacet_vertex, Item<Key>& head, Meter& meter) {
    Stream s = coboundaries_.open(u, v, cofacet_vertex);
    head.stream = static_cast<uint32_t>(streams_.size());
    if (!coboundaries_.next(s, head.key, meter)) return false;
    push_counted(streams_, s, guard_, Part::Working);
    return true;
  }
  // Moves the item to its stream's next cofacet; false when there is none (or it is loose).
  bool advance(Item<Key>& item, Meter& meter) {
    return item.stream != kLoose && coboundaries_.next(streams_[item.stream], item.key, meter);
  }
  void push(const Item<Key>& item) {
    if (__builtin_expect(held_, false) && item.key <= group_key_) {  // at or below the held entry: not the least now
      for (const Item<Key>& g : group_) push_fresh(g);
      group_.clear();
      held_ = false;
    }
    if (item.key < main_.floor()) {
      if (!main_.empty() || !fresh_.empty() || held_) {
        push_fresh(item);
        return;
      }
      main_.set_floor(item.key);
    }
    main_.push(item);
  }
  // The least key of odd multiplicity into `key` (entries of even multiplicity before it are moved on); false when
  // the side is empty.
  bool peek_odd(Key& key, Meter& meter) {
    while (!held_) {
      const bool has_main = !main_.empty(), has_fresh = !fresh_.empty();
      if (!has_main && !has_fresh) return false;
      const Key least_main = has_main ? main_.least() : Key(0);
      const Key least = !has_fresh  ? least_main
                        : !has_main ? fresh_.front().key
                                    : std::min(least_main, fresh_.front().key);
      if (has_main && least_main == least) main_.take_least(group_);
      while (!fresh_.empty() && fresh_.front().key == least) {
        std::pop_heap(fresh_.begin(), fresh_.end(), later);
        group_.push_back(fresh_.back());
        fresh_.pop_back();
      }
      group_key_ = least;
      held_ = true;
      if (group_.size() % 2 == 0) pop_group(meter);
    }
    key = group_key_;
    return true;
  }
  // The least key of odd multiplicity into `key`, every entry up to it moved on (the side's reading when nothing else
  // is merged with it: peek_odd and pop_group in one, without holding); false when the side is empty.
  bool pop_odd(Key& key, Meter& meter) {
    if (held_) {
      key = group_key_;
      pop_group(meter);
      return true;
    }
    for (;;) {
      const bool has_main = !main_.empty(), has_fresh = !fresh_.empty();
      if (!has_main && !has_fresh) return false;
      const Key least_main = has_main ? main_.least() : Key(0);
      const Key least = !has_fresh  ? least_main
                        : !has_main ? fresh_.front().key
                                    : std::min(least_main, fresh_.front().key);
      moving_.clear();
      if (has_main && least_main == least) main_.take_least(moving_);
      while (!fresh_.empty() && fresh_.front().key == least) {
        std::pop_heap(fresh_.begin(), fresh_.end(), later);
        moving_.push_back(fresh_.back());
        fresh_.pop_back();
      }
      const size_t copies = moving_.size();
      meter.charge(static_cast<int64_t>(copies));
      for (Item<Key>& item : moving_) {
        if (!advance(item, meter)) continue;
        if (item.key >= main_.floor()) {
          main_.push(item);
        } else {
          push(item);
        }
      }
      if (copies % 2 == 1) {
        key = least;
        return true;
      }
    }
  }
  // Moves the held entries (peek_odd's) on to their streams' next cofacets.
  void pop_group(Meter& meter) {
    moving_.swap(group_);
    group_.clear();
    held_ = false;
    meter.charge(static_cast<int64_t>(moving_.size()));
    for (Item<Key>& item : moving_) {
      if (!advance(item, meter)) continue;
      if (item.key >= main_.floor()) {  // push(item) with nothing held, the common case first
        main_.push(item);
      } else {
        push(item);
      }
    }
    moving_.clear();
  }
  // Appends every item to `items` and its stream to `streams` (the item's stream renumbered), and empties the side.
  void drain(std::vector<Item<Key>>& items, std::vector<Stream>& streams) {
    const size_t first = items.size();
    main_.drain(items);
    items.insert(items.end(), fresh_.begin(), fresh_.end());
    items.insert(items.end(), group_.begin(), group_.end());
    for (size_t i = first; i < items.size(); ++i) {
      if (items[i].stream == kLoose) continue;
      streams.push_back(streams_[items[i].stream]);
      items[i].stream = static_cast<uint32_t>(streams.size() - 1);
    }
    clear();
  }
  // Moves the binary heap's items into the radix heap, lowering its floor to their least key.
  void rebuild() {
    if (fresh_.empty()) return;
    moving_.clear();
    main_.drain(moving_);
    moving_.insert(moving_.end(), fresh_.begin(), fresh_.end());
    fresh_.clear();
    Key least = moving_[0].key;
    for (const Item<Key>& item : moving_) least = std::min(least, item.key);
    main_.set_floor(least);
    for (const Item<Key>& item : moving_) main_.push(item);
    moving_.clear();
  }
  // Adds items whose streams are `streams` (as drain left them).
  void load(const std::vector<Item<Key>>& items, const std::vector<Stream>& streams) {
    const auto base = static_cast<uint32_t>(streams_.size());
    for (const Stream& s : streams) push_counted(streams_, s, guard_, Part::Working);
    for (Item<Key> item : items) {
      if (item.stream != kLoose) item.stream += base;
      push(item);
    }
  }

 private:
  static bool later(const Item<Key>& a, const Item<Key>& b) { return a.key > b.key; }
  void push_fresh(const Item<Key>& item) {
    push_counted(fresh_, item, guard_, Part::Working);
    std::push_heap(fresh_.begin(), fresh_.end(), later);
    if (fresh_.size() >= 64 && fresh_.size() * 8 >= main_.size()) rebuild();
  }

  const Coboundaries<Source>& coboundaries_;
  ReductionGuard& guard_;
  RadixHeap<Key> main_;
  std::vector<Item<Key>> fresh_;  // binary heap, least on top
  std::vector<Item<Key>> group_, moving_;
  Key group_key_ = 0;
  bool held_ = false;
  std::vector<Stream> streams_;
};

// Where a thread that has no column to reduce joins a long column as its helper. The column's thread (the owner)
// hands it half of the column's streams; the helper merges them and writes the entries of odd multiplicity, in
// filtration order, to a ring, which the owner merges with its own half (cancelling entries that both halves hold),
// with the column's carry and with the columns it adds meanwhile (handed to the helper in batches). Commands (load
// streams, unload them all, finish) carry a sequence number and are acknowledged; the ring has one writer and one
// reader. A helper that fails records the exception and waits for the owner to finish it.
template <typename Key>
struct HelpDesk {
  enum Command : int { kLoad = 1, kUnload = 2, kFinish = 3 };
  static constexpr uint64_t kRing = 1024;
  static constexpr uint64_t kPublish = 32;  // ring positions are published every so many entries
  std::atomic<bool> joined{false};
  std::atomic<uint64_t> command{0};    // sequence << 8 | Command
  std::atomic<uint64_t> acked{0};      // the last sequence the helper completed
  std::atomic<uint64_t> head{0};       // ring entries the owner has read
  std::atomic<uint64_t> tail{0};       // ring entries the helper has written
  std::atomic<bool> exhausted{false};  // the helper has nothing left beyond the ring
  std::atomic<size_t> helper_size{0};
  std::atomic<bool> failed{false};
  std::exception_ptr failure;
  std::vector<Item<Key>> items;  // what a command hands over, with
  std::vector<Stream> streams;
  Key ring[kRing];
};

// Waits a moment in a spin loop, letting the core go now and then.
inline void pause_briefly(int& spins) {
  if (++spins % 64 == 0) {
    std::this_thread::yield();
  } else {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
}

// The threads of one reduction that may help: a long column posts its desk here, an idle thread takes it.
template <typename Key>
struct HelperPool {
  std::atomic<HelpDesk<Key>*> request{nullptr};
};

// A column under reduction: the Z/2 sum of coboundary streams and of its carry (the pivot it reached, which the column
// added next cancels), read through a Side; on several threads, a long column splits its streams with a helper.
template <typename Key, class Source>
class WorkingColumn {
 public:
  using Traits = KeyTraits<Key>;
  // Columns with at least this many streams in play ask for a helper; the columns they add go to the helper in
  // batches of kHandOver.
  static constexpr size_t kSplitStreams = 2048;
  static constexpr size_t kHandOver = 64;
  // The helper holds up to this many streams for each one the owner holds: the owner also merges the helper's
  // entries into its own and finds the columns to add.
  static constexpr size_t kHelperShare = 3;
  // When, after kTrialSeconds together, the owner has waited for its helper more than kMostWaiting of the time, the
  // helper's core is taken by other work (a shared machine): the column goes on alone.
  static constexpr double kTrialSeconds = 0.02;
  static constexpr double kMostWaiting = 0.3;

  WorkingColumn(const Source& source, NeighbourRows<Source>& rows, ReductionGuard& guard)
      : coboundaries_(source, rows), guard_(guard), side_(coboundaries_, guard), added_(coboundaries_, guard) {}
  // The meter of the thread that works on the column from now on.
  void bind(Meter& meter) { meter_ = &meter; }
  // Where the column may find a helper while it is reduced (nullptr: nowhere).
  void offer_help(HelperPool<Key>* pool) { pool_ = pool; }
  // Starts the column as the coboundary of edge {u, v} (u > v) with emergent cofacet vertex `cofacet_vertex`.
  void start(int32_t u, int32_t v, int32_t cofacet_vertex) {
    declined_ = false;
    side_.clear();
    added_.clear();
    added_since_ = 0;
    carry_ = false;
    Item<Key> head;
    if (side_.open(u, v, cofacet_vertex, head, *meter_)) side_.push(head);
  }
  // Adds the coboundary of one column whose pivot is the column's current pivot.
  void add(int32_t u, int32_t v, int32_t cofacet_vertex) {
    Side<Key, Source>& to = receiving();
    Item<Key> head;
    if (to.open(u, v, cofacet_vertex, head, *meter_)) to.push(head);
    hand_over();
  }
  // Adds the sum of the coboundaries of column `own` and the columns `absorbed`, whose earliest entry is the column's
  // current pivot `pivot`: their entries before it cancel each other and are merged away first, in a small heap of
  // their own.
  void add_sum(Packed own, const std::vector<Packed>& absorbed, const Simplex& pivot) {
    const Key bound = Traits::make(diameter_bits(pivot.diameter), pivot.index);
    Side<Key, Source>& to = receiving();
    local_.clear();
    for (size_t i = 0; i <= absorbed.size(); ++i) {
      int32_t u, v, k;
      unpack(i == 0 ? own : absorbed[i - 1], u, v, k);
      Item<Key> head;
      if (to.open(u, v, k, head, *meter_)) local_.push_back(head);
    }
    const auto later = [](const Item<Key>& a, const Item<Key>& b) { return a.key > b.key; };
    std::make_heap(local_.begin(), local_.end(), later);
    while (!local_.empty() && local_.front().key < bound) {
      std::pop_heap(local_.begin(), local_.end(), later);
      Item<Key>& item = local_.back();
      if (to.advance(item, *meter_)) {
        std::push_heap(local_.begin(), local_.end(), later);
      } else {
        local_.pop_back();
      }
      meter_->charge(1);
    }
    for (const Item<Key>& item : local_) to.push(item);
    hand_over();
  }
  // The earliest simplex of odd multiplicity; it stays in the column as its carry, so that a column added next with
  // the same pivot cancels it. False when the column is zero.
  bool pivot(Simplex& out) {
    if (pool_ != nullptr) seek_help();
    if (!helper_) {  // alone: the carry is an entry of the side, which the next column's head cancels
      Key least = 0;
      if (carry_) {
        side_.push(Item<Key>{carry_key_, kLoose});
        carry_ = false;
      }
      if (!side_.pop_odd(least, *meter_)) return false;
      side_.push(Item<Key>{least, kLoose});
      out = Traits::simplex(least);
      return true;
    }
    for (;;) {
      Key own = 0, added = 0, helped = 0;
      const bool has_own = side_.peek_odd(own, *meter_);
      const bool has_added = helper_ && added_.peek_odd(added, *meter_);
      const bool has_helped = helper_ && peek_ring(helped);
      if (!has_own && !has_added && !has_helped && !carry_) return false;
      Key least = carry_ ? carry_key_ : ~Key(0);
      if (has_own) least = std::min(least, own);
      if (has_added) least = std::min(least, added);
      if (has_helped) least = std::min(least, helped);
      int copies = 0;
      if (has_own && own == least) {
        side_.pop_group(*meter_);
        ++copies;
      }
      if (has_added && added == least) {
        added_.pop_group(*meter_);
        ++copies;
      }
      if (has_helped && helped == least) {
        consume_ring();
        ++copies;
      }
      if (carry_ && carry_key_ == least) {
        carry_ = false;
        ++copies;
      }
      if (copies % 2 == 1) {
        carry_ = true;
        carry_key_ = least;
        out = Traits::simplex(least);
        return true;
      }
    }
  }
  // Ends the column's time with a helper, if it had one: takes back the helper's streams and lets it go, or
  // withdraws the request for one. The column can be reduced on afterwards by this thread alone.
  void finish_help() {
    if (asked_) {
      HelpDesk<Key>* expected = &desk_;
      asked_ = false;
      if (!pool_->request.compare_exchange_strong(expected, nullptr)) {  // taken meanwhile: wait for its helper
        int spins = 0;
        while (!desk_.joined.load(std::memory_order_acquire)) pause_briefly(spins);
        helper_ = true;
      }
    }
    if (!helper_) return;
    command(HelpDesk<Key>::kUnload);
    side_.load(desk_.items, desk_.streams);
    take_back_added();
    command(HelpDesk<Key>::kFinish);
    helper_ = false;
  }
  // After a failure: lets a helper go without taking its streams back (the column is not read again).
  void abandon_help() noexcept {
    try {
      if (asked_) {
        HelpDesk<Key>* expected = &desk_;
        asked_ = false;
        if (!pool_->request.compare_exchange_strong(expected, nullptr)) {
          int spins = 0;
          while (!desk_.joined.load(std::memory_order_acquire)) pause_briefly(spins);
          helper_ = true;
        }
      }
      if (helper_) {
        helper_ = false;
        const uint64_t sequence = ++sequence_;
        desk_.command.store(sequence << 8 | HelpDesk<Key>::kFinish, std::memory_order_release);
        int spins = 0;
        while (desk_.acked.load(std::memory_order_acquire) != sequence) pause_briefly(spins);
      }
    } catch (...) {
    }
  }

  // Serves as the helper of the column whose desk is `desk`, with this (idle) working column's side, until finished.
  // What it writes is the odd entries of its side's sum and of `replay`: entries it wrote to the ring that the owner
  // had not read when it handed over more streams (they stay in filtration order, so they are merged back rather than
  // pushed below the side's floor).
  void serve(HelpDesk<Key>& desk, Meter& meter) {
    side_.clear();
    replay_.clear();
    size_t replayed = 0;
    uint64_t seen = desk.command.load(std::memory_order_acquire) >> 8, tail = desk.tail.load();
    uint64_t known_head = desk.head.load();
    bool pending = false, told_exhausted = false;
    Key pending_key = 0;
    desk.joined.store(true, std::memory_order_release);
    int spins = 0;
    for (;;) {
      const uint64_t word = desk.command.load(std::memory_order_acquire);
      if ((word >> 8) != seen) {
        seen = word >> 8;
        const int order = static_cast<int>(word & 0xff);
        if (order == HelpDesk<Key>::kFinish) {
          side_.clear();
          replay_.clear();
          desk.acked.store(seen, std::memory_order_release);
          return;
        }
        try {
          // What is written but unread, one entry waiting for room and the rest of the replay, in that order.
          next_replay_.clear();
          for (uint64_t h = desk.head.load(std::memory_order_acquire); h < tail; ++h)
            next_replay_.push_back(desk.ring[h % HelpDesk<Key>::kRing]);
          if (pending) next_replay_.push_back(pending_key);
          next_replay_.insert(next_replay_.end(), replay_.begin() + static_cast<std::ptrdiff_t>(replayed),
                              replay_.end());
          replay_.swap(next_replay_);
          replayed = 0;
          pending = false;
          tail = known_head = desk.head.load(std::memory_order_acquire);
          desk.tail.store(tail, std::memory_order_release);
          if (order == HelpDesk<Key>::kLoad) {
            side_.load(desk.items, desk.streams);
            desk.exhausted.store(false, std::memory_order_release);
            told_exhausted = false;
          } else {
            desk.items.clear();
            desk.streams.clear();
            side_.drain(desk.items, desk.streams);
            for (const Key key : replay_) desk.items.push_back(Item<Key>{key, kLoose});
            replay_.clear();
          }
          desk.helper_size.store(side_.size(), std::memory_order_relaxed);
        } catch (...) {
          desk.failure = std::current_exception();
          desk.failed.store(true, std::memory_order_release);
        }
        desk.acked.store(seen, std::memory_order_release);
        continue;
      }
      if (desk.failed.load(std::memory_order_relaxed)) {  // wait to be finished
        pause_briefly(spins);
        continue;
      }
      try {
        if (!pending) {
          Key own = 0;
          const bool has_own = side_.peek_odd(own, meter);
          const bool has_replay = replayed < replay_.size();
          if (has_own || has_replay) {
            const Key least = !has_replay ? own : !has_own ? replay_[replayed] : std::min(own, replay_[replayed]);
            int copies = 0;
            if (has_own && own == least) {
              side_.pop_group(meter);
              ++copies;
            }
            if (has_replay && replay_[replayed] == least) {
              ++replayed;
              ++copies;
            }
            if (copies % 2 == 1) {
              pending = true;
              pending_key = least;
            }
          } else if (!told_exhausted) {
            desk.tail.store(tail, std::memory_order_release);
            desk.exhausted.store(true, std::memory_order_release);
            told_exhausted = true;
          } else {
            pause_briefly(spins);
          }
        }
        if (pending) {
          if (tail - known_head >= HelpDesk<Key>::kRing) known_head = desk.head.load(std::memory_order_acquire);
          if (tail - known_head < HelpDesk<Key>::kRing) {
            desk.ring[tail % HelpDesk<Key>::kRing] = pending_key;
            if (++tail % HelpDesk<Key>::kPublish == 0) desk.tail.store(tail, std::memory_order_release);
            pending = false;
          } else {
            desk.tail.store(tail, std::memory_order_release);  // full: all written is visible
            pause_briefly(spins);
          }
        }
      } catch (...) {
        desk.failure = std::current_exception();
        desk.failed.store(true, std::memory_order_release);
      }
    }
  }

 private:
  // Asks for a helper once the column has many streams in play, and splits with one that has joined.
  void seek_help() {
    if (helper_ || declined_) return;
    if (!asked_ && side_.size() >= kSplitStreams) {
      desk_.joined.store(false, std::memory_order_relaxed);
      desk_.failed.store(false, std::memory_order_relaxed);
      desk_.failure = nullptr;
      desk_.exhausted.store(false, std::memory_order_relaxed);
      head_ = desk_.head.load();
      known_tail_ = head_;
      desk_.tail.store(head_, std::memory_order_relaxed);
      HelpDesk<Key>* expected = nullptr;
      asked_ = pool_->request.compare_exchange_strong(expected, &desk_, std::memory_order_release);
      return;
    }
    if (asked_ && desk_.joined.load(std::memory_order_acquire)) {
      asked_ = false;
      helper_ = true;
      waited_ = 0.0;
      split_start_ = std::chrono::steady_clock::now();
      // Every other item goes to the helper.
      drained_.clear();
      drained_streams_.clear();
      side_.drain(drained_, drained_streams_);
      desk_.items.clear();
      desk_.streams.clear();
      keep_.clear();
      for (size_t i = 0; i < drained_.size(); ++i) {
        Item<Key> item = drained_[i];
        if (i % (kHelperShare + 1) == kHelperShare) {
          keep_.push_back(item);
          continue;
        }
        if (item.stream != kLoose) {
          desk_.streams.push_back(drained_streams_[item.stream]);
          item.stream = static_cast<uint32_t>(desk_.streams.size() - 1);
        }
        desk_.items.push_back(item);
      }
      side_.load(keep_, drained_streams_);
      command(HelpDesk<Key>::kLoad);
    }
  }
  // Where the columns added go: while a helper works, a side of their own, handed over in batches.
  Side<Key, Source>& receiving() {
    if (!helper_) return side_;
    ++added_since_;
    return added_;
  }
  // Every kHandOver columns added, hands them to the helper, or keeps them: the helper takes them while its ring
  // fills faster than the owner reads it (the owner is the slower), and otherwise while it holds no more than
  // kHelperShare streams for each of the owner's; the owner keeps them when it had to wait for the helper.
  void hand_over() {
    if (!helper_ || added_since_ < kHandOver) return;
    const double split_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - split_start_).count();
    if (split_seconds > kTrialSeconds && waited_ > kMostWaiting * split_seconds) {
      // The helper does not keep up (its core is busy with other work): go on alone.
      finish_help();
      declined_ = true;
      return;
    }
    const bool helper_ahead = known_tail_ - head_ >= HelpDesk<Key>::kRing / 2;
    const bool helper_behind = helper_behind_;
    helper_behind_ = false;
    if (!helper_ahead &&
        (helper_behind || desk_.helper_size.load(std::memory_order_relaxed) > kHelperShare * side_.size())) {
      take_back_added();
      return;
    }
    added_since_ = 0;
    desk_.items.clear();
    desk_.streams.clear();
    added_.drain(desk_.items, desk_.streams);
    command(HelpDesk<Key>::kLoad);
  }
  // Moves the columns added since the last hand-over to this side.
  void take_back_added() {
    added_since_ = 0;
    drained_.clear();
    drained_streams_.clear();
    added_.drain(drained_, drained_streams_);
    side_.load(drained_, drained_streams_);
  }
  // The helper's next entry into `key`; false when it has none left. Waits for it while the helper works.
  // (The helper's position is re-read only when the entries known to be written are used up, and the owner's
  // published only every kPublish entries or before it waits, so that the two cores pass the cache lines of the two
  // positions back and forth rarely.)
  bool peek_ring(Key& key) {
    int spins = 0;
    WaitClock wait(*this);
    for (;;) {
      if (head_ < known_tail_) {
        key = desk_.ring[head_ % HelpDesk<Key>::kRing];
        return true;
      }
      known_tail_ = desk_.tail.load(std::memory_order_acquire);
      if (head_ < known_tail_) continue;
      desk_.head.store(head_, std::memory_order_release);  // all read: let the helper fill the ring
      if (desk_.exhausted.load(std::memory_order_acquire)) {
        known_tail_ = desk_.tail.load(std::memory_order_acquire);
        if (head_ < known_tail_) continue;
        return false;
      }
      check_helper();
      helper_behind_ = true;
      wait.spinning();
      pause_briefly(spins);
    }
  }
  void consume_ring() {
    if (++head_ % HelpDesk<Key>::kPublish == 0) desk_.head.store(head_, std::memory_order_release);
  }
  // Gives the helper a command and waits until it is done.
  void command(typename HelpDesk<Key>::Command order) {
    WaitClock wait(*this);
    desk_.head.store(head_, std::memory_order_release);
    const uint64_t sequence = ++sequence_;
    desk_.command.store(sequence << 8 | order, std::memory_order_release);
    int spins = 0;
    while (desk_.acked.load(std::memory_order_acquire) != sequence) {
      wait.spinning();
      pause_briefly(spins);
    }
    known_tail_ = desk_.tail.load(std::memory_order_acquire);
    check_helper();
  }
  // Counts the time the owner waits for its helper, from the first spin on (reading the clock costs more than a
  // wait that ends at once, so a wait is timed only when it spins).
  class WaitClock {
   public:
    explicit WaitClock(WorkingColumn& column) : column_(column) {}
    ~WaitClock() {
      if (timing_) column_.waited_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }
    void spinning() {
      if (!timing_) {
        timing_ = true;
        start_ = std::chrono::steady_clock::now();
      }
    }

   private:
    WorkingColumn& column_;
    bool timing_ = false;
    std::chrono::steady_clock::time_point start_;
  };
  void check_helper() {
    if (desk_.failed.load(std::memory_order_acquire)) std::rethrow_exception(desk_.failure);
  }

  Coboundaries<Source> coboundaries_;
  ReductionGuard& guard_;
  Meter* meter_ = nullptr;
  Side<Key, Source> side_, added_;  // added_: the columns added since the last hand-over, while a helper works
  size_t added_since_ = 0;
  bool carry_ = false;
  Key carry_key_ = 0;
  std::vector<Item<Key>> local_, drained_, keep_;
  std::vector<Key> replay_, next_replay_;  // serve(): entries written and handed back, to merge in again
  std::vector<Stream> drained_streams_;
  HelperPool<Key>* pool_ = nullptr;
  bool asked_ = false, helper_ = false, helper_behind_ = false, declined_ = false;
  double waited_ = 0.0;  // seconds the owner waited for its helper since they split
  std::chrono::steady_clock::time_point split_start_;
  uint64_t sequence_ = 0, head_ = 0, known_tail_ = 0;
  HelpDesk<Key> desk_;
};

// Keeps the entries that occur an odd number of times.
void cancel_pairs(std::vector<Packed>& entries) {
  std::sort(entries.begin(), entries.end());
  size_t out = 0;
  for (size_t i = 0; i < entries.size();) {
    size_t j = i;
    while (j < entries.size() && entries[j] == entries[i]) ++j;
    if ((j - i) % 2 == 1) entries[out++] = entries[i];
    i = j;
  }
  entries.resize(out);
}

// The owner of a pivot: a listed column, an apparent pair's edge (not listed, or listed and skipped), or none.
struct Owner {
  PivotTable::Claim claim;  // claim.column >= 0: that column
  bool apparent = false;
  int32_t u = -1, v = -1, cofacet_vertex = -1;  // the apparent pair's edge and triangle's third vertex
};

// What reducing a column gave, before it is settled in the column order.
struct Outcome {
  enum Kind { kApparent, kEmergent, kPivot, kZero } kind = kApparent;
  Simplex pivot{};            // kEmergent: the emergent triangle; kPivot: the pivot (the working column's carry)
  std::vector<Packed> added;  // kPivot: the columns added, with repeats
};

// The reduction of one cloud's columns in the order given, with what carries from column to column: the column
// that claimed each pivot, and for the columns that absorbed others the list of those (V).
//
// A column is reduced (reduce_column) against the pivots claimed so far, writing nothing shared, then settled in the
// column order (settle): it claims its pivot, after continuing its reduction if a column settled in between claimed
// it. Reducing a column right before settling it is the standard left-to-right reduction. On several threads, blocks
// of columns are reduced in parallel against the claims of the blocks before, then settled in order by one thread;
// the pivot a column reaches differs from the standard reduction's only where a column of its own block claimed it,
// and settling continues from there. Any reduction that adds only earlier columns to later ones gives the same
// pivots, so the pairs, essential bars and critical edges are those of one thread.
template <typename Key, class Source>
class ColumnReduction {
 public:
  ColumnReduction(const Source& source, float threshold, const kernels::H1Column* columns, int64_t column_count,
                  ReductionGuard& guard)
      : source_(source),
        n_(source.points()),
        columns_(columns),
        guard_(guard),
        claimants_(count_unapparent(columns, column_count)),
        rows_(source, threshold),
        pivots_(claimants_, guard),
        v_lists_(new std::vector<Packed>[claimants_ + 1]) {}

  std::unique_ptr<WorkingColumn<Key, Source>> new_working_column() {
    return std::make_unique<WorkingColumn<Key, Source>>(source_, rows_, guard_);
  }

  // Reduces column c with `working` (bound to this thread's meter) against the pivots claimed so far, and says in
  // `out` what it gave: nothing for an apparent pair; for an emergent pair whose triangle is unclaimed, that triangle;
  // otherwise the first unclaimed pivot the reduction reached (the working column keeps its state), or zero.
  void reduce_column(int32_t c, WorkingColumn<Key, Source>& working, Outcome& out) const {
    const kernels::H1Column& column = columns_[c];
    out.added.clear();
    if (column.apparent) {
      out.kind = Outcome::kApparent;
      return;
    }
    if (column.cofacet_vertex >= 0) {
      const int64_t emergent = kernels::triangle_with(column.edge, column.cofacet_vertex);
      if (!claimed(emergent, column.diameter)) {
        out.kind = Outcome::kEmergent;
        out.pivot = Simplex{column.diameter, emergent};
        return;
      }
    }
    working.start(column.edge.u, column.edge.v, column.cofacet_vertex);
    Simplex pivot{};
    const bool has_pivot = reduce_while_owned(working, out, pivot, working.pivot(pivot));
    working.finish_help();
    out.kind = has_pivot ? Outcome::kPivot : Outcome::kZero;
    out.pivot = pivot;
  }

  // Settles column c after every column before it, from its reduce_column outcome: it claims its pivot (continuing
  // the reduction while a column settled since claimed it) and adds to `diagram` an essential bar when it reduced to
  // zero, its pair when the pivot triangle is longer than the edge. One thread at a time settles.
  void settle(int32_t c, WorkingColumn<Key, Source>& working, Outcome& out, Diagram& diagram) {
    const kernels::H1Column& column = columns_[c];
    if (out.kind == Outcome::kApparent) return;
    if (out.kind == Outcome::kEmergent) {
      if (!claimed(out.pivot.index, out.pivot.diameter)) {
        pivots_.insert(out.pivot.index, PivotTable::Claim{c, -1});
        return;
      }
      reduce_column(c, working, out);  // claimed by a column settled since: reduce it now
    }
    if (out.kind == Outcome::kPivot && pivots_.find(out.pivot.index).column >= 0) {
      Simplex pivot = out.pivot;
      const bool has_pivot = reduce_while_owned(working, out, pivot, true);
      working.finish_help();
      out.kind = has_pivot ? Outcome::kPivot : Outcome::kZero;
      out.pivot = pivot;
    }
    if (out.kind == Outcome::kZero) {
      diagram.essential.push_back(EssentialBar{column.diameter, column.edge});
      return;
    }
    cancel_pairs(out.added);
    PivotTable::Claim claim{c, -1};
    if (!out.added.empty()) {
      guard_.hold(Part::Absorbed, static_cast<int64_t>(out.added.size() * sizeof(Packed) + sizeof(out.added)));
      claim.v_slot = v_count_++;
      v_lists_[static_cast<size_t>(claim.v_slot)] = out.added;  // published with the claim
    }
    pivots_.insert(out.pivot.index, claim);
    if (out.pivot.diameter > column.diameter) diagram.pairs.push_back(pair_of(column, out.pivot));
  }

 private:
  static size_t count_unapparent(const kernels::H1Column* columns, int64_t column_count) {
    return static_cast<size_t>(std::count_if(columns, columns + column_count,
                                             [](const kernels::H1Column& column) { return !column.apparent; }));
  }

  // The apparent pair that owns triangle `index` (diameter d), if any: the triangle's latest facet e, when the
  // triangle is e's earliest cofacet (no larger third vertex gives a cofacet of e's own diameter).
  bool apparent_owner(int64_t index, float d, Owner& owner) const {
    int32_t a, b, c;
    triangle_vertices(index, a, b, c);
    const kernels::Edge e = source_.max_facet(a, b, c);
    const int32_t third = a + b + c - e.u - e.v;
    if (n_ - 1 > third &&
        source_.next_cofacet_within(source_.view(e.u), source_.view(e.v), e.u, e.v, d, n_ - 1) > third)
      return false;
    owner.apparent = true;
    owner.u = e.u;
    owner.v = e.v;
    owner.cofacet_vertex = third;
    return true;
  }
  bool claimed(int64_t index, float d) const {
    Owner owner;
    return pivots_.find(index).column >= 0 || apparent_owner(index, d, owner);
  }
  Owner owner_of(const Simplex& pivot) const {
    Owner owner;
    owner.claim = pivots_.find(pivot.index);
    if (owner.claim.column < 0) apparent_owner(pivot.index, pivot.diameter, owner);
    return owner;
  }

  // From the working column's pivot (when has_pivot), adds the reduced column that owns it until the pivot is
  // unowned (true, `pivot` set) or the column is zero (false); out.added lists the columns added, with repeats.
  bool reduce_while_owned(WorkingColumn<Key, Source>& working, Outcome& out, Simplex& pivot, bool has_pivot) const {
    while (has_pivot) {
      const Owner owner = owner_of(pivot);
      if (owner.claim.column >= 0) {
        const kernels::H1Column& column = columns_[owner.claim.column];
        const Packed own = pack(column.edge.u, column.edge.v, column.cofacet_vertex);
        push_counted(out.added, own, guard_, Part::Working);
        if (owner.claim.v_slot < 0) {
          working.add(column.edge.u, column.edge.v, column.cofacet_vertex);
        } else {
          const std::vector<Packed>& absorbed = v_lists_[static_cast<size_t>(owner.claim.v_slot)];
          for (Packed p : absorbed) push_counted(out.added, p, guard_, Part::Working);
          working.add_sum(own, absorbed, pivot);
        }
      } else if (owner.apparent) {
        push_counted(out.added, pack(owner.u, owner.v, owner.cofacet_vertex), guard_, Part::Working);
        working.add(owner.u, owner.v, owner.cofacet_vertex);
      } else {
        return true;
      }
      has_pivot = working.pivot(pivot);
    }
    return false;
  }

  // The pair of a column with its pivot triangle, which dies at the triangle's longest edge.
  PersistencePair pair_of(const kernels::H1Column& column, const Simplex& pivot) const {
    int32_t a, b, k;
    triangle_vertices(pivot.index, a, b, k);
    return PersistencePair{column.diameter, pivot.diameter, column.edge, source_.max_facet(a, b, k)};
  }

  const Source& source_;
  int32_t n_;
  const kernels::H1Column* columns_;
  ReductionGuard& guard_;
  size_t claimants_;
  mutable NeighbourRows<Source> rows_;
  PivotTable pivots_;
  // V: the columns a column absorbed (itself implied), by claim.v_slot; each written once, before its claim.
  std::unique_ptr<std::vector<Packed>[]> v_lists_;
  int32_t v_count_ = 0;
};

// Columns reduced ahead of the first unsettled one, at most, on several threads.
constexpr int64_t kWindowColumns = 64;

// Reduces the columns in order on `threads` threads, adding their pairs and essential bars to `diagram` (latest birth
// first). On several threads, each takes the next column (within kWindowColumns of the first unsettled one) and
// reduces it against the claims settled so far; whichever thread is free settles the reduced columns in order. So
// the threads never wait for each other but for room in the window, and a column's reduction misses only the
// claims of the few columns reduced at the same time (settling then continues it).
template <typename Key, class Source>
void reduce_columns(const Source& source, float threshold, const kernels::H1Column* columns, int64_t column_count,
                    ReductionGuard& guard, int threads, Diagram& diagram) {
  guard.checkpoint();  // the stages before may have used up the time
  ColumnReduction<Key, Source> reduction(source, threshold, columns, column_count, guard);
  std::vector<int32_t> order;  // the columns to reduce: those that are not apparent pairs
  order.reserve(static_cast<size_t>(column_count));
  for (int32_t c = 0; c < static_cast<int32_t>(column_count); ++c)
    if (!columns[c].apparent) order.push_back(c);
  const auto count = static_cast<int64_t>(order.size());
  if (threads < 2) {
    Meter meter(guard);
    const std::unique_ptr<WorkingColumn<Key, Source>> working = reduction.new_working_column();
    working->bind(meter);
    Outcome outcome;
    for (int32_t c : order) {
      guard.at_column(c);
      meter.charge(1);
      reduction.reduce_column(c, *working, outcome);
      reduction.settle(c, *working, outcome, diagram);
    }
    return;
  }
  // Slot i % kWindowColumns holds column order[i] from its reduction to its settling; ready[slot] == i once reduced.
  std::vector<std::unique_ptr<WorkingColumn<Key, Source>>> working(kWindowColumns);
  for (auto& w : working) w = reduction.new_working_column();
  std::vector<Outcome> outcomes(kWindowColumns);
  std::unique_ptr<std::atomic<int64_t>[]> ready(new std::atomic<int64_t>[kWindowColumns]);
  for (int64_t slot = 0; slot < kWindowColumns; ++slot) ready[slot].store(-1);
  std::atomic<int64_t> next{0}, settled{0};
  std::atomic<bool> failed{false};
  std::mutex settling, failure_mutex;
  std::exception_ptr failure;
  HelperPool<Key> helpers;
  const auto record = [&](std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(failure_mutex);
    if (!failure) failure = e;
    failed.store(true);
  };
  const auto head_ready = [&](int64_t i) {
    return i < count && ready[i % kWindowColumns].load(std::memory_order_acquire) == i;
  };
#pragma omp parallel num_threads(threads)
  {
    Meter meter(guard);
    const std::unique_ptr<WorkingColumn<Key, Source>> spare = reduction.new_working_column();  // to serve as a helper
    // Settles the reduced columns at the head, unless another thread is settling; checks again after letting go,
    // so that no column reduced meanwhile waits for a settler.
    const auto settle_ready = [&] {
      for (;;) {
        std::unique_lock<std::mutex> lock(settling, std::try_to_lock);
        if (!lock.owns_lock()) return;
        int64_t i = settled.load(std::memory_order_relaxed);
        while (!failed.load(std::memory_order_relaxed) && head_ready(i)) {
          try {
            const int32_t c = order[static_cast<size_t>(i)];
            WorkingColumn<Key, Source>& w = *working[static_cast<size_t>(i % kWindowColumns)];
            w.bind(meter);
            w.offer_help(&helpers);
            guard.at_column(c);
            try {
              reduction.settle(c, w, outcomes[static_cast<size_t>(i % kWindowColumns)], diagram);
            } catch (...) {
              w.abandon_help();
              throw;
            }
            w.offer_help(nullptr);
          } catch (...) {
            record(std::current_exception());  // exceptions must not leave an OpenMP region
          }
          settled.store(++i, std::memory_order_release);
        }
        lock.unlock();
        if (failed.load() || !head_ready(i)) return;
      }
    };
    // With nothing to reduce: settles, or helps a long column, or lets the core go.
    const auto idle = [&] {
      settle_ready();
      HelpDesk<Key>* desk = helpers.request.exchange(nullptr, std::memory_order_acq_rel);
      if (desk != nullptr) {
        spare->serve(*desk, meter);
      } else {
        std::this_thread::yield();
      }
    };
    while (!failed.load(std::memory_order_relaxed)) {
      int64_t i = next.load(std::memory_order_relaxed);
      if (i >= count) {
        if (settled.load(std::memory_order_acquire) >= count) break;
        idle();
        continue;
      }
      if (i >= settled.load(std::memory_order_acquire) + kWindowColumns) {  // no room: the head is still reduced
        idle();
        continue;
      }
      if (!next.compare_exchange_weak(i, i + 1, std::memory_order_relaxed)) continue;
      const size_t slot = static_cast<size_t>(i % kWindowColumns);
      WorkingColumn<Key, Source>& w = *working[slot];
      try {
        w.bind(meter);
        w.offer_help(&helpers);
        meter.charge(1);
        reduction.reduce_column(order[static_cast<size_t>(i)], w, outcomes[slot]);
      } catch (...) {
        w.abandon_help();
        record(std::current_exception());
      }
      w.offer_help(nullptr);
      ready[slot].store(i, std::memory_order_release);
      settle_ready();
    }
    // A request posted after the last idle look is withdrawn by its column (finish_help or abandon_help).
  }
  if (failure) std::rethrow_exception(failure);
}

// Whether edge {u, v} (length d) is the latest facet of triangle {u, v, k}, whose other edges have lengths du_k,
// dv_k <= d: among its longest edges, the one of smallest index (kernels::is_apparent, from the rows of u and v
// alone, which the listing has in cache).
bool latest_facet(int32_t u, int32_t v, int32_t k, float d, float du_k, float dv_k) {
  const int64_t index = kernels::edge_index(u, v);
  return (du_k < d || index < kernels::edge_index(u, k)) && (dv_k < d || index < kernels::edge_index(v, k));
}

// How list_columns ended: every column listed, or stopped by a limit, with the columns listed by then and, for the
// memory limit, the run's bytes when it tripped.
struct Listing {
  enum Stop { kComplete, kTime, kMemory };
  Stop stop = kComplete;
  int64_t columns = 0;
  int64_t held_bytes = 0;
};

// The columns of one cloud's reduction that are not apparent pairs, latest first: the edges within the threshold
// outside the spanning forest, each scanned for its emergent cofacet in the order of their indices (so row u of the
// matrix stays in cache while its edges are scanned), the few kept then sorted. Chunks of rows are shared among the
// OpenMP threads (when not already inside a parallel region), each keeping its own list; the lists are joined in row
// order. The time limit is read before each chunk; the lists count against the memory limit as each chunk ends, and
// before they are joined so do the joined copy and the columns (36 bytes a column at the peak). The columns' bytes
// stay counted in `held` (the caller's) while it lives.
template <class Source>
Listing list_columns(const Source& source, float threshold, const kernels::WeightedEdge* forest, int32_t forest_count,
                     RunLimits& limits, HeldBytes& held, std::vector<kernels::H1Column>& columns) {
  const int32_t n = source.points();
  std::vector<uint64_t> in_forest(static_cast<size_t>((source.slots() + 63) / 64), 0);
  for (int32_t i = 0; i < forest_count; ++i) {
    if (!(forest[i].length <= threshold)) continue;  // not a column anyway (and not in a graph cut at the threshold)
    const int64_t slot = source.slot(forest[i].edge);
    in_forest[static_cast<size_t>(slot >> 6)] |= uint64_t(1) << (slot & 63);
  }
  struct Kept {
    uint64_t key;  // kernels::column_sort_key
    int32_t cofacet_vertex;
  };
  const auto over_limit = [&](int64_t total) { return limits.memory_limited() && total > limits.memory_limit(); };
  constexpr int32_t kChunkRows = 16;
  const int32_t chunks = (n + kChunkRows - 1) / kChunkRows;
  std::vector<std::vector<Kept>> kept(static_cast<size_t>(chunks));
  HeldBytes lists(limits);
  std::atomic<int> stop{Listing::kComplete};
  std::atomic<int64_t> listed{0}, held_at_trip{0};
#pragma omp parallel for schedule(dynamic, 1) if (!omp_in_parallel() && n >= 512)
  for (int32_t chunk = 0; chunk < chunks; ++chunk) {
    if (stop.load(std::memory_order_relaxed) != Listing::kComplete) continue;
    if (limits.time_passed()) {
      stop.store(Listing::kTime, std::memory_order_relaxed);
      continue;
    }
    std::vector<Kept>& out = kept[static_cast<size_t>(chunk)];
    for (int32_t u = chunk * kChunkRows; u < std::min(n, (chunk + 1) * kChunkRows); ++u) {
      const typename Source::View row_u = source.view(u);
      source.for_each_lower_edge(u, [&](int32_t v, float d, int64_t slot) {
        if (!(d <= threshold) || (in_forest[static_cast<size_t>(slot >> 6)] >> (slot & 63) & 1)) return;
        const typename Source::View row_v = source.view(v);
        const int32_t k = source.next_cofacet_within(row_u, row_v, u, v, d, n - 1);
        if (k >= 0 && latest_facet(u, v, k, d, row_u.to(k), row_v.to(k))) return;
        out.push_back(Kept{kernels::column_sort_key(diameter_bits(d), kernels::edge_index(u, v), 32), k});
      });
    }
    listed.fetch_add(static_cast<int64_t>(out.size()), std::memory_order_relaxed);
    const int64_t total = lists.add(static_cast<int64_t>(out.capacity() * sizeof(Kept)));
    if (over_limit(total)) {
      held_at_trip.store(total, std::memory_order_relaxed);
      stop.store(Listing::kMemory, std::memory_order_relaxed);
    }
  }
  if (stop.load() != Listing::kComplete)
    return Listing{static_cast<Listing::Stop>(stop.load()), listed.load(), held_at_trip.load()};
  size_t count = 0;
  for (const std::vector<Kept>& part : kept) count += part.size();
  const auto tripped = [&](int64_t total) { return Listing{Listing::kMemory, static_cast<int64_t>(count), total}; };
  const int64_t part_bytes = lists.bytes(), joined_bytes = static_cast<int64_t>(count * sizeof(Kept));
  const int64_t with_joined = lists.add(joined_bytes);
  if (over_limit(with_joined)) return tripped(with_joined);
  std::vector<Kept> all;
  all.reserve(count);
  for (std::vector<Kept>& part : kept) {
    all.insert(all.end(), part.begin(), part.end());
    std::vector<Kept>().swap(part);
  }
  lists.add(-part_bytes);
  const int64_t with_columns = held.add(static_cast<int64_t>(count * sizeof(kernels::H1Column)));
  if (over_limit(with_columns)) return tripped(with_columns);
  std::sort(all.begin(), all.end(), [](const Kept& a, const Kept& b) { return a.key < b.key; });
  columns.resize(all.size());
  for (size_t c = 0; c < all.size(); ++c) {
    kernels::H1Column& column = columns[c];
    column.edge = kernels::edge_vertices(kernels::column_key_index(all[c].key, 32));
    column.diameter = source.view(column.edge.u).to(column.edge.v);
    column.cofacet_vertex = all[c].cofacet_vertex;
    column.apparent = 0;
  }
  return Listing{Listing::kComplete, static_cast<int64_t>(count), 0};
}

// H1 of `source` up to `threshold` from its listed columns (h1_cohomology).
template <class Source>
H1Outcome reduce_listed_columns(const Source& source, float threshold, const kernels::H1Column* columns,
                                int64_t column_count, RunLimits& limits) {
  H1Outcome outcome;
  outcome.diagram.dim = 1;
  const int32_t n = source.points();
  if (n < 3) return outcome;
  ReductionGuard guard(limits, n, column_count);
  try {
    const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (n <= kNarrowKeyPoints) {
      reduce_columns<uint64_t>(source, threshold, columns, column_count, guard, threads, outcome.diagram);
    } else {
      reduce_columns<WideKey>(source, threshold, columns, column_count, guard, threads, outcome.diagram);
    }
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

// H1 of `source` up to `threshold` from its spanning forest: its columns listed (counted against the memory limit
// while they live), then reduced.
template <class Source>
H1Outcome reduce_from_forest(const Source& source, float threshold, const kernels::WeightedEdge* forest,
                             int32_t forest_count, RunLimits& limits) {
  const int32_t n = source.points();
  if (n < 3) return reduce_listed_columns(source, threshold, nullptr, 0, limits);
  std::vector<kernels::H1Column> columns;
  HeldBytes held(limits);
  const Listing listing = list_columns(source, threshold, forest, forest_count, limits, held, columns);
  if (listing.stop == Listing::kComplete)
    return reduce_listed_columns(source, threshold, columns.data(), static_cast<int64_t>(columns.size()), limits);
  const std::string message =
      listing.stop == Listing::kTime
          ? tl::detail::concat("H1 reduction of ", n, " points passed its time limit of ", limits.seconds(), " s (",
                               limits.elapsed(),
                               " s since the call began) while listing its columns: raise time_limit_seconds, lower "
                               "the threshold, use fewer points, or choose OnLimit::Truncate")
          : tl::detail::concat("H1 reduction of ", n, " points passed its memory limit of ",
                               readable_bytes(limits.memory_limit()),
                               " while listing its columns: the run needs more than ",
                               readable_bytes(listing.held_bytes), " with ", listing.columns,
                               " columns listed (the edges that are not apparent pairs, 36 bytes each while they are "
                               "sorted) beside the distances or neighbour graph and other clouds: lower the threshold, "
                               "use fewer points, or "
                               "raise memory_limit_bytes");
  TL_CHECK_AS(LimitError, limits.on_limit() == OnLimit::Truncate, message);
  H1Outcome outcome;
  outcome.diagram.dim = 1;
  outcome.truncated = true;
  outcome.truncation_reason = message;
  return outcome;
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
  return reduce_listed_columns(DenseDistances(dist, n), threshold, columns, column_count, limits);
}

H1Outcome h1_cohomology_from_forest(const float* dist, int32_t n, float threshold, const kernels::WeightedEdge* forest,
                                    int32_t forest_count, RunLimits& limits) {
  return reduce_from_forest(DenseDistances(dist, n), threshold, forest, forest_count, limits);
}

H1Outcome h1_cohomology_sparse(const NeighborGraph& graph, float threshold, const kernels::WeightedEdge* forest,
                               int32_t forest_count, RunLimits& limits) {
  return reduce_from_forest(SparseDistances(graph), threshold, forest, forest_count, limits);
}

}  // namespace tl::topology::detail
