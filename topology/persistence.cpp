// The persistence API: input checks, the batch layout, distances, enclosing radii and spanning forests on the inputs'
// device (kernels/topology_backend.h), then H0 diagrams from the forests and H1 on the host, one cloud per OpenMP
// thread (a single cloud on all of them). On the CPU each cloud lists its own reduction columns, only those that are
// not apparent pairs (detail::h1_cohomology_from_forest: about 0.5 % of the edges, where the backend's h1_columns
// lists all of them); on CUDA the backend lists the columns and the host reduces them. The call's time and memory
// limits (detail::RunLimits) are checked before anything is allocated, between the stages, while the columns are
// listed, and in the reduction (on CUDA the fixed estimate counts 36 bytes an edge for H1's columns and their sort
// keys, since the backend lists every edge; on the CPU the listed columns are counted as they are listed). On CUDA the
// host sees the inputs (one copy, for the checks), the forests with their counts and radii (one copy), and only for H1
// the distance matrices (none more for matrix input), the column counts and the listed columns (one copy, or one per
// cloud when they fill less than half of their slots). The sparse path (PersistenceOptions::sparse,
// sparse_batch_persistence) skips the matrices: per cloud on the host, the enclosing radius from blocks of the distance
// matrix, the H0 forest from the Euclidean spanning tree or Kruskal over a neighbour graph, and H1 from the same
// reduction reading that graph.
#include "topology/persistence.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>
#include <numeric>
#include <utility>
#include <vector>

#include "core/autograd.h"
#include "core/base/error.h"
#include "core/base/memory.h"
#include "core/ops.h"
#include "kernels/distance_impl.h"
#include "kernels/topology_backend.h"
#include "topology/cohomology.h"
#include "topology/euclidean_mst.h"
#include "topology/neighbor_graph.h"
#include "topology/spatial_index.h"

namespace tl::topology {
namespace {

// A dense distance matrix of this many points takes 16 GiB; edge and column numbers then still fit 32 bits.
constexpr int64_t kMaxCloudPoints = 65536;

void check_options(const PersistenceOptions& options) {
  TL_CHECK_AS(ValueError, options.max_dim == 0 || options.max_dim == 1, "persistence: max_dim must be 0 or 1, got ",
              options.max_dim);
  TL_CHECK_AS(ValueError, options.threshold >= 0.0f, "persistence: threshold must be >= 0 (or infinity), got ",
              options.threshold);
  TL_CHECK_AS(ValueError, options.time_limit_seconds >= 0.0 && std::isfinite(options.time_limit_seconds),
              "persistence: time_limit_seconds must be a finite value >= 0 (0 disables it), got ",
              options.time_limit_seconds);
}

// The values of a batch's (shape-checked, float32) inputs readable on the host: their own buffers on the CPU; on a
// device, one copy of them all, flattened and concatenated (for distance matrices that is the batch's stacked
// matrices, laid out as BatchLayout::matrix_offsets says).
struct HostInputs {
  explicit HostInputs(const std::vector<Tensor>& inputs) {
    if (inputs[0].device() == Device::CPU) {
      for (const Tensor& t : inputs) values.push_back(t.data<float>());
      return;
    }
    std::vector<Tensor> flat;
    for (const Tensor& t : inputs) flat.push_back(reshape(t, {t.numel()}));
    copy = (flat.size() == 1 ? flat[0] : concat(flat, 0)).to_vector<float>();
    size_t at = 0;
    for (const Tensor& t : inputs) {
      values.push_back(copy.data() + at);
      at += static_cast<size_t>(t.numel());
    }
  }
  std::vector<const float*> values;  // input c's values
  std::vector<float> copy;           // filled when the inputs are on a device
};

// Refuses a cloud with a point farther than kernels::kMaxCentroidDistance from the cloud's mean, whose squared
// distances could overflow float32, naming the farthest point and its largest coordinate (about the mean).
void check_extent(const float* values, int64_t n, int64_t dim, size_t cloud) {
  std::vector<double> mean(static_cast<size_t>(dim), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < dim; ++k) mean[k] += values[i * dim + k];
  for (double& m : mean) m = kernels::mean_coordinate(m, n);  // the mean the distance kernels centre the cloud at
  double farthest = 0.0;
  int64_t point = 0;
  for (int64_t i = 0; i < n; ++i) {
    double squared = 0.0;
    for (int64_t k = 0; k < dim; ++k) squared += (values[i * dim + k] - mean[k]) * (values[i * dim + k] - mean[k]);
    if (squared > farthest) {
      farthest = squared;
      point = i;
    }
  }
  if (std::sqrt(farthest) <= kernels::kMaxCentroidDistance) return;
  const float* x = values + point * dim;
  int64_t coordinate = 0;
  for (int64_t k = 1; k < dim; ++k)
    if (std::fabs(x[k] - mean[k]) > std::fabs(x[coordinate] - mean[coordinate])) coordinate = k;
  TL_FAIL(ValueError, "persistence: cloud ", cloud, ", point ", point, " lies ", std::sqrt(farthest),
          " from the cloud's mean (its coordinate ", coordinate, " is ", x[coordinate],
          "): squared distances would overflow float32 beyond ", kernels::kMaxCentroidDistance,
          "; rescale the cloud (its diagrams scale with it)");
}

void check_points_shape(const Tensor& points, size_t cloud) {
  TL_CHECK_AS(ShapeError, points.defined() && points.rank() == 2 && points.dtype() == DType::Float32,
              "persistence: cloud ", cloud, " must be a float32 [points, dim] tensor, got ",
              points.defined() ? points.describe() : std::string("an undefined tensor"));
  TL_CHECK_AS(ShapeError, points.dim(0) > 0 && points.dim(1) > 0, "persistence: cloud ", cloud,
              " is empty: ", points.describe());
  TL_CHECK_AS(ShapeError, points.dim(0) <= kMaxCloudPoints, "persistence: cloud ", cloud, " has ", points.dim(0),
              " points; a dense distance matrix allows at most ", kMaxCloudPoints);
}

void check_points_values(const Tensor& points, const float* values, size_t cloud) {
  const int64_t dim = points.dim(1), count = points.numel();
  // One vectorised pass, then a search only on failure: the sum of squares in double is finite when every
  // coordinate is, and every point lies within 2 sqrt(sum) of the mean (|x| and |mean| are at most sqrt(sum)).
  double squares = 0.0;
#pragma omp simd reduction(+ : squares)
  for (int64_t i = 0; i < count; ++i) squares += static_cast<double>(values[i]) * values[i];
  if (!std::isfinite(squares)) {
    for (int64_t i = 0; i < count; ++i)
      TL_CHECK_AS(ValueError, std::isfinite(values[i]), "persistence: cloud ", cloud, ", point ", i / dim,
                  ", coordinate ", i % dim, " is ", values[i], " (coordinates must be finite)");
  }
  if (2.0 * std::sqrt(squares) > kernels::kMaxCentroidDistance) check_extent(values, points.dim(0), dim, cloud);
}

void check_distances_shape(const Tensor& matrix, size_t cloud) {
  TL_CHECK_AS(ShapeError,
              matrix.defined() && matrix.rank() == 2 && matrix.dtype() == DType::Float32 &&
                  matrix.dim(0) == matrix.dim(1) && matrix.dim(0) > 0,
              "persistence: distance matrix ", cloud, " must be a square, non-empty float32 [n, n] tensor, got ",
              matrix.defined() ? matrix.describe() : std::string("an undefined tensor"));
  TL_CHECK_AS(ShapeError, matrix.dim(0) <= kMaxCloudPoints, "persistence: distance matrix ", cloud, " has ",
              matrix.dim(0), " points; at most ", kMaxCloudPoints, " are allowed");
}

void check_distances_values(const Tensor& matrix, const float* d, size_t cloud) {
  const int64_t n = matrix.dim(0);
  for (int64_t i = 0; i < n; ++i) {
    TL_CHECK_AS(ValueError, d[i * n + i] == 0.0f, "persistence: distance matrix ", cloud, " has D[", i, ",", i,
                "] = ", d[i * n + i], " (the diagonal must be 0)");
    for (int64_t j = 0; j < i; ++j) {
      const float value = d[i * n + j];
      TL_CHECK_AS(ValueError, std::isfinite(value) && value >= 0.0f, "persistence: distance matrix ", cloud, " has D[",
                  i, ",", j, "] = ", value, " (distances must be finite and >= 0)");
      TL_CHECK_AS(ValueError, value == d[j * n + i], "persistence: distance matrix ", cloud, " is not symmetric: D[", i,
                  ",", j, "] = ", value, " but D[", j, ",", i, "] = ", d[j * n + i]);
    }
  }
}

// The checks of one kind of input: shape (before any value is read) and values (read on the host).
struct InputChecks {
  void (*shape)(const Tensor& input, size_t cloud);
  void (*values)(const Tensor& input, const float* values, size_t cloud);
  bool matrices;  // the inputs are distance matrices
};
constexpr InputChecks kPointChecks{check_points_shape, check_points_values, false};
constexpr InputChecks kDistanceChecks{check_distances_shape, check_distances_values, true};

Diagram h0_diagram(std::vector<kernels::WeightedEdge> forest, int64_t n) {
  std::sort(forest.begin(), forest.end(), [](const kernels::WeightedEdge& a, const kernels::WeightedEdge& b) {
    return kernels::filtration_before(a.length, kernels::edge_index(a.edge.u, a.edge.v), b.length,
                                      kernels::edge_index(b.edge.u, b.edge.v));
  });
  Diagram diagram;
  diagram.dim = 0;
  for (const kernels::WeightedEdge& w : forest)
    diagram.pairs.push_back(PersistencePair{0.0f, w.length, Edge{}, w.edge});
  diagram.essential.assign(static_cast<size_t>(n) - forest.size(), EssentialBar{});
  return diagram;
}

// The [n, n] distance matrix of one checked [n, d] cloud, written to `out` on the cloud's device.
void cloud_distances(const kernels::TopologyBackend& backend, const Tensor& points, float* out) {
  const int64_t n = points.dim(0);
  const int64_t offsets[2] = {0, n}, matrix_offsets[2] = {0, n * n}, edge_offsets[2] = {0, n * (n - 1) / 2};
  const kernels::CloudBatch single{1, points.dim(1), offsets, matrix_offsets, edge_offsets};
  backend.pairwise_distances(points.data<float>(), single, out);
}

// Where each cloud's points, distance-matrix entries and edges start in the batch's concatenated buffers; on a
// device, a copy of the three offset arrays there too, uploaded once for every kernel of the call.
struct BatchLayout {
  std::vector<int64_t> point_offsets{0}, matrix_offsets{0}, edge_offsets{0};
  std::shared_ptr<Storage> device_offsets;  // point, matrix and edge offsets, concatenated; null on the CPU

  size_t count() const { return point_offsets.size() - 1; }
  int64_t points(size_t c) const { return point_offsets[c + 1] - point_offsets[c]; }
  // The kernels' view of the batch; `dim` is the clouds' common dimension (0 for distance matrices).
  kernels::CloudBatch view(int64_t dim) const {
    return kernels::CloudBatch{
        static_cast<int64_t>(count()), dim,
        point_offsets.data(),          matrix_offsets.data(),
        edge_offsets.data(),           device_offsets ? static_cast<const int64_t*>(device_offsets->data()) : nullptr};
  }
  void upload_offsets(Device device) {
    if (device == Device::CPU) return;
    std::vector<int64_t> all(point_offsets);
    all.insert(all.end(), matrix_offsets.begin(), matrix_offsets.end());
    all.insert(all.end(), edge_offsets.begin(), edge_offsets.end());
    device_offsets = std::make_shared<Storage>(all.size() * sizeof(int64_t), device);
    copy_bytes(device_offsets->data(), device, all.data(), Device::CPU, all.size() * sizeof(int64_t));
  }
};

// Checks the inputs (one device for the whole batch, every shape, then the values from one host copy) and lays out
// the batch; `host` keeps the host copy.
BatchLayout check_and_lay_out(const std::vector<Tensor>& inputs, const InputChecks& checks,
                              std::unique_ptr<HostInputs>& host) {
  const Device device = inputs[0].device();
  BatchLayout layout;
  for (size_t c = 0; c < inputs.size(); ++c) {
    TL_CHECK_AS(DeviceError, inputs[c].defined() && inputs[c].device() == device, "persistence: cloud ", c, " is on ",
                inputs[c].defined() ? device_name(inputs[c].device()) : "no device", " but cloud 0 on ",
                device_name(device), " (a batch lives on one device)");
    checks.shape(inputs[c], c);
    const int64_t n = inputs[c].dim(0);
    layout.point_offsets.push_back(layout.point_offsets.back() + n);
    layout.matrix_offsets.push_back(layout.matrix_offsets.back() + n * n);
    layout.edge_offsets.push_back(layout.edge_offsets.back() + n * (n - 1) / 2);
  }
  host = std::make_unique<HostInputs>(inputs);
  for (size_t c = 0; c < inputs.size(); ++c) checks.values(inputs[c], host->values[c], c);
  return layout;
}

// The concatenated distance matrices of checked point clouds: one backend call when they share a dimension
// (batch.dim > 0).
Tensor clouds_distances(const std::vector<Tensor>& clouds, const BatchLayout& layout,
                        const kernels::CloudBatch& batch) {
  const Device device = clouds[0].device();
  const kernels::TopologyBackend& backend = kernels::topology_backend_for(device);
  const size_t count = clouds.size();
  Tensor distances = Tensor::empty({layout.matrix_offsets[count]}, device);
  float* out = distances.data<float>();
  if (batch.dim > 0) {
    const Tensor points = count == 1 ? clouds[0] : concat(clouds, 0);
    backend.pairwise_distances(points.data<float>(), batch, out);
    return distances;
  }
  // Clouds of different dimensions (an input batch and its latent codes): one backend call per cloud, in
  // parallel on the CPU, each writing its block of the batch's matrices.
#pragma omp parallel for schedule(dynamic) if (device == Device::CPU && count > 1)
  for (size_t c = 0; c < count; ++c) cloud_distances(backend, clouds[c], out + layout.matrix_offsets[c]);
  return distances;
}

// The checked distance matrices of a batch, flattened and concatenated.
Tensor stacked_matrices(const std::vector<Tensor>& matrices) {
  std::vector<Tensor> flat;
  for (const Tensor& m : matrices) flat.push_back(reshape(m, {m.numel()}));
  return flat.size() == 1 ? flat[0] : concat(flat, 0);
}

// Every cloud's minimum spanning forest and enclosing radius, on the batch's device (the H1 columns are listed from
// the forests there) and copied to the host in one copy: one buffer holds the edges (cloud c's start at
// point_offsets[c]), then the edge counts, then the radii (all 4-byte fields).
struct SpanningForests {
  SpanningForests(const Tensor& distances, const BatchLayout& layout, const kernels::CloudBatch& batch, float threshold)
      : edge_count(static_cast<size_t>(layout.point_offsets.back())),
        buffer(edge_count * sizeof(kernels::WeightedEdge) + layout.count() * (sizeof(int32_t) + sizeof(float)),
               distances.device()),
        host(buffer.bytes() / 4) {
    static_assert(sizeof(kernels::WeightedEdge) % 4 == 0 && sizeof(int32_t) == 4 && sizeof(float) == 4);
    const Device device = distances.device();
    const kernels::TopologyBackend& backend = kernels::topology_backend_for(device);
    backend.minimum_spanning_forest(distances.data<float>(), batch, threshold,
                                    at<kernels::WeightedEdge>(buffer.data(), 0),
                                    at<int32_t>(buffer.data(), counts_start()));
    backend.enclosing_radii(distances.data<float>(), batch, at<float>(buffer.data(), radii_start(layout)));
    copy_bytes(host.data(), Device::CPU, buffer.data(), device, buffer.bytes());
  }
  const kernels::WeightedEdge* device_edges() const { return at<kernels::WeightedEdge>(buffer.data(), 0); }
  const int32_t* device_edge_counts() const { return at<int32_t>(buffer.data(), counts_start()); }
  const kernels::WeightedEdge* host_edges() const { return at<kernels::WeightedEdge>(host.data(), 0); }
  int32_t host_edge_count(size_t c) const { return at<int32_t>(host.data(), counts_start())[c]; }
  float host_radius(const BatchLayout& layout, size_t c) const {
    return at<float>(host.data(), radii_start(layout))[c];
  }

 private:
  size_t counts_start() const { return edge_count * sizeof(kernels::WeightedEdge); }
  size_t radii_start(const BatchLayout& layout) const { return counts_start() + layout.count() * sizeof(int32_t); }
  template <class T>
  static T* at(const void* base, size_t byte_offset) {
    return reinterpret_cast<T*>(static_cast<char*>(const_cast<void*>(base)) + byte_offset);
  }

  size_t edge_count;
  Storage buffer;              // on the batch's device
  std::vector<uint32_t> host;  // its copy, 4-byte words
};

// One result per cloud with its size, enclosing radius, H1 threshold and H0 diagram (from its spanning forest).
std::vector<PersistenceResult> h0_results(const BatchLayout& layout, const SpanningForests& forests,
                                          const PersistenceOptions& options) {
  std::vector<PersistenceResult> results(layout.count());
  for (size_t c = 0; c < layout.count(); ++c) {
    PersistenceResult& result = results[c];
    result.points = layout.points(c);
    result.enclosing_radius = forests.host_radius(layout, c);
    result.h1_threshold = options.max_dim >= 1 ? std::min(options.threshold, result.enclosing_radius) : 0.0f;
    const kernels::WeightedEdge* first = forests.host_edges() + layout.point_offsets[c];
    result.diagrams.push_back(
        h0_diagram(std::vector<kernels::WeightedEdge>(first, first + forests.host_edge_count(c)), result.points));
  }
  return results;
}

// Every cloud's H1 reduction columns up to its H1 threshold, listed by the backend with their apparent and
// emergent pairs found; readable on the host: cloud c's column_counts[c] columns start at edge_offsets[c]. When
// the deadline passes first, `stopped` is set and the lists are not to be read.
struct H1ColumnLists {
  H1ColumnLists(const Tensor& distances, const BatchLayout& layout, const kernels::CloudBatch& batch,
                const SpanningForests& forests, const std::vector<PersistenceResult>& results,
                const kernels::Deadline& deadline)
      : buffer(static_cast<size_t>(layout.edge_offsets.back()) * sizeof(kernels::H1Column), distances.device()),
        column_counts(layout.count()) {
    const Device device = distances.device();
    std::vector<float> thresholds(layout.count());
    for (size_t c = 0; c < layout.count(); ++c) thresholds[c] = results[c].h1_threshold;
    auto* device_columns = static_cast<kernels::H1Column*>(buffer.data());
    kernels::topology_backend_for(device).h1_columns(distances.data<float>(), batch, thresholds.data(),
                                                     forests.device_edges(), forests.device_edge_counts(), deadline,
                                                     device_columns, column_counts.data());
    columns = device_columns;
    stopped = std::any_of(column_counts.begin(), column_counts.end(), [](int64_t count) { return count < 0; });
    if (device == Device::CPU || stopped) return;
    // One copy up to the last cloud's last column when the listed columns fill at least half of that span (the
    // unlisted slots between clouds come along unread); else one copy per cloud, so that a threshold that lists few
    // of the edges does not bring all their slots over.
    const size_t last = layout.count() - 1;
    const auto span = static_cast<size_t>(layout.edge_offsets[last] + column_counts[last]);
    const auto listed = static_cast<size_t>(std::accumulate(column_counts.begin(), column_counts.end(), int64_t{0}));
    host_copy.resize(span);
    if (2 * listed >= span) {
      copy_bytes(host_copy.data(), Device::CPU, columns, device, span * sizeof(kernels::H1Column));
    } else {
      for (size_t c = 0; c < layout.count(); ++c)
        copy_bytes(host_copy.data() + layout.edge_offsets[c], Device::CPU, columns + layout.edge_offsets[c], device,
                   static_cast<size_t>(column_counts[c]) * sizeof(kernels::H1Column));
    }
    columns = host_copy.data();
  }

  Storage buffer;                            // on the batch's device
  std::vector<kernels::H1Column> host_copy;  // filled when that is not the CPU
  std::vector<int64_t> column_counts;
  const kernels::H1Column* columns = nullptr;  // on the host
  bool stopped = false;
};

// Runs body(c) for every cloud c < count, one cloud per OpenMP thread, or a single cloud outside any parallel region
// (its own regions then use the threads: nested ones would not reuse them, and idle threads of other teams would
// compete for the cores); an exception is rethrown, the first cloud's first, once every cloud has run (exceptions
// must not leave an OpenMP region).
template <class Body>
void for_each_cloud(size_t count, Body body) {
  if (count == 1) {
    body(0);
    return;
  }
  std::vector<std::exception_ptr> failures(count);
#pragma omp parallel for schedule(dynamic)
  for (size_t c = 0; c < count; ++c) {
    try {
      body(c);
    } catch (...) {
      failures[c] = std::current_exception();
    }
  }
  for (const std::exception_ptr& failure : failures)
    if (failure) std::rethrow_exception(failure);
}

// The rest of the H1 reduction on the host, one cloud per OpenMP thread: appends each cloud's H1 diagram to its
// result and flags the results a limit truncated.
void reduce_h1_columns(const float* dist, const BatchLayout& layout, const H1ColumnLists& lists,
                       detail::RunLimits& limits, std::vector<PersistenceResult>& results) {
  for_each_cloud(layout.count(), [&](size_t c) {
    PersistenceResult& result = results[c];
    detail::H1Outcome h1 =
        detail::h1_cohomology(dist + layout.matrix_offsets[c], static_cast<int32_t>(result.points), result.h1_threshold,
                              lists.columns + layout.edge_offsets[c], lists.column_counts[c], limits);
    result.diagrams.push_back(std::move(h1.diagram));
    result.truncated = h1.truncated;
    result.truncation_reason = std::move(h1.truncation_reason);
  });
}

// H1 of clouds whose matrices are on the host, from their spanning forests: each cloud lists its own reduction
// columns (only those the reduction reads) and reduces them, one cloud per OpenMP thread, or a single cloud on all
// of them.
void reduce_h1_from_forests(const float* dist, const BatchLayout& layout, const SpanningForests& forests,
                            detail::RunLimits& limits, std::vector<PersistenceResult>& results) {
  for_each_cloud(layout.count(), [&](size_t c) {
    PersistenceResult& result = results[c];
    detail::H1Outcome h1 = detail::h1_cohomology_from_forest(
        dist + layout.matrix_offsets[c], static_cast<int32_t>(result.points), result.h1_threshold,
        forests.host_edges() + layout.point_offsets[c], forests.host_edge_count(c), limits);
    result.diagrams.push_back(std::move(h1.diagram));
    result.truncated = h1.truncated;
    result.truncation_reason = std::move(h1.truncation_reason);
  });
}

// A limit that tripped outside the H1 reduction (a non-empty message): LimitError unless OnLimit::Truncate.
void throw_unless_truncating(const detail::RunLimits& limits, const std::string& message) {
  TL_CHECK_AS(LimitError, message.empty() || limits.on_limit() == OnLimit::Truncate, message);
}

// "800 points", or "3000 points in 4 clouds": the size of a run, for its messages.
std::string run_size(const BatchLayout& layout) {
  const std::string points = std::to_string(layout.point_offsets.back()) + " points";
  return layout.count() == 1 ? points : points + " in " + std::to_string(layout.count()) + " clouds";
}

// Counts the call's fixed buffers against the memory limit before they are allocated: every cloud's distance
// matrix (4 n^2 bytes; a device's matrices are copied to the host too), and for H1 on a device, whose backend lists
// every edge as a column, one H1Column of 20 bytes per edge (likewise copied) plus 16 bytes per edge of sort keys
// while the columns are listed. (On the CPU each cloud lists only the columns that need reducing and counts them as
// it goes.) LimitError when even H0 does not fit; the message saying why when H1 does not (empty when it does).
std::string hold_fixed_buffers(detail::RunLimits& limits, const BatchLayout& layout, Device device, int max_dim) {
  if (!limits.memory_limited()) return {};
  const bool lists_every_edge = max_dim >= 1 && device != Device::CPU;
  const int64_t copies = device == Device::CPU ? 1 : 2, edges = lists_every_edge ? layout.edge_offsets.back() : 0;
  const int64_t distances = copies * layout.matrix_offsets.back() * static_cast<int64_t>(sizeof(float));
  const int64_t column_bytes = copies * static_cast<int64_t>(sizeof(kernels::H1Column)), sort_key_bytes = 16;
  const int64_t columns = column_bytes * edges, sort_keys = sort_key_bytes * edges;
  TL_CHECK_AS(LimitError, distances <= limits.memory_limit(), "persistence of ", run_size(layout), " needs about ",
              detail::readable_bytes(distances),
              " for its distance matrices (4 n^2 bytes per cloud of n points), more than its memory limit of ",
              detail::readable_bytes(limits.memory_limit()), ": use fewer points, or raise memory_limit_bytes");
  limits.hold(distances);
  if (distances + columns + sort_keys <= limits.memory_limit()) {
    limits.hold(columns);
    return {};
  }
  return tl::detail::concat("persistence of ", run_size(layout), " needs more than ",
                            detail::readable_bytes(distances + columns + sort_keys), " for H1 (distance matrices ",
                            detail::readable_bytes(distances), ", H1 columns and their sort keys ",
                            detail::readable_bytes(columns + sort_keys), " at ", column_bytes + sort_key_bytes,
                            " bytes per edge, then the reduction's own needs), more than its memory limit of ",
                            detail::readable_bytes(limits.memory_limit()),
                            ": use fewer points, compute H0 only (max_dim = 0), or raise memory_limit_bytes");
}

// Gives every result an empty H1 diagram, flagged as truncated for `reason` (OnLimit::Truncate before H1 began).
void skip_h1(std::vector<PersistenceResult>& results, const std::string& reason) {
  for (PersistenceResult& result : results) {
    result.diagrams.push_back(Diagram{1, {}, {}});
    result.truncated = true;
    result.truncation_reason = reason;
  }
}

// The message of a time limit that passed before the H1 reduction began, `where` saying in which stage.
std::string time_refusal(const detail::RunLimits& limits, const BatchLayout& layout, const char* where) {
  return tl::detail::concat("persistence of ", run_size(layout), " passed its time limit of ", limits.seconds(), " s (",
                            limits.elapsed(), " s) ", where,
                            ", before the H1 reduction began: raise time_limit_seconds, use fewer points, or choose "
                            "OnLimit::Truncate");
}

// Persistence of a laid-out batch from its concatenated distance matrices (on the batch's device): spanning
// forests and H0 diagrams, then H1, whose columns the backend lists before the host reduces them. H1 is skipped
// (LimitError, or under OnLimit::Truncate an empty flagged diagram) for `h1_refusal` when that is not empty, or
// when the time is up before the reduction begins.
std::vector<PersistenceResult> batch_persistence(const Tensor& distances, const float* host_matrices,
                                                 const BatchLayout& layout, const kernels::CloudBatch& batch,
                                                 const PersistenceOptions& options, detail::RunLimits& limits,
                                                 std::string h1_refusal) {
  const SpanningForests forests(distances, layout, batch, options.threshold);
  std::vector<PersistenceResult> results = h0_results(layout, forests, options);
  if (options.max_dim == 0) return results;
  // The reduction reads the matrices on the host: the inputs' host copy for matrix input, the distances themselves
  // on the CPU, else one copy now.
  std::vector<float> downloaded;
  if (host_matrices == nullptr && distances.device() == Device::CPU) host_matrices = distances.data<float>();
  if (host_matrices == nullptr) {
    downloaded = distances.to_vector<float>();
    host_matrices = downloaded.data();
  }
  const float* dist = host_matrices;
  if (h1_refusal.empty() && limits.time_passed())
    h1_refusal = time_refusal(limits, layout, "in the distances and spanning trees");
  if (h1_refusal.empty() && distances.device() == Device::CPU) {
    reduce_h1_from_forests(dist, layout, forests, limits, results);
    return results;
  }
  if (h1_refusal.empty()) {
    const H1ColumnLists lists(distances, layout, batch, forests, results, kernels::Deadline{limits.steady_deadline()});
    if (!lists.stopped) {
      reduce_h1_columns(dist, layout, lists, limits, results);
      return results;
    }
    h1_refusal = time_refusal(limits, layout, "while listing the H1 columns");
  }
  throw_unless_truncating(limits, h1_refusal);
  skip_h1(results, h1_refusal);
  return results;
}

// The steps both entry points share: the option and input checks, the batch layout, the memory guard's fixed
// buffers, then `distances_of(layout)` (the concatenated distance matrices and the kernels' view of the batch) and
// the batch's persistence. For matrix input the checks' host copy is the stacked matrices the H1 reduction reads.
template <class DistancesOf>
std::vector<PersistenceResult> checked_batch_persistence(const std::vector<Tensor>& inputs, const InputChecks& checks,
                                                         const PersistenceOptions& options, DistancesOf distances_of) {
  check_options(options);
  if (inputs.empty()) return {};
  detail::RunLimits limits(options);
  NoGradGuard no_grad;
  std::unique_ptr<HostInputs> host;
  BatchLayout layout = check_and_lay_out(inputs, checks, host);
  const std::string h1_refusal = hold_fixed_buffers(limits, layout, inputs[0].device(), options.max_dim);
  throw_unless_truncating(limits, h1_refusal);
  layout.upload_offsets(inputs[0].device());
  const auto [distances, batch] = distances_of(layout);
  const float* host_matrices = !checks.matrices     ? nullptr
                               : host->copy.empty() ? distances.template data<float>()  // the CPU's stacked matrices
                                                    : host->copy.data();
  return batch_persistence(distances, host_matrices, layout, batch, options, limits, h1_refusal);
}

// The sparse path (PersistenceOptions::sparse): one cloud's persistence from a neighbour graph of the edges within
// a threshold and, where the k-d tree applies, the exact Euclidean minimum spanning tree, on the host.

// Up to this dimension the neighbour graph comes from a k-d tree (topology/spatial_index.h), above it from blocks of
// the distance matrix: a tree beats an O(n^2) scan by orders of magnitude in 2-4 dimensions and stops paying past
// about 10.
constexpr int32_t kKdTreeMaxDim = 8;
// The Euclidean minimum spanning tree (topology/euclidean_mst.h) reproduces the dense path's direct distances only.
constexpr int32_t kEmstMaxDim = static_cast<int32_t>(kernels::kDirectDistanceMaxDim);
// The largest cloud of sparse H1 (its columns' edge indices fit 32 bits); H0 takes any int32 count.
constexpr int64_t kMaxSparseH1Points = 65536;

// The minimum spanning forest of a neighbour graph's edges (all within its threshold) by Kruskal in the filtration
// order: the dense path's forest for the same threshold (the forest is unique under that order).
std::vector<kernels::WeightedEdge> graph_spanning_forest(const NeighborGraph& graph) {
  std::vector<kernels::WeightedEdge> edges;
  edges.reserve(static_cast<size_t>(graph.edge_count()));
  for (int32_t u = 0; u < graph.n; ++u)
    for (int64_t p = graph.offsets[static_cast<size_t>(u)]; p < graph.offsets[static_cast<size_t>(u) + 1]; ++p)
      if (graph.neighbors[static_cast<size_t>(p)] < u)
        edges.push_back(kernels::WeightedEdge{Edge{u, graph.neighbors[static_cast<size_t>(p)]},
                                              graph.lengths[static_cast<size_t>(p)]});
  std::sort(edges.begin(), edges.end(), [](const kernels::WeightedEdge& a, const kernels::WeightedEdge& b) {
    return kernels::filtration_before(a.length, kernels::edge_index(a.edge.u, a.edge.v), b.length,
                                      kernels::edge_index(b.edge.u, b.edge.v));
  });
  std::vector<int32_t> parent(static_cast<size_t>(graph.n));
  std::iota(parent.begin(), parent.end(), 0);
  const auto root = [&](int32_t x) {
    while (parent[static_cast<size_t>(x)] != x)
      x = parent[static_cast<size_t>(x)] = parent[static_cast<size_t>(parent[static_cast<size_t>(x)])];
    return x;
  };
  std::vector<kernels::WeightedEdge> forest;
  for (const kernels::WeightedEdge& e : edges) {
    const int32_t a = root(e.edge.u), b = root(e.edge.v);
    if (a == b) continue;
    parent[static_cast<size_t>(a)] = b;
    forest.push_back(e);
  }
  return forest;
}

// What a cloud's neighbour graph is built for: H0's spanning tree (by Kruskal, above the Euclidean tree's 32
// dimensions), that tree and H1 (one graph shared), or H1 alone.
enum class GraphFor { kSpanningTree, kTreeAndH1, kH1 };

// The graph of one cloud up to `threshold` from the builder for its dimension, counted against the memory limit:
// the blocked builder counts the edges before it allocates and refuses beyond the limit, the k-d tree's graph is
// counted once built. When H0's spanning tree is drawn from the graph, each edge also counts the sorted copy
// graph_spanning_forest makes of it (held in `held` with the graph: the caller lets it go after Kruskal). A limit
// that trips throws LimitError, or, where the graph serves H1 (which may be cut short), under OnLimit::Truncate
// leaves the graph empty and the message in `refusal`; so does a deadline that passes while the blocked builder runs
// (a graph for H0 alone is built to its end).
NeighborGraph limited_graph(const float* points, int32_t n, int32_t dim, float threshold, GraphFor use,
                            detail::RunLimits& limits, detail::HeldBytes& held, std::string& refusal) {
  const bool for_kruskal = use != GraphFor::kH1, serves_h1 = use != GraphFor::kSpanningTree;
  const auto refuse = [&](const std::string& message) {
    TL_CHECK_AS(LimitError, serves_h1 && limits.on_limit() == OnLimit::Truncate, message);
    refusal = message;
  };
  const int64_t copy_bytes = for_kruskal ? static_cast<int64_t>(sizeof(kernels::WeightedEdge)) : 0;
  const auto over_limit = [&](int64_t edges) {
    return tl::detail::concat(
        "sparse persistence of ", n, " points: the neighbour graph up to ", threshold, " holds ", edges, " edges, ",
        detail::readable_bytes(NeighborGraph::bytes_for(n, edges) + copy_bytes * edges), " at ", 16 + copy_bytes,
        " bytes an edge", for_kruskal ? " (the graph, and the sorted copy its spanning tree is drawn from)" : "",
        "; with the ", detail::readable_bytes(limits.hold(0)), " held already that passes the memory limit of ",
        detail::readable_bytes(limits.memory_limit()),
        ": lower the threshold, use fewer points, or raise memory_limit_bytes");
  };
  // Holds a built graph's bytes (and its sorted copy's), unless the clouds of a batch that run at the same time took
  // what max_edges counted on: then refuses it as if it had not fitted to begin with.
  const auto hold_graph = [&](int64_t edges) {
    const int64_t bytes = NeighborGraph::bytes_for(n, edges) + copy_bytes * edges;
    const int64_t total = held.add(bytes);
    if (!limits.memory_limited() || total <= limits.memory_limit()) return true;
    held.add(-bytes);
    refuse(over_limit(edges));
    return false;
  };
  // The most edges that fit beside what the call holds (the offsets take 8 bytes a point, an edge 16 and its copy).
  const int64_t max_edges =
      limits.memory_limited()
          ? std::max<int64_t>(0, (limits.memory_limit() - limits.hold(0) - 8 * (int64_t{n} + 1)) / (16 + copy_bytes))
          : -1;
  if (dim <= kKdTreeMaxDim) {
    NeighborGraph graph = neighbor_graph_kd_tree(points, n, dim, threshold, max_edges);
    const int64_t edges = graph.offsets.back() / 2;
    if (max_edges >= 0 && edges > max_edges) {
      refuse(over_limit(edges));
      return NeighborGraph{};
    }
    return hold_graph(edges) ? std::move(graph) : NeighborGraph{};
  }
  GraphLimits graph_limits;
  if (serves_h1) graph_limits.deadline_seconds = limits.steady_deadline();
  if (max_edges >= 0) graph_limits.max_edges = max_edges;
  GraphBuild build = build_neighbor_graph_blocked(points, n, dim, threshold, graph_limits);
  if (build.stop == GraphBuild::kTooManyEdges) {
    refuse(over_limit(build.edges));
    return NeighborGraph{};
  }
  if (build.stop == GraphBuild::kTimePassed) {
    refuse(tl::detail::concat("sparse persistence of ", n, " points passed its time limit of ", limits.seconds(),
                              " s (", limits.elapsed(),
                              " s) while building its neighbour graph: raise time_limit_seconds, lower the threshold, "
                              "use fewer points, or choose OnLimit::Truncate"));
    return NeighborGraph{};
  }
  return hold_graph(build.edges) ? std::move(build.graph) : NeighborGraph{};
}

// Persistence of one checked cloud on the host by the sparse path (PersistenceOptions::sparse).
PersistenceResult sparse_cloud_persistence(const float* points, int32_t n, int32_t dim,
                                           const PersistenceOptions& options, detail::RunLimits& limits) {
  PersistenceResult result;
  result.points = n;
  result.enclosing_radius = std::numeric_limits<float>::quiet_NaN();
  const float threshold = options.threshold;
  const bool h1 = options.max_dim >= 1;
  std::string h1_refusal;
  if (h1) {
    result.enclosing_radius = enclosing_radius_blocked(points, n, dim, limits.steady_deadline());
    result.h1_threshold =
        std::isnan(result.enclosing_radius) ? result.enclosing_radius : std::min(threshold, result.enclosing_radius);
    if (std::isnan(result.enclosing_radius))
      h1_refusal = tl::detail::concat("sparse persistence of ", n, " points passed its time limit of ",
                                      limits.seconds(), " s (", limits.elapsed(),
                                      " s) while finding its enclosing radius, before the H1 reduction began: raise "
                                      "time_limit_seconds, use fewer points, or choose OnLimit::Truncate");
  }
  // H0 reads the graph when the tree does not apply, or (sharing it) when the blocked graph H1 needs reaches the
  // threshold anyway; a shared graph that a guard refuses leaves H0 to the tree and H1 skipped.
  const bool h0_needs_graph = dim > kEmstMaxDim;
  const bool share_graph =
      !h0_needs_graph && h1 && h1_refusal.empty() && dim > kKdTreeMaxDim && result.h1_threshold >= threshold;
  TL_CHECK_AS(ValueError, !h0_needs_graph || std::isfinite(threshold), "sparse persistence of a cloud of ", dim,
              " dimensions needs a finite threshold: its spanning tree comes from the graph of the edges within it "
              "(the Euclidean spanning tree takes at most ",
              kEmstMaxDim, " dimensions); give a threshold or use the dense path");
  detail::HeldBytes held(limits);
  NeighborGraph graph;
  std::vector<kernels::WeightedEdge> forest;
  if (h0_needs_graph) {  // H0 is always complete: the graph is built to its end, or refused
    graph = limited_graph(points, n, dim, threshold, GraphFor::kSpanningTree, limits, held, h1_refusal);
  } else if (share_graph) {
    graph = limited_graph(points, n, dim, threshold, GraphFor::kTreeAndH1, limits, held, h1_refusal);
  }
  const bool h0_from_graph = h0_needs_graph || (share_graph && h1_refusal.empty());
  if (h0_from_graph) {
    forest = graph_spanning_forest(graph);
    held.add(-graph.edge_count() * static_cast<int64_t>(sizeof(kernels::WeightedEdge)));  // the sorted copy is gone
  } else {
    forest = euclidean_mst(points, n, dim, threshold);
  }
  held.add(static_cast<int64_t>(forest.capacity() * sizeof(kernels::WeightedEdge)));
  result.diagrams.push_back(h0_diagram(forest, n));
  if (!h1) return result;
  if (h1_refusal.empty() && limits.time_passed())
    h1_refusal = tl::detail::concat("sparse persistence of ", n, " points passed its time limit of ", limits.seconds(),
                                    " s (", limits.elapsed(),
                                    " s) in the spanning tree, before the H1 reduction began: raise "
                                    "time_limit_seconds, lower the threshold, use fewer points, or choose "
                                    "OnLimit::Truncate");
  if (h1_refusal.empty() && !h0_from_graph)
    graph = limited_graph(points, n, dim, result.h1_threshold, GraphFor::kH1, limits, held, h1_refusal);
  if (h1_refusal.empty()) {
    detail::H1Outcome outcome = detail::h1_cohomology_sparse(graph, result.h1_threshold, forest.data(),
                                                             static_cast<int32_t>(forest.size()), limits);
    result.diagrams.push_back(std::move(outcome.diagram));
    result.truncated = outcome.truncated;
    result.truncation_reason = std::move(outcome.truncation_reason);
  } else {
    throw_unless_truncating(limits, h1_refusal);
    result.diagrams.push_back(Diagram{1, {}, {}});
    result.truncated = true;
    result.truncation_reason = h1_refusal;
  }
  return result;
}

void check_sparse_points_shape(const Tensor& points, size_t cloud, int max_dim) {
  TL_CHECK_AS(ShapeError, points.defined() && points.rank() == 2 && points.dtype() == DType::Float32,
              "persistence: cloud ", cloud, " must be a float32 [points, dim] tensor, got ",
              points.defined() ? points.describe() : std::string("an undefined tensor"));
  TL_CHECK_AS(ShapeError, points.dim(0) > 0 && points.dim(1) > 0, "persistence: cloud ", cloud,
              " is empty: ", points.describe());
  const int64_t most = max_dim >= 1 ? kMaxSparseH1Points : std::numeric_limits<int32_t>::max();
  TL_CHECK_AS(ShapeError, points.dim(0) <= most, "persistence: cloud ", cloud, " has ", points.dim(0),
              " points; sparse persistence allows at most ", most, max_dim >= 1 ? " with H1 (max_dim = 1)" : "");
}

// The sparse path of persistence_batch: the clouds' checks, then each cloud on the host (a device's clouds through
// one host copy), one cloud per OpenMP thread, or a single cloud on all of them.
std::vector<PersistenceResult> sparse_batch_persistence(const std::vector<Tensor>& clouds,
                                                        const PersistenceOptions& options) {
  detail::RunLimits limits(options);
  NoGradGuard no_grad;
  for (size_t c = 0; c < clouds.size(); ++c) {
    TL_CHECK_AS(DeviceError, clouds[c].defined() && clouds[c].device() == clouds[0].device(), "persistence: cloud ", c,
                " is on ", clouds[c].defined() ? device_name(clouds[c].device()) : "no device", " but cloud 0 on ",
                device_name(clouds[0].device()), " (a batch lives on one device)");
    check_sparse_points_shape(clouds[c], c, options.max_dim);
  }
  const HostInputs host(clouds);
  for (size_t c = 0; c < clouds.size(); ++c) check_points_values(clouds[c], host.values[c], c);
  std::vector<PersistenceResult> results(clouds.size());
  for_each_cloud(clouds.size(), [&](size_t c) {
    results[c] = sparse_cloud_persistence(host.values[c], static_cast<int32_t>(clouds[c].dim(0)),
                                          static_cast<int32_t>(clouds[c].dim(1)), options, limits);
  });
  return results;
}

}  // namespace

Tensor pairwise_distances(const Tensor& points) {
  check_points_shape(points, 0);
  check_points_values(points, HostInputs({points}).values[0], 0);
  Tensor dist = Tensor::empty({points.dim(0), points.dim(0)}, points.device());
  cloud_distances(kernels::topology_backend_for(points.device()), points, dist.data<float>());
  return dist;
}

PersistenceResult persistence(const Tensor& points, const PersistenceOptions& options) {
  return std::move(persistence_batch({points}, options)[0]);
}

PersistenceResult persistence_from_distances(const Tensor& distances, const PersistenceOptions& options) {
  return std::move(persistence_batch_from_distances({distances}, options)[0]);
}

std::vector<PersistenceResult> persistence_batch(const std::vector<Tensor>& clouds, const PersistenceOptions& options) {
  if (options.sparse) {
    check_options(options);
    return clouds.empty() ? std::vector<PersistenceResult>{} : sparse_batch_persistence(clouds, options);
  }
  return checked_batch_persistence(clouds, kPointChecks, options, [&clouds](const BatchLayout& layout) {
    const bool one_dimension = std::all_of(clouds.begin(), clouds.end(),
                                           [&](const Tensor& cloud) { return cloud.dim(1) == clouds[0].dim(1); });
    const kernels::CloudBatch batch = layout.view(one_dimension ? clouds[0].dim(1) : 0);
    return std::pair<Tensor, kernels::CloudBatch>{clouds_distances(clouds, layout, batch), batch};
  });
}

std::vector<PersistenceResult> persistence_batch_from_distances(const std::vector<Tensor>& matrices,
                                                                const PersistenceOptions& options) {
  TL_CHECK_AS(ValueError, !options.sparse,
              "persistence: sparse mode takes point clouds (its graph comes from the points); give the points, or "
              "leave sparse off for distance matrices");
  return checked_batch_persistence(matrices, kDistanceChecks, options, [&matrices](const BatchLayout& layout) {
    return std::pair<Tensor, kernels::CloudBatch>{stacked_matrices(matrices), layout.view(0)};
  });
}

}  // namespace tl::topology
