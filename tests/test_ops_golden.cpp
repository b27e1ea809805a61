// Forward values of the ops against results worked out by hand, including numerically hard inputs.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "tests/test_support.h"

namespace tl::testing {
namespace {
Tensor t(std::vector<float> values, Shape shape) {
  return Tensor::from_vector(values, shape);
}
std::vector<float> v(const Tensor& x) {
  return x.to_vector<float>();
}
}  // namespace

TEST_CASE("broadcast arithmetic") {
  const Tensor m = t({1, 2, 3, 4}, {2, 2});
  CHECK(v(add(m, t({10, 20}, {2}))) == std::vector<float>{11, 22, 13, 24});
  CHECK(v(sub(m, t({1, 2}, {2, 1}))) == std::vector<float>{0, 1, 1, 2});
  CHECK(v(mul(m, t({3}, {}))) == std::vector<float>{3, 6, 9, 12});
  CHECK(v(div(t({2}, {1}), m)) == std::vector<float>{2, 1, 2.0f / 3.0f, 0.5f});
  CHECK(add(t({1, 2}, {2, 1, 1}), t({1, 2, 3}, {3})).shape() == Shape{2, 1, 3});
  CHECK(v(m * 2.0f - 1.0f) == std::vector<float>{1, 3, 5, 7});
  CHECK(v(-m / 2.0f) == std::vector<float>{-0.5f, -1, -1.5f, -2});
}

TEST_CASE("matmul with transpose flags") {
  const Tensor a = t({1, 2, 3, 4}, {2, 2});
  const Tensor b = t({5, 6, 7, 8}, {2, 2});
  CHECK(v(matmul(a, b)) == std::vector<float>{19, 22, 43, 50});
  CHECK(v(matmul(a, b, true, false)) == std::vector<float>{26, 30, 38, 44});
  CHECK(v(matmul(a, b, false, true)) == std::vector<float>{17, 23, 39, 53});
  CHECK(v(matmul(a, b, true, true)) == std::vector<float>{23, 31, 34, 46});
  const Tensor row = t({1, 2, 3}, {1, 3});
  CHECK(v(matmul(row, row, false, true)) == std::vector<float>{14});
}

TEST_CASE("reductions") {
  const Tensor x = t({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(sum(x).item() == 21.0f);
  CHECK(sum(x).rank() == 0);
  CHECK(v(sum(x, 0)) == std::vector<float>{5, 7, 9});
  CHECK(v(sum(x, 1)) == std::vector<float>{6, 15});
  CHECK(sum(x, 1, true).shape() == Shape{2, 1});
  CHECK(mean(x).item() == 3.5f);
  CHECK(v(mean(x, -1)) == std::vector<float>{2, 5});
  const Tensor cube = t({0, 1, 2, 3, 4, 5, 6, 7}, {2, 2, 2});
  CHECK(v(sum(cube, 1)) == std::vector<float>{2, 4, 10, 12});
}

TEST_CASE("unary functions and activations") {
  const Tensor x = t({-1.0f, 0.0f, 0.5f, 2.0f}, {4});
  CHECK(v(relu(x)) == std::vector<float>{0, 0, 0.5f, 2});
  CHECK(v(leaky_relu(x, 0.1f)) == std::vector<float>{-0.1f, 0, 0.5f, 2});
  CHECK(v(abs(x)) == std::vector<float>{1, 0, 0.5f, 2});
  CHECK(v(clamp(x, -0.5f, 1.0f)) == std::vector<float>{-0.5f, 0, 0.5f, 1});
  CHECK(elu(x, 1.0f).to_vector<float>()[0] == doctest::Approx(std::exp(-1.0) - 1.0).epsilon(1e-6));
  CHECK(sigmoid(x).to_vector<float>()[1] == 0.5f);
  CHECK(tanh(x).to_vector<float>()[2] == doctest::Approx(0.46211715726).epsilon(1e-6));
  CHECK(softplus(x).to_vector<float>()[1] == doctest::Approx(std::log(2.0)).epsilon(1e-6));
  CHECK(v(pow(t({4, 9}, {2}), 0.5f)) == std::vector<float>{2, 3});
  CHECK(v(sqrt(t({4, 9}, {2}))) == std::vector<float>{2, 3});
  CHECK(exp(t({1}, {1})).item() == doctest::Approx(M_E).epsilon(1e-6));
  CHECK(log(t({M_E}, {1})).item() == doctest::Approx(1.0).epsilon(1e-6));
}

TEST_CASE("activations stay finite at extreme inputs") {
  const Tensor x = t({-100.0f, 100.0f}, {2});
  // sigmoid(-100) = softplus(-100) = e^-100 / (1 + e^-100) ~ 3.7e-44, a float32 subnormal.
  const std::vector<float> s = v(sigmoid(x)), p = v(softplus(x));
  CHECK(s[0] > 3.0e-44f);
  CHECK(s[0] < 4.5e-44f);
  CHECK(s[1] == 1.0f);
  CHECK(p[0] > 3.0e-44f);
  CHECK(p[0] < 4.5e-44f);
  CHECK(p[1] == 100.0f);
  CHECK(v(tanh(x)) == std::vector<float>{-1.0f, 1.0f});
  // BCE with logits of confident predictions: log(1 + e^-100) is ~0, not inf.
  CHECK(bce_with_logits(t({100.0f, -100.0f}, {2}), t({1.0f, 0.0f}, {2}), Reduction::Sum).item() ==
        doctest::Approx(0.0).epsilon(1e-6));
}

TEST_CASE("a NaN input stays NaN through every activation and clamp, as in other frameworks") {
  // A NaN weight must not train on unnoticed: relu and clamp used to map NaN to 0 and to the lower bound.
  const Tensor x = t({std::nanf(""), -0.0f}, {2});
  for (const auto& named : std::vector<std::pair<std::string, Tensor>>{{"relu", relu(x)},
                                                                       {"leaky_relu", leaky_relu(x, 0.1f)},
                                                                       {"elu", elu(x)},
                                                                       {"clamp", clamp(x, -0.5f, 0.5f)},
                                                                       {"sigmoid", sigmoid(x)},
                                                                       {"tanh", tanh(x)},
                                                                       {"softplus", softplus(x)},
                                                                       {"abs", abs(x)}}) {
    const std::string name = named.first;  // plain variables: doctest's message lambdas cannot capture bindings
    const float value = v(named.second)[0];
    CHECK_MESSAGE(std::isnan(value), name, "(NaN) is ", value);
  }
  CHECK(!std::signbit(v(relu(x))[1]));  // relu(-0) = +0, as before
}

TEST_CASE("losses") {
  // BCE: x = 0, t = 1 gives log 2; x = 2, t = 0 gives log(1 + e^2).
  const double bce = (std::log(2.0) + std::log1p(std::exp(2.0))) / 2.0;
  CHECK(bce_with_logits(t({0, 2}, {2}), t({1, 0}, {2})).item() == doctest::Approx(bce).epsilon(1e-6));
  CHECK(mse_loss(t({1, 2}, {2}), t({3, 5}, {2})).item() == 6.5f);
  CHECK(mse_loss(t({1, 2}, {2}), t({3, 5}, {2}), Reduction::Sum).item() == 13.0f);
  // KL(N(1, 1) || N(0, 1)) = 1/2; KL(N(0, 2) || N(0, 1)) = (1 - log 2) / 2.
  const double kl = 0.5 + 0.5 * (1.0 - std::log(2.0));
  CHECK(gaussian_kl(t({1, 0}, {1, 2}), t({0, static_cast<float>(std::log(2.0))}, {1, 2})).item() ==
        doctest::Approx(kl).epsilon(1e-6));
  CHECK(gaussian_kl(t({1, 1, 1, 1}, {2, 2}), t({0, 0, 0, 0}, {2, 2}), Reduction::BatchMean).item() == 1.0f);
}

TEST_CASE("layout ops") {
  const Tensor x = t({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(v(transpose(x)) == std::vector<float>{1, 4, 2, 5, 3, 6});
  CHECK(reshape(x, {3, -1}).shape() == Shape{3, 2});
  CHECK(v(concat({x, t({7, 8, 9}, {1, 3})}, 0)) == std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(v(concat({x, t({7, 8}, {2, 1})}, 1)) == std::vector<float>{1, 2, 3, 7, 4, 5, 6, 8});
  CHECK(v(slice(x, 1, 1, 3)) == std::vector<float>{2, 3, 5, 6});
  CHECK(slice(x, 0, 1, 1).numel() == 0);
  const Tensor rows = Tensor::from_vector<int64_t>({1, 0, 1}, {3});
  CHECK(v(index_select(x, 0, rows)) == std::vector<float>{4, 5, 6, 1, 2, 3, 4, 5, 6});
  const Tensor cols = Tensor::from_vector<int32_t>({2, 2}, {2});
  CHECK(v(index_select(x, 1, cols)) == std::vector<float>{3, 3, 6, 6});
}

TEST_CASE("reshape is a view over the same storage") {
  Tensor x = Tensor::zeros({2, 3});
  Tensor r = reshape(x, {6});
  CHECK(r.raw_data() == x.raw_data());
  x.data<float>()[4] = 9.0f;
  CHECK(r.to_vector<float>()[4] == 9.0f);
}

}  // namespace tl::testing
