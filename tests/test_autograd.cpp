// The autograd engine: accumulation, shared subexpressions, zero_grad, no_grad, detach, deep graphs, and the
// errors a user meets when calling backward wrongly. Expected gradients are derived by hand.
#include <cmath>

#include "tests/test_support.h"

namespace tl::testing {
namespace {
Tensor leaf(std::vector<float> values) {
  return Tensor::from_vector(values, {static_cast<int64_t>(values.size())}).set_requires_grad(true);
}
std::vector<float> g(const Tensor& x) {
  return x.grad().to_vector<float>();
}
}  // namespace

TEST_CASE("gradients accumulate across backward calls until zero_grad") {
  Tensor x = leaf({1, -2, 3});
  sum(mul(x, x)).backward();
  CHECK(g(x) == std::vector<float>{2, -4, 6});
  sum(mul(x, x)).backward();
  CHECK(g(x) == std::vector<float>{4, -8, 12});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
  sum(x * 3.0f).backward();
  CHECK(g(x) == std::vector<float>{3, 3, 3});
}

TEST_CASE("a tensor used by several ops receives the sum of their gradients") {
  Tensor x = leaf({0.5f, 2.0f});
  Tensor y = leaf({3.0f, -1.0f});
  const Tensor e = exp(x);
  sum(mul(x, y) + x + mul(e, e)).backward();  // d/dx = y + 1 + 2 e^{2x};  d/dy = x
  const std::vector<float> gx = g(x);
  CHECK(gx[0] == doctest::Approx(3.0 + 1.0 + 2.0 * std::exp(1.0)).epsilon(1e-6));
  CHECK(gx[1] == doctest::Approx(-1.0 + 1.0 + 2.0 * std::exp(4.0)).epsilon(1e-6));
  CHECK(g(y) == std::vector<float>{0.5f, 2.0f});
}

TEST_CASE("no_grad records nothing and detach cuts the graph") {
  Tensor x = leaf({1, 2});
  {
    NoGradGuard guard;
    const Tensor y = mul(x, x);
    CHECK_FALSE(y.requires_grad());
    CHECK_FALSE(grad_enabled());
    const std::string message = error_message([&] { sum(y).backward(); });
    CHECK(message.find("does not require grad") != std::string::npos);
  }
  CHECK(grad_enabled());
  const Tensor d = x.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.raw_data() == x.raw_data());
  sum(mul(d, x)).backward();  // d is a constant: the gradient is d, not 2x
  CHECK(g(x) == std::vector<float>{1, 2});
}

TEST_CASE("inputs that do not require grad get no gradient") {
  Tensor x = leaf({1, 2});
  const Tensor c = Tensor::from_vector<float>({5, 6}, {2});
  sum(mul(x, c)).backward();
  CHECK(g(x) == std::vector<float>{5, 6});
  CHECK_FALSE(c.grad().defined());
}

TEST_CASE("backward through a deep chain") {
  Tensor x = leaf({1.0f});
  Tensor y = x;
  for (int i = 0; i < 2000; ++i) y = add(y, 0.001f);
  sum(y).backward();
  CHECK(g(x) == std::vector<float>{1.0f});
}

TEST_CASE("backward from a leaf scalar") {
  Tensor x = Tensor::from_vector<float>({4.0f}, {}).set_requires_grad(true);
  x.backward();
  CHECK(x.grad().item() == 1.0f);
}

TEST_CASE("backward misuse gives actionable errors") {
  Tensor x = leaf({1, 2, 3});
  const std::string not_scalar = error_message([&] { mul(x, x).backward(); });
  CHECK(not_scalar.find("one-element loss") != std::string::npos);
  CHECK(not_scalar.find("[3]") != std::string::npos);
  Tensor y = mul(x, 2.0f);
  const std::string non_leaf = error_message([&] { y.set_requires_grad(false); });
  CHECK(non_leaf.find("leaf") != std::string::npos);
  CHECK(non_leaf.find("mul_scalar") != std::string::npos);
  Tensor ints = Tensor::from_vector<int32_t>({1}, {1});
  CHECK(error_message([&] { ints.set_requires_grad(true); }).find("int32") != std::string::npos);
}

}  // namespace tl::testing
