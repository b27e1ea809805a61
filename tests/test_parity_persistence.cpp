// CPU-vs-CUDA parity of the persistence kernels: distances on both paths, the H1 reduction columns (filtration
// sort, apparent and emergent cofacets), spanning forests (identical edges: the filtration order makes them
// unique), whole batches of diagrams computed from CUDA tensors, and the scatter of diagram gradients onto
// points (equal to the CPU's, and bit-identical from run to run).
#include <algorithm>

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
