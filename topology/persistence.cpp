// The persistence API: input checks, the batch layout, distances, spanning forests and the H1 reduction columns
// on the inputs' device (kernels/topology_backend.h), then H0 diagrams from the forests and the rest of the H1
// reduction on the CPU, one cloud per OpenMP thread.
#include "topology/persistence.h"

#include <algorithm>
#include <cmath>
#include <exception>

#include "core/autograd.h"
#include "core/base/error.h"
#include "core/base/memory.h"
#include "core/ops.h"
#include "kernels/topology_backend.h"
#include "topology/cohomology.h"

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

// The float values of t readable on the host: its own buffer on the CPU, `copy` filled from the device otherwise.
const float* host_floats(const Tensor& t, std::vector<float>& copy) {
  if (t.device() == Device::CPU) return t.data<float>();
  copy = t.to_vector<float>();
  return copy.data();
}

void check_points(const Tensor& points, size_t cloud) {
  TL_CHECK_AS(ShapeError, points.defined() && points.rank() == 2 && points.dtype() == DType::Float32,
              "persistence: cloud ", cloud, " must be a float32 [points, dim] tensor, got ",
              points.defined() ? points.describe() : std::string("an undefined tensor"));
  TL_CHECK_AS(ShapeError, points.dim(0) > 0 && points.dim(1) > 0, "persistence: cloud ", cloud,
              " is empty: ", points.describe());
  TL_CHECK_AS(ShapeError, points.dim(0) <= kMaxCloudPoints, "persistence: cloud ", cloud, " has ", points.dim(0),
              " points; a dense distance matrix allows at most ", kMaxCloudPoints);
  std::vector<float> copy;
  const float* values = host_floats(points, copy);
  const int64_t dim = points.dim(1), count = points.numel();
  // x * 0 is 0 for every finite x and NaN otherwise: one vectorised pass, then a search only on failure.
  float poisoned = 0.0f;
#pragma omp simd reduction(+ : poisoned)
  for (int64_t i = 0; i < count; ++i) poisoned += values[i] * 0.0f;
  if (poisoned == 0.0f) return;
  for (int64_t i = 0; i < count; ++i)
    TL_CHECK_AS(ValueError, std::isfinite(values[i]), "persistence: cloud ", cloud, ", point ", i / dim,
                ", coordinate ", i % dim, " is ", values[i], " (coordinates must be finite)");
}

void check_distances(const Tensor& matrix, size_t cloud) {
  TL_CHECK_AS(ShapeError,
              matrix.defined() && matrix.rank() == 2 && matrix.dtype() == DType::Float32 &&
                  matrix.dim(0) == matrix.dim(1) && matrix.dim(0) > 0,
              "persistence: distance matrix ", cloud, " must be a square, non-empty float32 [n, n] tensor, got ",
              matrix.defined() ? matrix.describe() : std::string("an undefined tensor"));
  TL_CHECK_AS(ShapeError, matrix.dim(0) <= kMaxCloudPoints, "persistence: distance matrix ", cloud, " has ",
              matrix.dim(0), " points; at most ", kMaxCloudPoints, " are allowed");
  std::vector<float> copy;
  const float* d = host_floats(matrix, copy);
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

float enclosing_radius(const float* dist, int64_t n) {
  float radius = std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) radius = std::min(radius, *std::max_element(dist + i * n, dist + (i + 1) * n));
  return radius;
}

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

std::vector<PersistenceResult> run_batch(const std::vector<Tensor>& inputs, bool inputs_are_points,
                                         const PersistenceOptions& options) {
  check_options(options);
  if (inputs.empty()) return {};
  NoGradGuard no_grad;
  const Device device = inputs[0].device();
  const size_t count = inputs.size();
  bool same_dimension = true;
  std::vector<int64_t> point_offsets(count + 1, 0), matrix_offsets(count + 1, 0), edge_offsets(count + 1, 0);
  for (size_t c = 0; c < count; ++c) {
    TL_CHECK_AS(DeviceError, inputs[c].defined() && inputs[c].device() == device, "persistence: cloud ", c, " is on ",
                inputs[c].defined() ? device_name(inputs[c].device()) : "no device", " but cloud 0 on ",
                device_name(device), " (a batch lives on one device)");
    if (inputs_are_points) {
      check_points(inputs[c], c);
      same_dimension = same_dimension && inputs[c].dim(1) == inputs[0].dim(1);
    } else {
      check_distances(inputs[c], c);
    }
    const int64_t n = inputs[c].dim(0);
    point_offsets[c + 1] = point_offsets[c] + n;
    matrix_offsets[c + 1] = matrix_offsets[c] + n * n;
    edge_offsets[c + 1] = edge_offsets[c] + n * (n - 1) / 2;
  }
  kernels::CloudBatch batch;
  batch.count = static_cast<int64_t>(count);
  batch.dim = inputs_are_points && same_dimension ? inputs[0].dim(1) : 0;
  batch.point_offsets = point_offsets.data();
  batch.matrix_offsets = matrix_offsets.data();
  batch.edge_offsets = edge_offsets.data();
  const kernels::TopologyBackend& backend = kernels::topology_backend_for(device);

  Tensor distances;
  if (inputs_are_points && same_dimension) {
    const Tensor points = count == 1 ? inputs[0] : concat(inputs, 0);
    distances = Tensor::empty({matrix_offsets[count]}, device);
    backend.pairwise_distances(points.data<float>(), batch, distances.data<float>());
  } else if (inputs_are_points) {
    // Clouds of different dimensions (an input batch and its latent codes): one backend call per cloud, in
    // parallel on the CPU, each writing its block of the batch's matrices.
    distances = Tensor::empty({matrix_offsets[count]}, device);
    float* out = distances.data<float>();
#pragma omp parallel for schedule(dynamic) if (device == Device::CPU && count > 1)
    for (size_t c = 0; c < count; ++c) cloud_distances(backend, inputs[c], out + matrix_offsets[c]);
  } else {
    std::vector<Tensor> flat;
    for (const Tensor& m : inputs) flat.push_back(reshape(m, {m.numel()}));
    distances = count == 1 ? flat[0] : concat(flat, 0);
  }

  const float forest_threshold = options.threshold;
  Storage forest_buffer(static_cast<size_t>(point_offsets[count]) * sizeof(kernels::WeightedEdge), device);
  Storage count_buffer(count * sizeof(int32_t), device);
  auto* forest_edges = static_cast<kernels::WeightedEdge*>(forest_buffer.data());
  backend.minimum_spanning_forest(distances.data<float>(), batch, forest_threshold, forest_edges,
                                  static_cast<int32_t*>(count_buffer.data()));
  std::vector<kernels::WeightedEdge> host_edges(static_cast<size_t>(point_offsets[count]));
  std::vector<int32_t> edge_counts(count);
  copy_bytes(host_edges.data(), Device::CPU, forest_edges, device, forest_buffer.bytes());
  copy_bytes(edge_counts.data(), Device::CPU, count_buffer.data(), device, count_buffer.bytes());
  const Tensor host_distances = device == Device::CPU ? distances : distances.to(Device::CPU);
  const float* dist = host_distances.data<float>();

  std::vector<PersistenceResult> results(count);
  for (size_t c = 0; c < count; ++c) {
    PersistenceResult& result = results[c];
    result.points = point_offsets[c + 1] - point_offsets[c];
    result.enclosing_radius = enclosing_radius(dist + matrix_offsets[c], result.points);
    result.h1_threshold = options.max_dim >= 1 ? std::min(options.threshold, result.enclosing_radius) : 0.0f;
    const auto first = host_edges.begin() + point_offsets[c];
    result.diagrams.push_back(
        h0_diagram(std::vector<kernels::WeightedEdge>(first, first + edge_counts[c]), result.points));
  }
  if (options.max_dim == 0) return results;

  // H1: the backend lists every cloud's reduction columns and finds their apparent and emergent pairs; the
  // remaining columns are reduced on the host, one cloud per OpenMP thread.
  std::vector<float> thresholds(count);
  for (size_t c = 0; c < count; ++c) thresholds[c] = results[c].h1_threshold;
  Storage column_buffer(static_cast<size_t>(edge_offsets[count]) * sizeof(kernels::H1Column), device);
  std::vector<int64_t> column_counts(count);
  backend.h1_columns(distances.data<float>(), batch, thresholds.data(), forest_edges,
                     static_cast<const int32_t*>(count_buffer.data()),
                     static_cast<kernels::H1Column*>(column_buffer.data()), column_counts.data());
  std::vector<kernels::H1Column> host_column_copy;
  const kernels::H1Column* columns = static_cast<const kernels::H1Column*>(column_buffer.data());
  if (device != Device::CPU) {
    host_column_copy.resize(static_cast<size_t>(edge_offsets[count]));
    for (size_t c = 0; c < count; ++c)
      copy_bytes(host_column_copy.data() + edge_offsets[c], Device::CPU, columns + edge_offsets[c], device,
                 static_cast<size_t>(column_counts[c]) * sizeof(kernels::H1Column));
    columns = host_column_copy.data();
  }
  std::vector<std::exception_ptr> failures(count);
#pragma omp parallel for schedule(dynamic) if (count > 1)
  for (size_t c = 0; c < count; ++c) {
    try {
      PersistenceResult& result = results[c];
      detail::Deadline deadline;
      deadline.seconds = options.time_limit_seconds;
      detail::H1Outcome h1 =
          detail::h1_cohomology(dist + matrix_offsets[c], static_cast<int32_t>(result.points), result.h1_threshold,
                                columns + edge_offsets[c], column_counts[c], deadline, options.on_limit);
      result.diagrams.push_back(std::move(h1.diagram));
      if (h1.truncated) {
        result.truncated = true;
        result.truncation_reason =
            "H1 reduction stopped at the time limit of " + std::to_string(options.time_limit_seconds) + " s";
      }
    } catch (...) {
      failures[c] = std::current_exception();  // exceptions must not leave an OpenMP region
    }
  }
  for (const std::exception_ptr& failure : failures)
    if (failure) std::rethrow_exception(failure);
  return results;
}

}  // namespace

Tensor pairwise_distances(const Tensor& points) {
  check_points(points, 0);
  Tensor dist = Tensor::empty({points.dim(0), points.dim(0)}, points.device());
  cloud_distances(kernels::topology_backend_for(points.device()), points, dist.data<float>());
  return dist;
}

PersistenceResult persistence(const Tensor& points, const PersistenceOptions& options) {
  return std::move(run_batch({points}, true, options)[0]);
}

PersistenceResult persistence_from_distances(const Tensor& distances, const PersistenceOptions& options) {
  return std::move(run_batch({distances}, false, options)[0]);
}

std::vector<PersistenceResult> persistence_batch(const std::vector<Tensor>& clouds, const PersistenceOptions& options) {
  return run_batch(clouds, true, options);
}

std::vector<PersistenceResult> persistence_batch_from_distances(const std::vector<Tensor>& matrices,
                                                                const PersistenceOptions& options) {
  return run_batch(matrices, false, options);
}

}  // namespace tl::topology
