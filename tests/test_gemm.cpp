// The hand-written CPU GEMM against a double-precision triple loop: every transpose mode, alpha and beta,
// shapes that cross every blocking boundary (micro-tile, KC, MC, NC), and bit-identical results with one
// or two threads.
#include <omp.h>

#include <cmath>

#include "kernels/backend.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

void check_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, float beta) {
  Generator generator(static_cast<uint64_t>(m * 1000003 + n * 1009 + k));
  const std::vector<float> a = Tensor::uniform({m * k}, generator, -1.0f, 1.0f).to_vector<float>();
  const std::vector<float> b = Tensor::uniform({k * n}, generator, -1.0f, 1.0f).to_vector<float>();
  std::vector<float> c = Tensor::uniform({m * n}, generator, -1.0f, 1.0f).to_vector<float>();
  std::vector<double> expected(c.size()), bound(c.size());
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double total = 0, magnitude = 0;
      for (int64_t p = 0; p < k; ++p) {
        const double x = ta ? a[p * m + i] : a[i * k + p];
        const double y = tb ? b[j * k + p] : b[p * n + j];
        total += x * y;
        magnitude += std::fabs(x * y);
      }
      expected[i * n + j] = alpha * total + beta * c[i * n + j];
      bound[i * n + j] =
          4e-7 * (std::fabs(alpha) * magnitude * std::sqrt(k + 1.0) + std::fabs(beta * c[i * n + j])) + 1e-30;
    }
  kernels::cpu_backend().gemm(ta, tb, m, n, k, alpha, a.data(), b.data(), beta, c.data());
  int64_t bad = 0;
  for (size_t i = 0; i < c.size(); ++i) bad += !(std::fabs(c[i] - expected[i]) <= bound[i]);
  CHECK_MESSAGE(bad == 0, "gemm ", ta ? "T" : "N", tb ? "T" : "N", " ", m, "x", n, "x", k, ": ", bad,
                " entries outside the error bound");
}

}  // namespace

TEST_CASE("CPU GEMM matches a double-precision reference") {
  const int64_t shapes[][3] = {{1, 1, 1},    {6, 16, 1},   {7, 17, 19},     {13, 33, 257}, {150, 40, 20},
                               {5, 2100, 3}, {64, 64, 64}, {128, 400, 300}, {2, 3, 0},     {37, 29, 1100}};
  for (const auto& s : shapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) check_gemm(ta, tb, s[0], s[1], s[2], 1.0f, 0.0f);
  check_gemm(false, false, 37, 29, 41, 0.5f, 2.0f);
  check_gemm(true, true, 37, 29, 300, -1.5f, 1.0f);
  // Two k-blocks, a packed A (one k-block of A over 2 MiB, B reused by many row panels) and edge tiles.
  check_gemm(false, false, 1100, 200, 1000, 1.0f, 0.0f);
  check_gemm(true, false, 1100, 200, 1000, 0.5f, 1.0f);
}

TEST_CASE("beta = 0 overwrites C even when it holds NaN") {
  std::vector<float> a(4, 1.0f), b(4, 1.0f), c(4, NAN);
  kernels::cpu_backend().gemm(false, false, 2, 2, 2, 1.0f, a.data(), b.data(), 0.0f, c.data());
  CHECK(c == std::vector<float>(4, 2.0f));
}

TEST_CASE("CPU GEMM gives the same bits with one or two threads") {
  Generator generator(5);
  const Tensor a = Tensor::uniform({200, 333}, generator);
  const Tensor b = Tensor::uniform({333, 150}, generator);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const std::vector<float> one = matmul(a, b).to_vector<float>();
  omp_set_num_threads(2);
  const std::vector<float> two = matmul(a, b).to_vector<float>();
  omp_set_num_threads(threads);
  CHECK(one == two);
}

}  // namespace tl::testing
