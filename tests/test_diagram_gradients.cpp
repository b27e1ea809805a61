// Differentiable persistence: diagram tensors carry the engine's values, their backward equals the analytic
// scatter sum_edges g (x_i - x_j) / D_ij computed here in double precision, distance-matrix input gets the
// symmetric half-and-half gradient, and whole losses (W_1, W_2, bottleneck between the diagrams of two clouds)
// match central finite differences with respect to the coordinates.
#include <cmath>

#include "nn/data/synthetic.h"
#include "tests/persistence_reference.h"
#include "tests/test_support.h"
#include "topology/differentiable.h"
#include "topology/matching.h"

namespace tl::testing {

TEST_CASE("diagram tensors hold the engine's values and scatter gradients onto the critical edges' ends") {
  Generator generator(12);
  const int64_t n = 40, dim = 3;
  Tensor points = data::uniform_cube(n, dim, generator).set_requires_grad(true);
  const topology::DifferentiableDiagrams dd = topology::persistence_diagrams(points);
  REQUIRE(dd.diagrams.size() == 2);
  const std::vector<Tensor> weights{data::uniform_cube(dd.diagrams[0].dim(0), 2, generator),
                                    data::uniform_cube(dd.diagrams[1].dim(0), 2, generator)};
  Tensor loss = sum(mul(dd.diagrams[0], weights[0])) + sum(mul(dd.diagrams[1], weights[1]));
  loss.backward();

  const std::vector<float> x = points.to_vector<float>();
  std::vector<double> expected(x.size(), 0.0);
  auto scatter = [&](const kernels::Edge& e, double g) {
    double length = 0.0;
    for (int64_t k = 0; k < dim; ++k) length += std::pow(double(x[e.u * dim + k]) - x[e.v * dim + k], 2);
    length = std::sqrt(length);
    for (int64_t k = 0; k < dim; ++k) {
      const double step = g * (double(x[e.u * dim + k]) - x[e.v * dim + k]) / length;
      expected[e.u * dim + k] += step;
      expected[e.v * dim + k] -= step;
    }
  };
  for (int k = 0; k < 2; ++k) {
    const std::vector<float> values = dd.diagrams[k].to_vector<float>(), w = weights[k].to_vector<float>();
    const auto& pairs = dd.result.diagrams[k].pairs;
    REQUIRE(values.size() == 2 * pairs.size());
    for (size_t p = 0; p < pairs.size(); ++p) {
      CHECK(values[2 * p] == pairs[p].birth);
      CHECK(values[2 * p + 1] == pairs[p].death);
      if (k == 1) scatter(pairs[p].birth_edge, w[2 * p]);
      scatter(pairs[p].death_edge, w[2 * p + 1]);
    }
  }
  check_close(points.grad().to_vector<float>(), std::vector<float>(expected.begin(), expected.end()), 1e-4, 1e-5,
              "scatter");
}

TEST_CASE("a distance-matrix input gets half of each edge's gradient on either side") {
  Generator generator(13);
  const int64_t n = 15;
  const Tensor matrix = topology::pairwise_distances(data::gaussian_cloud(n, 2, generator));
  Tensor d = matrix.clone().set_requires_grad(true);
  const topology::DifferentiableDiagrams dd = topology::persistence_diagrams_from_distances(d);
  sum(slice(dd.diagrams[0], 1, 1, 2)).backward();  // the sum of the H0 deaths: the MST's total length
  std::vector<float> expected(static_cast<size_t>(n * n), 0.0f);
  for (const reference::Pair& p : reference::kruskal_h0(matrix.to_vector<float>(), n)) {
    expected[p.death_edge.u * n + p.death_edge.v] = 0.5f;
    expected[p.death_edge.v * n + p.death_edge.u] = 0.5f;
  }
  CHECK(d.grad().to_vector<float>() == expected);
}

TEST_CASE("diagram-distance losses between two clouds match finite differences in the coordinates") {
  Generator generator(14);
  const Tensor target = data::noisy_circle(14, 1.0f, 0.1f, generator);
  const Tensor cloud = data::gaussian_cloud(12, 2, generator);
  using Distance = std::function<Tensor(const Tensor&, const Tensor&)>;
  const std::pair<const char*, Distance> distances[] = {
      {"W1", [](const Tensor& a, const Tensor& b) { return topology::wasserstein_distance(a, b); }},
      {"W2", [](const Tensor& a, const Tensor& b) { return topology::wasserstein_distance(a, b, 2.0); }},
      {"bottleneck", [](const Tensor& a, const Tensor& b) { return topology::bottleneck_distance(a, b); }}};
  for (const auto& entry : distances) {  // no structured bindings: clang's doctest macros capture them in lambdas
    const char* name = entry.first;
    const Distance& distance = entry.second;
    CAPTURE(name);
    auto loss = [&, distance = distance](const std::vector<Tensor>& v) {
      const auto x = topology::persistence_diagrams(v[0]), z = topology::persistence_diagrams(v[1]);
      return distance(x.diagrams[0], z.diagrams[0]) + distance(x.diagrams[1], z.diagrams[1]);
    };
    std::vector<Tensor> inputs{target, cloud.clone().set_requires_grad(true)};
    loss(inputs).backward();
    const std::vector<float> numeric =
        numeric_gradient([&](const std::vector<Tensor>& v) { return loss(v).item(); }, {target, cloud}, 1, 1e-3f);
    check_close(inputs[1].grad().to_vector<float>(), numeric, 2e-2, 2e-3, name);
  }
}

}  // namespace tl::testing
