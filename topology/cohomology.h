// Degree-1 persistence by cohomology reduction over Z/2 on the CPU (the engine behind topology/persistence.h).
#pragma once

#include <chrono>
#include <vector>

#include "topology/persistence.h"

namespace tl::topology::detail {

struct Deadline {
  double seconds = 0.0;  // 0: none
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  bool passed() const {
    return seconds > 0.0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds;
  }
};

struct H1Outcome {
  Diagram diagram;
  bool truncated = false;  // the deadline passed; the pairs found so far are kept
};

// H1 of the Rips filtration of the n x n distance matrix `dist` up to `threshold`, given its reduction columns
// (TopologyBackend::h1_columns: the edges within the threshold outside the spanning forest, latest first).
// Throws LimitError when the deadline passes and on_limit is Error.
H1Outcome h1_cohomology(const float* dist, int32_t n, float threshold, const kernels::H1Column* columns,
                        int64_t column_count, const Deadline& deadline, OnLimit on_limit);

}  // namespace tl::topology::detail
