// The neighbour graph and the enclosing radius of a cloud from blocks of its distance matrix, never the whole matrix:
// each block is computed with the dense path's arithmetic (kernels/cpu/topology.cpp: the direct form up to
// kernels::kDirectDistanceMaxDim coordinates, the Gram form on the centred cloud above, by the same GEMM, with the
// cancelled entries recomputed), so every length is bit-identical to pairwise_distances()' entry. Entries below the
// diagonal come out of the same sums as the dense path's mirrored ones: a squared difference, a product in a dot
// product and the sum of two squared norms do not depend on the order of their operands.
#include "topology/neighbor_graph.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>

#include "kernels/backend.h"
#include "kernels/distance_impl.h"
#include "kernels/persistence_impl.h"

namespace tl::topology {
namespace {

// A block is kBlockRows rows by up to kBlockColumns columns of the matrix (512 KiB of floats).
constexpr int32_t kBlockRows = 64;
constexpr int32_t kBlockColumns = 2048;

double steady_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool deadline_passed(double deadline_seconds) {
  return deadline_seconds > 0.0 && steady_now() > deadline_seconds;
}

// Blocks of one cloud's distance matrix, each entry as the dense path computes it.
class DistanceBlocks {
 public:
  DistanceBlocks(const float* points, int32_t n, int32_t dim)
      : points_(points), n_(n), dim_(dim), gram_(dim > kernels::kDirectDistanceMaxDim) {
    if (!gram_) {  // coordinate-major, as the dense direct form reads the columns
      by_coordinate_.resize(static_cast<size_t>(n) * dim);
      for (int64_t j = 0; j < n; ++j)
        for (int64_t k = 0; k < dim; ++k) by_coordinate_[k * n + j] = points[j * dim + k];
      return;
    }
    std::vector<double> sums(static_cast<size_t>(dim), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < dim; ++k) sums[k] += points[i * dim + k];
    std::vector<float> means(static_cast<size_t>(dim));
    for (int64_t k = 0; k < dim; ++k) means[k] = kernels::mean_coordinate(sums[k], n);
    centred_.resize(static_cast<size_t>(n) * dim);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < dim; ++k) centred_[i * dim + k] = points[i * dim + k] - means[k];
    // The squared norms are the Gram matrix's diagonal, from the same GEMM (each entry's sum runs in the same k order
    // whatever the block).
    squared_norms_.resize(static_cast<size_t>(n));
    std::vector<float> tile(static_cast<size_t>(kBlockRows) * kBlockRows);
    for (int32_t i0 = 0; i0 < n; i0 += kBlockRows) {
      const int32_t rows = std::min(kBlockRows, n - i0);
      gram(i0, rows, i0, rows, tile.data());
      for (int32_t r = 0; r < rows; ++r) squared_norms_[i0 + r] = tile[static_cast<size_t>(r) * rows + r];
    }
  }

  // out[r * columns + c] = D[i0 + r][j0 + c] for r < rows, c < columns.
  void block(int32_t i0, int32_t rows, int32_t j0, int32_t columns, float* out) const {
    if (gram_) {
      gram(i0, rows, j0, columns, out);
      for (int32_t r = 0; r < rows; ++r) {
        const int32_t i = i0 + r;
        float* row = out + static_cast<int64_t>(r) * columns;
        for (int32_t c = 0; c < columns; ++c) {
          const int32_t j = j0 + c;
          const float squared = kernels::trusted_gram_squared_distance(squared_norms_[i], squared_norms_[j], row[c]);
          row[c] = squared >= 0.0f
                       ? std::sqrt(squared)
                       : std::sqrt(kernels::squared_distance(centred_.data() + static_cast<int64_t>(i) * dim_,
                                                             centred_.data() + static_cast<int64_t>(j) * dim_, dim_));
        }
        if (i >= j0 && i < j0 + columns) row[i - j0] = 0.0f;
      }
      return;
    }
    for (int32_t r = 0; r < rows; ++r) {
      const int64_t i = i0 + r;
      float* row = out + static_cast<int64_t>(r) * columns;
      std::fill(row, row + columns, 0.0f);
      for (int64_t k = 0; k < dim_; ++k) {
        const float xi = points_[i * dim_ + k];
        const float* column = by_coordinate_.data() + k * n_ + j0;
        for (int32_t c = 0; c < columns; ++c) {
          const float diff = xi - column[c];
          row[c] += diff * diff;
        }
      }
      for (int32_t c = 0; c < columns; ++c) row[c] = std::sqrt(row[c]);
      if (i >= j0 && i < j0 + columns) row[i - j0] = 0.0f;
    }
  }

 private:
  // out = the Gram entries of centred rows [i0, i0 + rows) against [j0, j0 + columns).
  void gram(int32_t i0, int32_t rows, int32_t j0, int32_t columns, float* out) const {
    kernels::cpu_backend().gemm(false, true, rows, columns, dim_, 1.0f,
                                centred_.data() + static_cast<int64_t>(i0) * dim_,
                                centred_.data() + static_cast<int64_t>(j0) * dim_, 0.0f, out);
  }

  const float* points_;
  int64_t n_, dim_;
  bool gram_;
  std::vector<float> by_coordinate_;            // direct form: coordinate k of point j at [k * n + j]
  std::vector<float> centred_, squared_norms_;  // Gram form
};

// Calls body(i0, rows, tile) for every block of rows [i0, i0 + rows) (kBlockRows, fewer at the end), the blocks
// spread over the OpenMP threads (outside a parallel region), `tile` the calling thread's kBlockRows x kBlockColumns
// floats of scratch. False when the deadline passed first (read before each block; the blocks after it are skipped).
template <class Body>
bool for_each_row_block(int32_t n, double deadline_seconds, Body body) {
  const int32_t row_blocks = (n + kBlockRows - 1) / kBlockRows;
  std::atomic<bool> late{false};
#pragma omp parallel if (!omp_in_parallel() && n >= 4 * kBlockRows)
  {
    std::vector<float> tile(static_cast<size_t>(kBlockRows) * kBlockColumns);
#pragma omp for schedule(dynamic, 1)
    for (int32_t b = 0; b < row_blocks; ++b) {
      if (late.load(std::memory_order_relaxed)) continue;
      if (deadline_passed(deadline_seconds)) {
        late.store(true, std::memory_order_relaxed);
        continue;
      }
      body(b * kBlockRows, std::min(kBlockRows, n - b * kBlockRows), tile.data());
    }
  }
  return !late.load();
}

// Calls visit(i, j0, row, columns) for every row i of the matrix, a block of columns at a time, in increasing j0 per
// row (for_each_row_block's threads and deadline).
template <class Visit>
bool for_each_row(const DistanceBlocks& blocks, int32_t n, double deadline_seconds, Visit visit) {
  return for_each_row_block(n, deadline_seconds, [&](int32_t i0, int32_t rows, float* tile) {
    for (int32_t j0 = 0; j0 < n; j0 += kBlockColumns) {
      const int32_t columns = std::min(kBlockColumns, n - j0);
      blocks.block(i0, rows, j0, columns, tile);
      for (int32_t r = 0; r < rows; ++r) visit(i0 + r, j0, tile + static_cast<int64_t>(r) * columns, columns);
    }
  });
}

}  // namespace

GraphBuild build_neighbor_graph_blocked(const float* points, int32_t n, int32_t dim, float threshold,
                                        const GraphLimits& limits) {
  GraphBuild build;
  const DistanceBlocks blocks(points, n, dim);
  std::vector<int64_t> offsets(static_cast<size_t>(n) + 1, 0);
  const bool counted =
      for_each_row(blocks, n, limits.deadline_seconds, [&](int32_t i, int32_t j0, const float* row, int32_t w) {
        int64_t within = 0;
        for (int32_t c = 0; c < w; ++c) within += kernels::edge_within(row[c], threshold) && j0 + c != i;
        offsets[static_cast<size_t>(i) + 1] += within;
      });
  if (!counted) {
    build.stop = GraphBuild::kTimePassed;
    return build;
  }
  for (int32_t i = 0; i < n; ++i) offsets[static_cast<size_t>(i) + 1] += offsets[static_cast<size_t>(i)];
  build.edges = offsets.back() / 2;
  if (limits.max_edges > 0 && build.edges > limits.max_edges) {
    build.stop = GraphBuild::kTooManyEdges;
    return build;
  }
  NeighborGraph& graph = build.graph;
  graph.n = n;
  graph.threshold = threshold;
  graph.neighbors.resize(static_cast<size_t>(offsets.back()));
  graph.lengths.resize(static_cast<size_t>(offsets.back()));
  std::vector<int64_t> cursor(offsets.begin(), offsets.end() - 1);
  const bool filled =
      for_each_row(blocks, n, limits.deadline_seconds, [&](int32_t i, int32_t j0, const float* row, int32_t w) {
        int64_t& at = cursor[static_cast<size_t>(i)];
        for (int32_t c = 0; c < w; ++c) {
          if (!kernels::edge_within(row[c], threshold) || j0 + c == i) continue;
          graph.neighbors[static_cast<size_t>(at)] = j0 + c;
          graph.lengths[static_cast<size_t>(at)] = row[c];
          ++at;
        }
      });
  graph.offsets = std::move(offsets);
  if (!filled) {
    build.graph = NeighborGraph{};
    build.stop = GraphBuild::kTimePassed;
  }
  return build;
}

NeighborGraph neighbor_graph_blocked(const float* points, int32_t n, int32_t dim, float threshold) {
  return std::move(build_neighbor_graph_blocked(points, n, dim, threshold, GraphLimits{}).graph);
}

float enclosing_radius_blocked(const float* points, int32_t n, int32_t dim, double deadline_seconds) {
  if (n <= 1) return 0.0f;
  const DistanceBlocks blocks(points, n, dim);
  // The point nearest the mean first: its row maximum is close to the radius, so other rows stop early.
  std::vector<double> mean(static_cast<size_t>(dim), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < dim; ++k) mean[k] += points[i * dim + k];
  int32_t central = 0;
  double nearest = std::numeric_limits<double>::infinity();
  for (int32_t i = 0; i < n; ++i) {
    double squared = 0.0;
    for (int64_t k = 0; k < dim; ++k) {
      const double diff = points[static_cast<int64_t>(i) * dim + k] - mean[k] / n;
      squared += diff * diff;
    }
    if (squared < nearest) nearest = squared, central = i;
  }
  std::vector<float> central_row(static_cast<size_t>(kBlockColumns));
  float seed = 0.0f;
  for (int32_t j0 = 0; j0 < n; j0 += kBlockColumns) {
    const int32_t columns = std::min(kBlockColumns, n - j0);
    blocks.block(central, 1, j0, columns, central_row.data());
    seed = std::max(seed, *std::max_element(central_row.begin(), central_row.begin() + columns));
  }
  std::atomic<float> best{seed};
  const auto lower_best = [&](float value) {
    float current = best.load();
    while (value < current && !best.compare_exchange_weak(current, value)) {
    }
  };
  const bool complete = for_each_row_block(n, deadline_seconds, [&](int32_t i0, int32_t rows, float* tile) {
    float row_max[kBlockRows];
    std::fill(row_max, row_max + rows, 0.0f);
    for (int32_t j0 = 0; j0 < n; j0 += kBlockColumns) {
      const int32_t columns = std::min(kBlockColumns, n - j0);
      blocks.block(i0, rows, j0, columns, tile);
      bool all_beaten = true;  // every row holds a distance >= the best radius: none of them can lower it
      for (int32_t r = 0; r < rows; ++r) {
        const float* row = tile + static_cast<int64_t>(r) * columns;
        row_max[r] = std::max(row_max[r], *std::max_element(row, row + columns));
        all_beaten = all_beaten && row_max[r] >= best.load(std::memory_order_relaxed);
      }
      if (all_beaten) break;
    }
    for (int32_t r = 0; r < rows; ++r) lower_best(row_max[r]);
  });
  return complete ? best.load() : std::numeric_limits<float>::quiet_NaN();
}

}  // namespace tl::topology
