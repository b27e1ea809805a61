// Diagram matchings: W_1, W_2 and the bottleneck distance under both ground metrics against a brute force over
// every matching of small diagrams (both the line and the Hungarian paths), hand-computed cases, bad input, and
// the gradients of the differentiable distances against central finite differences.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "nn/data/synthetic.h"
#include "tests/test_support.h"
#include "topology/matching.h"

namespace tl::testing {
namespace {

using topology::DiagramMatching;
using topology::GroundMetric;

struct BruteForce {
  double wasserstein;  // (min sum c^p)^(1/p)
  double bottleneck;   // min max c
};

// Every permutation of the (n + m)-square problem with diagonal slots (the textbook reduction).
BruteForce brute_force(const std::vector<float>& a, const std::vector<float>& b, double p, GroundMetric metric) {
  const int n = static_cast<int>(a.size() / 2), m = static_cast<int>(b.size() / 2), size = n + m;
  auto cost = [&](int row, int column) {
    if (row < n && column < m) return topology::matching_cost(&a[2 * row], &b[2 * column], metric);
    if (row < n) return topology::matching_cost(&a[2 * row], nullptr, metric);
    if (column < m) return topology::matching_cost(&b[2 * column], nullptr, metric);
    return 0.0;
  };
  std::vector<int> permutation(size);
  std::iota(permutation.begin(), permutation.end(), 0);
  BruteForce best{INFINITY, INFINITY};
  do {
    double sum = 0.0, largest = 0.0;
    for (int row = 0; row < size; ++row) {
      sum += std::pow(cost(row, permutation[row]), p);
      largest = std::max(largest, cost(row, permutation[row]));
    }
    best.wasserstein = std::min(best.wasserstein, sum);
    best.bottleneck = std::min(best.bottleneck, largest);
  } while (std::next_permutation(permutation.begin(), permutation.end()));
  best.wasserstein = std::pow(best.wasserstein, 1.0 / p);
  return best;
}

// The matching covers every point once, and its cost is the reported distance.
void check_matching(const DiagramMatching& matching, const std::vector<float>& a, const std::vector<float>& b, double p,
                    GroundMetric metric, bool bottleneck) {
  std::vector<int> seen_a(a.size() / 2, 0), seen_b(b.size() / 2, 0);
  double sum = 0.0, largest = 0.0;
  for (const auto& [i, j] : matching.pairs) {
    REQUIRE((i >= 0 || j >= 0));
    if (i >= 0) ++seen_a[i];
    if (j >= 0) ++seen_b[j];
    const double c = i < 0 ? topology::matching_cost(&b[2 * j], nullptr, metric)
                           : topology::matching_cost(&a[2 * i], j >= 0 ? &b[2 * j] : nullptr, metric);
    sum += std::pow(c, p);
    largest = std::max(largest, c);
  }
  for (int s : seen_a) CHECK(s == 1);
  for (int s : seen_b) CHECK(s == 1);
  CHECK(matching.distance == doctest::Approx(bottleneck ? largest : std::pow(sum, 1.0 / p)).epsilon(1e-12));
}

std::vector<float> random_diagram(int points, bool births_zero, Generator& generator) {
  const std::vector<float> u = data::uniform_cube(points, 2, generator).to_vector<float>();
  std::vector<float> out;
  for (int i = 0; i < points; ++i) {
    const float birth = births_zero ? 0.0f : u[2 * i];
    out.push_back(birth);
    out.push_back(birth + 0.05f + u[2 * i + 1]);
  }
  return out;
}

}  // namespace

TEST_CASE("matchings equal a brute force over every matching") {
  Generator generator(42);
  for (bool births_zero : {false, true}) {  // the Hungarian path, then the line path
    for (int n = 0; n <= 4; ++n) {
      for (int m = 0; m + n <= 7 && m <= 4; ++m) {
        const std::vector<float> a = random_diagram(n, births_zero, generator),
                                 b = random_diagram(m, births_zero, generator);
        for (GroundMetric metric : {GroundMetric::LInf, GroundMetric::L2}) {
          for (double p : {1.0, 2.0}) {
            CAPTURE(births_zero);
            CAPTURE(n);
            CAPTURE(m);
            CAPTURE(p);
            const BruteForce expected = brute_force(a, b, p, metric);
            const DiagramMatching w = topology::wasserstein_matching(a, b, p, metric);
            CHECK(w.distance == doctest::Approx(expected.wasserstein).epsilon(1e-9));
            check_matching(w, a, b, p, metric, false);
          }
          const DiagramMatching bn = topology::bottleneck_matching(a, b, metric);
          CHECK(bn.distance == doctest::Approx(brute_force(a, b, 1.0, metric).bottleneck).epsilon(1e-12));
          check_matching(bn, a, b, 1.0, metric, true);
        }
      }
    }
  }
}

TEST_CASE("hand-computed distances") {
  const std::vector<float> one_bar{0, 2};
  CHECK(topology::wasserstein_matching(one_bar, {}).distance == doctest::Approx(1.0));  // to the diagonal: 2 / 2
  CHECK(topology::wasserstein_matching(one_bar, {}, 1.0, GroundMetric::L2).distance == doctest::Approx(std::sqrt(2.0)));
  CHECK(topology::bottleneck_matching({}, one_bar).distance == doctest::Approx(1.0));
  // H0-like: (0,10) matches (0,10.5) at 0.5, (0,1) goes to the diagonal at 0.5.
  const std::vector<float> a{0, 1, 0, 10}, b{0, 10.5f};
  CHECK(topology::wasserstein_matching(a, b).distance == doctest::Approx(1.0));
  CHECK(topology::wasserstein_matching(a, b, 2.0).distance == doctest::Approx(std::sqrt(0.5)));
  CHECK(topology::bottleneck_matching(a, b).distance == doctest::Approx(0.5));
  // (1,3) vs (2,5): matched at max(1, 2) = 2; both to the diagonal cost 1 and 1.5. W_1 matches them (2 < 2.5);
  // W_2 does not (4 > 1 + 2.25); the bottleneck takes the diagonal too (1.5 < 2).
  const std::vector<float> c{1, 3}, d{2, 5};
  const DiagramMatching w1 = topology::wasserstein_matching(c, d);
  CHECK(w1.distance == doctest::Approx(2.0));
  REQUIRE(w1.pairs.size() == 1);
  CHECK(w1.pairs[0] == std::pair<int32_t, int32_t>{0, 0});
  CHECK(topology::wasserstein_matching(c, d, 2.0).distance == doctest::Approx(std::sqrt(3.25)));
  CHECK(topology::bottleneck_matching(c, d).distance == doctest::Approx(1.5));
  CHECK(topology::wasserstein_matching({}, {}).distance == 0.0);
}

TEST_CASE("matching input errors name the problem") {
  CHECK(error_message([] { topology::wasserstein_matching({0, 1, 2}, {}); }).find("even length") != std::string::npos);
  CHECK(error_message([] {
          topology::wasserstein_matching({0, INFINITY}, {});
        }).find("diagram A point 0 has a non-finite death inf") != std::string::npos);
  CHECK(error_message([] {
          topology::wasserstein_matching({0, 1}, {0, 2}, 0.5);
        }).find("p must be") != std::string::npos);
  CHECK(error_message([] {
          topology::wasserstein_distance(Tensor::zeros({3, 3}), Tensor::zeros({2, 2}));
        }).find("[points, 2]") != std::string::npos);
}

TEST_CASE("diagram distance gradients match finite differences") {
  Generator generator(7);
  const Tensor a = Tensor::from_vector(random_diagram(5, false, generator), {5, 2});
  const Tensor b = Tensor::from_vector(random_diagram(4, false, generator), {4, 2});
  const Tensor h0_a = Tensor::from_vector(random_diagram(6, true, generator), {6, 2});
  const Tensor h0_b = Tensor::from_vector(random_diagram(3, true, generator), {3, 2});
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&, const Tensor&)> distance;
  };
  const Case cases[] = {
      {"W1 L_inf", [](const Tensor& x, const Tensor& y) { return topology::wasserstein_distance(x, y); }},
      {"W2 L_inf", [](const Tensor& x, const Tensor& y) { return topology::wasserstein_distance(x, y, 2.0); }},
      {"W2 L_2",
       [](const Tensor& x, const Tensor& y) { return topology::wasserstein_distance(x, y, 2.0, GroundMetric::L2); }},
      {"bottleneck", [](const Tensor& x, const Tensor& y) { return topology::bottleneck_distance(x, y); }}};
  for (const Case& c : cases) {
    for (const auto& [x, y] : {std::pair{a, b}, std::pair{h0_a, h0_b}}) {
      CAPTURE(c.name);
      for (size_t which : {0u, 1u}) {
        std::vector<Tensor> inputs{x.clone().set_requires_grad(true), y.clone().set_requires_grad(true)};
        c.distance(inputs[0], inputs[1]).backward();
        const std::vector<float> numeric = numeric_gradient(
            [&](const std::vector<Tensor>& v) { return c.distance(v[0], v[1]).item(); }, {x, y}, which, 1e-3f);
        check_close(inputs[which].grad().to_vector<float>(), numeric, 1e-2, 1e-3, c.name);
      }
    }
  }
}

}  // namespace tl::testing
