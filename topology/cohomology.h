// Degree-1 persistence by cohomology reduction over Z/2 on the CPU (the engine behind topology/persistence.h), and
// the time and memory guards of a persistence call, which the reduction checks as it goes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "topology/neighbor_graph.h"
#include "topology/persistence.h"

namespace tl::topology::detail {

// The guards of one persistence call (PersistenceOptions' time and memory limits), shared by its clouds: one clock
// started with the call, and one count of the bytes the call's large buffers hold. Thread-safe.
class RunLimits {
 public:
  explicit RunLimits(const PersistenceOptions& options)
      : seconds_(options.time_limit_seconds),
        memory_limit_(static_cast<int64_t>(options.memory_limit_bytes)),
        on_limit_(options.on_limit) {}

  bool timed() const { return seconds_ > 0.0; }
  double seconds() const { return seconds_; }
  double elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  bool time_passed() const { return timed() && elapsed() > seconds_; }
  // The deadline in seconds since steady_clock's epoch, as kernels::Deadline takes it (0: none).
  double steady_deadline() const {
    return timed() ? std::chrono::duration<double>(start_.time_since_epoch()).count() + seconds_ : 0.0;
  }

  bool memory_limited() const { return memory_limit_ > 0; }
  int64_t memory_limit() const { return memory_limit_; }
  // Counts `bytes` more as held (fewer when negative) and returns the new total.
  int64_t hold(int64_t bytes) { return held_.fetch_add(bytes, std::memory_order_relaxed) + bytes; }

  OnLimit on_limit() const { return on_limit_; }

 private:
  double seconds_;
  int64_t memory_limit_;
  OnLimit on_limit_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::atomic<int64_t> held_{0};
};

// Bytes counted as held against a RunLimits while this lives.
class HeldBytes {
 public:
  explicit HeldBytes(RunLimits& limits) : limits_(limits) {}
  ~HeldBytes() { limits_.hold(-bytes_.load()); }
  HeldBytes(const HeldBytes&) = delete;
  HeldBytes& operator=(const HeldBytes&) = delete;
  // Counts `bytes` more (thread-safe); returns the run's new total.
  int64_t add(int64_t bytes) {
    bytes_.fetch_add(bytes, std::memory_order_relaxed);
    return limits_.hold(bytes);
  }
  int64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }

 private:
  RunLimits& limits_;
  std::atomic<int64_t> bytes_{0};
};

// "1.5 GiB", "320.0 MiB", "100 bytes": a byte count for a message.
std::string readable_bytes(int64_t bytes);

struct H1Outcome {
  Diagram diagram;
  bool truncated = false;  // a guard tripped under OnLimit::Truncate; the pairs found so far are kept
  std::string truncation_reason;
};

// H1 of the Rips filtration of the n x n distance matrix `dist` up to `threshold`, given its reduction columns
// (TopologyBackend::h1_columns: the edges within the threshold outside the spanning forest, latest first; columns
// flagged apparent are skipped, so a list may leave them out).
// Checks the limits as it goes: a tripped guard throws LimitError, or under OnLimit::Truncate ends the reduction.
H1Outcome h1_cohomology(const float* dist, int32_t n, float threshold, const kernels::H1Column* columns,
                        int64_t column_count, RunLimits& limits);

// The same for a distance matrix on the host, from the cloud's spanning forest (minimum_spanning_forest's edges):
// lists only the columns that are not apparent pairs (about 0.5 % of the edges; the reduction reads no others), on
// the OpenMP threads when called outside a parallel region, then reduces them. The time limit is read while listing
// too.
H1Outcome h1_cohomology_from_forest(const float* dist, int32_t n, float threshold, const kernels::WeightedEdge* forest,
                                    int32_t forest_count, RunLimits& limits);

// The same for a neighbour graph (the sparse path) up to `threshold` (at most the graph's), from its spanning forest
// within that threshold: the same reduction, its distances read from the graph's rows (a pair's length by binary
// search in a row, a cofacet of an edge by walking its ends' rows), so the diagrams and critical edges are those of
// the dense path for the same cloud. A graph of at most 65,536 points (the columns' sort keys hold an edge index in 32
// bits).
H1Outcome h1_cohomology_sparse(const NeighborGraph& graph, float threshold, const kernels::WeightedEdge* forest,
                               int32_t forest_count, RunLimits& limits);

}  // namespace tl::topology::detail
