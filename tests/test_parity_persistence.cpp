// CPU-vs-CUDA parity of the persistence kernels: distances on both paths (also of clouds far from the origin and
// of tight clusters, against a double-precision reference), the H1 reduction columns (filtration sort, apparent
// and emergent cofacets), spanning forests (identical edges: the filtration order makes them unique, and an
// infinite length is no edge), whole batches of diagrams computed from CUDA tensors, the input checks and the
// time limit on CUDA tensors, and the scatter of diagram gradients onto points (equal to the CPU's, and
// bit-identical from run to run).
#include <algorithm>
#include <chrono>
#include <cmath>

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
