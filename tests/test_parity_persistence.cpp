// CPU-vs-CUDA parity of the persistence kernels: distances on both paths (also of clouds far from the origin and
// of tight clusters, against a double-precision reference), the H1 reduction columns (filtration sort, apparent
// and emergent cofacets), spanning forests (identical edges: the filtration order makes them unique, and an
// infinite length is no edge), whole batches of diagrams computed from CUDA tensors, the input checks and the
// time limit on CUDA tensors, and the scatter of diagram gradients onto points (equal to the CPU's, and
// bit-identical from run to run). Also batches through the kernels directly (the batched Gram path, spanning forests
// cut at a finite threshold, more clouds than a grid dimension holds), the runtime layer (NaN poisoning, double-free
// detection, the transfer counter) and the host round trips of a persistence call.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

#include "core/base/memory.h"
#include "kernels/topology_backend.h"

#include "nn/data/synthetic.h"
#include "tests/test_support.h"
#include "topology/differentiable.h"
#include "topology/matching.h"
#include "topology/persistence.h"

namespace tl::testing {

TEST_CASE("pairwise distances agree between CPU and CUDA on the direct and GEMM paths") {
  Generator generator(101);
  for (int64_t dim : {2, 16, 32, 33, 784}) {
    CAPTURE(dim);
    const Tensor points = data::gaussian_cloud(300, dim, generator);
    const Tensor cpu = topology::pairwise_distances(points);
    const Tensor gpu = topology::pairwise_distances(points.to(Device::CUDA));
    CHECK(gpu.device() == Device::CUDA);
    check_close(gpu.to(Device::CPU), cpu, 1e-5, 1e-5, "distances");
    check_exact_distance_matrix(gpu.to_vector<float>(), 300);
  }
}

TEST_CASE("CUDA distances above 32 dimensions of shifted clouds and tight clusters match a double reference") {
  // The Gram path centres each cloud (the same float coordinates as the CPU's) and recomputes cancelled entries.
  Generator generator(505);
  const int64_t n = 300;
  for (int64_t dim : {40, 64, 784}) {
    CAPTURE(dim);
    const std::vector<float> x = data::gaussian_cloud(n, dim, generator).to_vector<float>();
    std::vector<float> shifted = x, clusters = x;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < dim; ++k) {
        shifted[i * dim + k] += 3000.0f;
        clusters[i * dim + k] = 1e-3f * x[i * dim + k] + (k > 0 ? 0.0f : i % 2 ? 1.0f : -1.0f);
      }
    for (const std::vector<float>* values : {&shifted, &clusters}) {
      const Tensor points = Tensor::from_vector(*values, {n, dim});
      const std::vector<float> gpu = topology::pairwise_distances(points.to(Device::CUDA)).to_vector<float>();
      check_close(gpu, reference_distances(points), 1e-5, 1e-9, values == &shifted ? "shifted" : "clusters");
      check_exact_distance_matrix(gpu, n);
    }
  }
}

TEST_CASE("CUDA spanning forests take no infinite edge and input checks refuse overflowing clouds as on the CPU") {
  const float inf = INFINITY;
  Generator generator(606);
  std::vector<float> sparse = tie_heavy_distances(60, 4, generator);
  for (int64_t i = 0; i < 60; ++i)
    for (int64_t j = 0; j < 60; ++j)
      if (i != j && (i < 20) != (j < 20)) sparse[i * 60 + j] = inf;  // vertices 0..19 and 20..59 never meet
  const Tensor matrix = Tensor::from_vector(sparse, {60, 60});
  for (float threshold : {inf, 2.0f}) {
    CAPTURE(threshold);
    const auto cpu = backend_spanning_forest(matrix, threshold);
    const auto gpu = backend_spanning_forest(matrix.to(Device::CUDA), threshold);
    REQUIRE(gpu.size() == cpu.size());
    for (size_t e = 0; e < cpu.size(); ++e) {
      CHECK(gpu[e].edge.u == cpu[e].edge.u);
      CHECK(gpu[e].edge.v == cpu[e].edge.v);
      CHECK(gpu[e].length == cpu[e].length);
    }
  }
  std::vector<float> values(4 * 40, 0.0f);  // a square of side 1.4e19: its diagonals' squares overflow
  values[0] = 1e19f;
  values[40] = -1e19f;
  values[2 * 40 + 1] = 1e19f;
  values[3 * 40 + 1] = -1e19f;
  const Tensor far = Tensor::from_vector(values, {4, 40});
  const std::string message = error_message([&] { topology::persistence(far.to(Device::CUDA)); });
  CHECK(message.find("cloud 0, point 0 lies") != std::string::npos);
  CHECK(message == error_message([&] { topology::persistence(far); }));
}

TEST_CASE("the time limit stops a run on CUDA tensors within a small margin") {
  Generator generator(9);
  const Tensor points = data::torus(800, 2.0f, 0.7f, 0.02f, generator).to(Device::CUDA);
  topology::PersistenceOptions options;
  options.time_limit_seconds = 0.3;
  options.on_limit = topology::OnLimit::Truncate;
  const auto start = std::chrono::steady_clock::now();
  const topology::PersistenceResult r = topology::persistence(points, options);
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 0.8);
  CHECK(r.truncated);
  CHECK(r.diagrams[0].pairs.size() == 799);
}

TEST_CASE("on CUDA the memory guard counts every edge's H1 column before anything is allocated") {
  // The backend lists all 319,600 edges: 20 bytes each on the device and 20 in the host copy, 16 of sort keys.
  Generator generator(9);
  const Tensor points = data::torus(800, 2.0f, 0.7f, 0.02f, generator).to(Device::CUDA);
  topology::PersistenceOptions options;
  options.memory_limit_bytes = size_t(12) << 20;
  const std::string message = error_message([&] { topology::persistence(points, options); });
  CHECK(message.find("persistence of 800 points needs more than 22.0 MiB for H1 (distance matrices 4.9 MiB, H1 "
                     "columns and their sort keys 17.1 MiB at 56 bytes per edge") != std::string::npos);
  options.on_limit = topology::OnLimit::Truncate;
  const topology::PersistenceResult r = topology::persistence(points, options);
  CHECK(r.truncated);
  CHECK(r.diagrams[0].pairs.size() == 799);
  CHECK(r.diagrams[1].pairs.empty());
}

TEST_CASE("H1 columns agree between CPU and CUDA in order and in every field") {
  Generator generator(303);
  const std::vector<float> integers = tie_heavy_distances(200, 5, generator);
  const Tensor matrices[] = {topology::pairwise_distances(data::torus(400, 2.0f, 0.7f, 0.02f, generator)),
                             Tensor::from_vector(integers, {200, 200})};
  for (const Tensor& matrix : matrices) {
    for (float threshold : {0.5f, 3.0f}) {
      CAPTURE(threshold);
      const auto cpu = backend_h1_columns(matrix, threshold);
      const auto gpu = backend_h1_columns(matrix.to(Device::CUDA), threshold);
      REQUIRE(gpu.size() == cpu.size());
      for (size_t c = 0; c < cpu.size(); ++c) {
        CAPTURE(c);
        CHECK(gpu[c].diameter == cpu[c].diameter);
        CHECK(gpu[c].edge.u == cpu[c].edge.u);
        CHECK(gpu[c].edge.v == cpu[c].edge.v);
        CHECK(gpu[c].cofacet_vertex == cpu[c].cofacet_vertex);
        CHECK(gpu[c].apparent == cpu[c].apparent);
      }
    }
  }
}

TEST_CASE("batched persistence on CUDA equals the CPU for clouds of different sizes") {
  Generator generator(202);
  std::vector<Tensor> clouds{data::noisy_circle(200, 1.0f, 0.1f, generator), data::uniform_cube(1, 3, generator),
                             data::torus(513, 2.0f, 0.7f, 0.01f, generator), data::two_circles(64, 0.05f, generator)};
  clouds[0] = concat({clouds[0], Tensor::zeros({200, 1})}, 1);  // every cloud of a batch has the same dimension
  clouds[3] = concat({clouds[3], Tensor::zeros({64, 1})}, 1);
  std::vector<Tensor> on_gpu;
  for (const Tensor& c : clouds) on_gpu.push_back(c.to(Device::CUDA));
  // Distances are computed from a matrix copied to the CPU in both runs, so the critical edges must agree.
  std::vector<Tensor> gpu_matrices, cpu_matrices;
  for (size_t c = 0; c < clouds.size(); ++c) {
    gpu_matrices.push_back(topology::pairwise_distances(on_gpu[c]));
    cpu_matrices.push_back(gpu_matrices.back().to(Device::CPU));
  }
  const auto gpu = topology::persistence_batch_from_distances(gpu_matrices);
  const auto cpu = topology::persistence_batch_from_distances(cpu_matrices);
  for (size_t c = 0; c < clouds.size(); ++c) {
    CAPTURE(c);
    for (int k = 0; k < 2; ++k) {
      const auto& a = gpu[c].diagrams[k].pairs;
      const auto& b = cpu[c].diagrams[k].pairs;
      REQUIRE(a.size() == b.size());
      for (size_t i = 0; i < a.size(); ++i) {
        CHECK(a[i].death == b[i].death);
        CHECK(a[i].death_edge.u == b[i].death_edge.u);
        CHECK(a[i].death_edge.v == b[i].death_edge.v);
        CHECK(a[i].birth_edge.u == b[i].birth_edge.u);
      }
    }
  }
  // From points, distances differ by rounding (FMA on the GPU), so compare values within tolerance.
  const auto from_points = topology::persistence_batch(on_gpu);
  const auto reference = topology::persistence_batch(clouds);
  for (size_t c = 0; c < clouds.size(); ++c) {
    std::vector<float> gpu_deaths, cpu_deaths;
    for (const auto& p : from_points[c].diagrams[0].pairs) gpu_deaths.push_back(p.death);
    for (const auto& p : reference[c].diagrams[0].pairs) cpu_deaths.push_back(p.death);
    std::sort(gpu_deaths.begin(), gpu_deaths.end());
    std::sort(cpu_deaths.begin(), cpu_deaths.end());
    check_close(gpu_deaths, cpu_deaths, 1e-5, 1e-5, "H0 deaths from points");
  }
}

TEST_CASE("diagram gradients scatter onto CUDA points as on the CPU and identically on every run") {
  Generator generator(404);
  const Tensor target = data::noisy_circle(300, 1.0f, 0.1f, generator);
  const Tensor cloud = data::gaussian_cloud(256, 2, generator);
  auto gradient_on = [&](Device device) {
    Tensor points = cloud.to(device).set_requires_grad(true);
    const auto x = topology::persistence_diagrams(target.to(device));
    const auto z = topology::persistence_diagrams(points);
    (topology::wasserstein_distance(x.diagrams[0], z.diagrams[0]) +
     topology::wasserstein_distance(x.diagrams[1], z.diagrams[1], 2.0))
        .backward();
    return points.grad().to_vector<float>();
  };
  const std::vector<float> cpu = gradient_on(Device::CPU);
  const std::vector<float> gpu = gradient_on(Device::CUDA);
  check_close(gpu, cpu, 1e-3, 1e-5, "points gradient");
  CHECK(gradient_on(Device::CUDA) == gpu);
}

}  // namespace tl::testing

namespace tl::testing {
namespace {

// Every kernel's output for a batch of clouds of one dimension, run through the backend of the points' device and
// copied to the host: distances, radii, forests and H1 columns (at each cloud's enclosing radius).
struct BatchOutputs {
  std::vector<float> distances, radii;
  std::vector<kernels::WeightedEdge> forests;
  std::vector<int32_t> forest_counts;
  std::vector<kernels::H1Column> columns;
  std::vector<int64_t> column_counts;
};

BatchOutputs batch_outputs(const std::vector<int64_t>& sizes, const Tensor& points, float threshold) {
  const Device device = points.device();
  std::vector<int64_t> point_offsets{0}, matrix_offsets{0}, edge_offsets{0};
  for (int64_t n : sizes) {
    point_offsets.push_back(point_offsets.back() + n);
    matrix_offsets.push_back(matrix_offsets.back() + n * n);
    edge_offsets.push_back(edge_offsets.back() + n * (n - 1) / 2);
  }
  const int64_t count = static_cast<int64_t>(sizes.size());
  const kernels::CloudBatch batch{count, points.dim(1), point_offsets.data(), matrix_offsets.data(),
                                  edge_offsets.data()};
  const kernels::TopologyBackend& backend = kernels::topology_backend_for(device);
  Storage dist(static_cast<size_t>(matrix_offsets.back()) * sizeof(float), device);
  Storage radii(static_cast<size_t>(count) * sizeof(float), device);
  Storage forests(static_cast<size_t>(point_offsets.back()) * sizeof(kernels::WeightedEdge), device);
  Storage forest_counts(static_cast<size_t>(count) * sizeof(int32_t), device);
  Storage columns(static_cast<size_t>(std::max<int64_t>(edge_offsets.back(), 1)) * sizeof(kernels::H1Column), device);
  auto* d = static_cast<float*>(dist.data());
  backend.pairwise_distances(points.data<float>(), batch, d);
  backend.enclosing_radii(d, batch, static_cast<float*>(radii.data()));
  backend.minimum_spanning_forest(d, batch, threshold, static_cast<kernels::WeightedEdge*>(forests.data()),
                                  static_cast<int32_t*>(forest_counts.data()));
  BatchOutputs out;
  out.distances.resize(static_cast<size_t>(matrix_offsets.back()));
  out.radii.resize(static_cast<size_t>(count));
  out.forests.resize(static_cast<size_t>(point_offsets.back()));
  out.forest_counts.resize(static_cast<size_t>(count));
  copy_bytes(out.distances.data(), Device::CPU, d, device, dist.bytes());
  copy_bytes(out.radii.data(), Device::CPU, radii.data(), device, radii.bytes());
  copy_bytes(out.forests.data(), Device::CPU, forests.data(), device, forests.bytes());
  copy_bytes(out.forest_counts.data(), Device::CPU, forest_counts.data(), device, forest_counts.bytes());
  out.column_counts.resize(static_cast<size_t>(count));
  backend.h1_columns(d, batch, out.radii.data(), static_cast<kernels::WeightedEdge*>(forests.data()),
                     static_cast<int32_t*>(forest_counts.data()), kernels::Deadline{},
                     static_cast<kernels::H1Column*>(columns.data()), out.column_counts.data());
  out.columns.resize(static_cast<size_t>(std::max<int64_t>(edge_offsets.back(), 1)));
  copy_bytes(out.columns.data(), Device::CPU, columns.data(), device, columns.bytes());
  for (int64_t c = 0; c < count; ++c)  // the slots past each cloud's columns are not written: clear them
    for (int64_t k = edge_offsets[c] + out.column_counts[c]; k < edge_offsets[c + 1]; ++k) out.columns[k] = {};
  return out;
}

// The CUDA outputs equal the CPU's: distances within rounding, everything downstream of them exactly (the distances
// agree bit for bit on these inputs only where `exact` says so; otherwise forests and columns are compared by count).
void check_batch_parity(const std::vector<int64_t>& sizes, const Tensor& points, float threshold, bool exact) {
  const BatchOutputs cpu = batch_outputs(sizes, points, threshold);
  const BatchOutputs gpu = batch_outputs(sizes, points.to(Device::CUDA), threshold);
  check_close(gpu.distances, cpu.distances, 1e-5, 1e-5, "batched distances");
  REQUIRE(gpu.forest_counts == cpu.forest_counts);
  if (!exact) return;
  CHECK(gpu.distances == cpu.distances);
  CHECK(gpu.radii == cpu.radii);
  CHECK(gpu.column_counts == cpu.column_counts);
  size_t forest_mismatches = 0, column_mismatches = 0;
  size_t first = 0;  // cloud c's forest starts at its first point's slot; only forest_counts[c] slots are written
  for (size_t c = 0; c < sizes.size(); first += static_cast<size_t>(sizes[c++])) {
    for (size_t e = first; e < first + static_cast<size_t>(cpu.forest_counts[c]); ++e)
      forest_mismatches += gpu.forests[e].edge.u != cpu.forests[e].edge.u ||
                           gpu.forests[e].edge.v != cpu.forests[e].edge.v ||
                           gpu.forests[e].length != cpu.forests[e].length;
  }
  for (size_t k = 0; k < cpu.columns.size(); ++k)
    column_mismatches += gpu.columns[k].edge.u != cpu.columns[k].edge.u ||
                         gpu.columns[k].edge.v != cpu.columns[k].edge.v ||
                         gpu.columns[k].diameter != cpu.columns[k].diameter ||
                         gpu.columns[k].cofacet_vertex != cpu.columns[k].cofacet_vertex ||
                         gpu.columns[k].apparent != cpu.columns[k].apparent;
  CHECK(forest_mismatches == 0);
  CHECK(column_mismatches == 0);
}

}  // namespace

TEST_CASE("the batched Gram distance path agrees with the CPU over several clouds above 32 dimensions") {
  Generator generator(707);
  const std::vector<int64_t> sizes{40, 7, 129, 1, 64};
  for (int64_t dim : {33, 100}) {
    CAPTURE(dim);
    const Tensor points = data::gaussian_cloud(241, dim, generator);
    check_batch_parity(sizes, points, INFINITY, false);
    // Every cloud's block of the batch equals that cloud's own distances on CUDA (no offset mixes clouds up).
    const std::vector<float> batched = batch_outputs(sizes, points.to(Device::CUDA), INFINITY).distances;
    int64_t first_point = 0, first_entry = 0;
    for (int64_t n : sizes) {
      const std::vector<float> own =
          topology::pairwise_distances(slice(points, 0, first_point, first_point + n).to(Device::CUDA))
              .to_vector<float>();
      CHECK(std::equal(own.begin(), own.end(), batched.begin() + first_entry));
      first_point += n;
      first_entry += n * n;
    }
  }
}

TEST_CASE("CUDA spanning forests cut at a finite threshold start new trees as the CPU does") {
  Generator generator(808);
  // Integer coordinates: the direct distances are exact square roots of integers on both devices.
  std::vector<float> values = data::uniform_cube(300, 2, generator).to_vector<float>();
  for (float& v : values) v = std::floor(40.0f * v);
  const Tensor points = Tensor::from_vector(values, {300, 2});
  for (float threshold : {0.0f, 1.0f, 2.5f, 4.0f}) {
    CAPTURE(threshold);
    check_batch_parity({300}, points, threshold, true);
    check_batch_parity({100, 150, 50}, points, threshold, true);
    const auto forest = backend_spanning_forest(topology::pairwise_distances(points.to(Device::CUDA)), threshold);
    if (threshold == 1.0f) CHECK(forest.size() < 299);  // several trees
    topology::PersistenceOptions options;
    options.threshold = threshold;
    const topology::PersistenceResult cpu = topology::persistence(points, options);
    const topology::PersistenceResult gpu = topology::persistence(points.to(Device::CUDA), options);
    CHECK(gpu.diagrams[0].pairs.size() == cpu.diagrams[0].pairs.size());
    CHECK(gpu.diagrams[0].essential.size() == cpu.diagrams[0].essential.size());
    CHECK(gpu.diagrams[1].pairs.size() == cpu.diagrams[1].pairs.size());
  }
}

TEST_CASE("a batch of more clouds than a grid dimension holds runs in chunks and agrees with the CPU") {
  // 66,000 clouds of 4 points: the cloud index passes kernels::kMaxGridClouds (65,535) on every kernel.
  const int64_t count = kernels::kMaxGridClouds + 465;
  Generator generator(909);
  std::vector<float> values = data::uniform_cube(count * 4, 2, generator).to_vector<float>();
  for (float& v : values) v = std::floor(8.0f * v);
  const Tensor points = Tensor::from_vector(values, {count * 4, 2});
  check_batch_parity(std::vector<int64_t>(static_cast<size_t>(count), 4), points, INFINITY, true);
  check_batch_parity(std::vector<int64_t>(static_cast<size_t>(count), 4), points, 2.0f, true);
  // The Gram path too: 33 dimensions, distances within rounding and the same forest sizes.
  const Tensor wide = data::gaussian_cloud(count * 2, 33, generator);
  check_batch_parity(std::vector<int64_t>(static_cast<size_t>(count), 2), wide, INFINITY, false);
}

TEST_CASE("the CUDA caching allocator poisons blocks with NaN, detects double frees and counts round trips") {
  const bool was_poisoning = cuda_runtime::poisoning();
  cuda_runtime::set_poisoning(true);
  {
    const Tensor written = Tensor::ones({1000}, Device::CUDA);  // a block the next allocation may reuse
  }
  const std::vector<float> fresh = Tensor::empty({1000}, Device::CUDA).to_vector<float>();
  CHECK(std::all_of(fresh.begin(), fresh.end(), [](float v) { return std::isnan(v); }));
  cuda_runtime::set_poisoning(was_poisoning);

  void* block = cuda_runtime::allocate(256);
  cuda_runtime::deallocate(block);
  const std::string twice = error_message([&] { cuda_runtime::deallocate(block); });
  CHECK(twice.find("not in use (freed twice") != std::string::npos);
  std::ostringstream name;
  name << block;
  CHECK(twice.find(name.str()) != std::string::npos);
  int on_the_stack = 0;
  CHECK(error_message([&] { cuda_runtime::deallocate(&on_the_stack); }).find("never allocated here") !=
        std::string::npos);

  const Tensor x = Tensor::ones({64}, Device::CUDA);
  cuda_runtime::reset_transfer_stats();
  CHECK(x.to_vector<float>().size() == 64);
  const Tensor y = Tensor::from_vector(std::vector<float>(8, 1.0f), {8}, Device::CUDA);
  cuda_runtime::synchronize();
  const cuda_runtime::TransferStats stats = cuda_runtime::transfer_stats();
  CHECK(stats.device_to_host_copies == 1);
  CHECK(stats.host_to_device_copies == 1);
  CHECK(stats.synchronizations == 1);
}

TEST_CASE("persistence on CUDA copies to the host once for the checks and once for the forests, plus H1's lists") {
  Generator generator(111);
  const Tensor points = data::gaussian_cloud(200, 3, generator).to(Device::CUDA);
  topology::PersistenceOptions h0;
  h0.max_dim = 0;
  cuda_runtime::reset_transfer_stats();
  const topology::PersistenceResult r0 = topology::persistence(points, h0);
  // The inputs for the checks, then the forests with their counts and enclosing radii: never the 200 x 200 matrix.
  CHECK(cuda_runtime::transfer_stats().device_to_host_copies == 2);
  CHECK(cuda_runtime::transfer_stats().synchronizations == 0);
  CHECK(r0.enclosing_radius == topology::persistence(points.to(Device::CPU), h0).enclosing_radius);

  cuda_runtime::reset_transfer_stats();
  const topology::PersistenceResult r1 = topology::persistence(points);
  // H1 adds the matrix, the column counts and the columns (one copy for the whole batch).
  CHECK(cuda_runtime::transfer_stats().device_to_host_copies == 5);

  const Tensor matrix = topology::pairwise_distances(points);
  cuda_runtime::reset_transfer_stats();
  const std::vector<topology::PersistenceResult> both = topology::persistence_batch_from_distances({matrix, matrix});
  // A matrix input comes down once, for the checks, and the reduction reads that copy.
  CHECK(cuda_runtime::transfer_stats().device_to_host_copies == 4);
  CHECK(both[1].diagrams[1].pairs.size() == r1.diagrams[1].pairs.size());
}

}  // namespace tl::testing
