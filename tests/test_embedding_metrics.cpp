// Embedding metrics of the evaluation tool (apps/evaluation/embedding_metrics.h): trustworthiness and continuity
// against scikit-learn, MRRE, KL_sigma and RMSE against a brute force written from the formulas (the committed
// fixtures of tests/fixtures/embedding_metrics/make_fixtures.py), a tie-heavy set against the brute force's stable
// (distance, index) order, a hand-worked five-point example, codes equal to or a scaled copy of the inputs, the
// thread-count independence, the report keys and the refusals.
#include <omp.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "apps/evaluation/embedding_metrics.h"
#include "nn/data/point_cloud_io.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

using eval::embedding_metrics;
using eval::EmbeddingMetrics;
using eval::EmbeddingOptions;

const std::string kFixtureDir = std::string(TL_SOURCE_DIR) + "/tests/fixtures/embedding_metrics/";

EmbeddingOptions options_with(std::vector<int> ks, std::vector<double> sigmas = {0.01, 0.1, 1.0}) {
  EmbeddingOptions options;
  options.neighbourhoods = std::move(ks);
  options.kl_sigmas = std::move(sigmas);
  return options;
}

double mean(const std::vector<double>& values) {
  double sum = 0.0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

void check_values(const std::vector<double>& actual, const nlohmann::json& expected, double atol, double rtol,
                  const std::string& what) {
  REQUIRE(actual.size() == expected.size());
  for (size_t a = 0; a < actual.size(); ++a) {
    const double want = expected[a].get<double>();
    CHECK_MESSAGE(std::abs(actual[a] - want) <= atol + rtol * std::abs(want), what, "[", a, "]: ", actual[a],
                  " against ", want);
  }
}

// Every metric of one fixture set. T, C and MRRE: the fixtures' float32 distances order every row exactly as the
// references' float64 ones do (integer-valued data, see make_fixtures.py), so the ranks agree exactly and only the
// final double arithmetic differs: 1e-12. KL and RMSE: float32 distances (within 1 ulp, 6e-8 relative, of the
// float64 ones) against float64: 1e-6 relative (observed below 1e-7).
void check_fixture_set(const nlohmann::json& set) {
  const std::string name = set["name"];
  INFO("fixture set ", name);
  const Tensor x = data::read_csv_points(kFixtureDir + name + "_inputs.csv");
  const Tensor z = data::read_csv_points(kFixtureDir + name + "_codes.csv");
  REQUIRE(x.dim(0) == set["n"].get<int64_t>());
  REQUIRE(x.dim(1) == set["d"].get<int64_t>());
  REQUIRE(z.dim(1) == set["m"].get<int64_t>());
  const EmbeddingMetrics m = embedding_metrics(
      x, z, options_with(set["k"].get<std::vector<int>>(), set["kl_sigmas"].get<std::vector<double>>()));
  CHECK(m.k == set["k"].get<std::vector<int>>());
  check_values(m.trustworthiness_at_k, set["trustworthiness_at_k"], 1e-12, 0.0, "trustworthiness");
  check_values(m.continuity_at_k, set["continuity_at_k"], 1e-12, 0.0, "continuity");
  check_values(m.mrre_zx_at_k, set["mrre_zx_at_k"], 1e-12, 0.0, "MRRE_ZX");
  check_values(m.mrre_xz_at_k, set["mrre_xz_at_k"], 1e-12, 0.0, "MRRE_XZ");
  std::vector<double> kl;
  for (const auto& [sigma, value] : m.kl) kl.push_back(value);
  check_values(kl, set["kl"], 0.0, 1e-6, "KL_sigma");
  check_values({m.rmse}, nlohmann::json::array({set["rmse"]}), 0.0, 1e-6, "RMSE");
}

nlohmann::json fixture_sets() {
  std::ifstream in(kFixtureDir + "expected.json");
  REQUIRE_MESSAGE(in.good(), "cannot open ", kFixtureDir, "expected.json");
  return nlohmann::json::parse(in)["sets"];
}

TEST_CASE("embedding metrics match scikit-learn's trustworthiness and the brute-force MRRE, KL and RMSE") {
  int tie_free = 0;
  for (const nlohmann::json& set : fixture_sets()) {
    if (set["trustworthiness_and_continuity_from"] != "sklearn") continue;
    check_fixture_set(set);
    ++tie_free;
  }
  CHECK(tie_free == 3);
}

TEST_CASE("embedding metrics break distance ties by index, as the brute force's stable order does") {
  int tied = 0;
  for (const nlohmann::json& set : fixture_sets()) {
    if (set["trustworthiness_and_continuity_from"] != "brute force") continue;
    check_fixture_set(set);
    ++tied;
  }
  CHECK(tied == 1);
}

// Five points on a line, X = {0, 1, 3, 6, 10}, and Z the same with points 1 and 2 swapped: Z = {0, 3, 1, 6, 10}.
// Neighbour orders (ties by index: in Z, point 1 sees 0 and 3 both at 3; in X, point 2 sees 0 and 3 both at 3):
//   X: 0: 1 2 3 4   1: 0 2 3 4   2: 1 0 3 4   3: 2 4 1 0   4: 3 2 1 0
//   Z: 0: 2 1 3 4   1: 2 0 3 4   2: 0 1 3 4   3: 1 4 2 0   4: 3 1 2 0
// k = 1 (normaliser 2 / (5 * 1 * 6) = 1/15): T sums r_X - 1 over (0,2) (1,2) (2,0) (3,1) = 1 + 1 + 1 + 2 = 5, so
// T = 1 - 5/15 = 2/3; C likewise over (0,1) (1,0) (2,1) (3,2): 5, C = 2/3. c_1 = 5 * 4 = 20; MRRE_ZX sums
// |r_X - r_Z| / r_Z over each row's Z-nearest: 1 + 1 + 1 + 2 + 0 = 5, 5/20 = 1/4; MRRE_XZ likewise 1/4.
// k = 2 (normaliser 2 / (5 * 2 * 3) = 1/15): only rows 3 and 4 differ, (3,1) and (4,1) in Z but not X, ranks 3 in
// X: T = 1 - 2/15 = 13/15; C the same by (3,2) and (4,2). c_2 = 5 (4 + 2/2) = 25; MRRE_ZX: rows 0-2 give
// 1 + 1/2 each, row 3 gives 2 + 0, row 4 gives 0 + 1/2: 7/25; MRRE_XZ the same.
// RMSE: six pairs differ by 2, each twice in the matrix: sqrt(48 / 25).
TEST_CASE("a hand-worked five-point embedding gives the derived trustworthiness, continuity, MRRE and RMSE") {
  const Tensor x = Tensor::from_vector(std::vector<float>{0, 1, 3, 6, 10}, {5, 1});
  const Tensor z = Tensor::from_vector(std::vector<float>{0, 3, 1, 6, 10}, {5, 1});
  const EmbeddingMetrics m = embedding_metrics(x, z, options_with({1, 2}));
  CHECK(m.trustworthiness_at_k[0] == doctest::Approx(2.0 / 3.0).epsilon(1e-14));
  CHECK(m.trustworthiness_at_k[1] == doctest::Approx(13.0 / 15.0).epsilon(1e-14));
  CHECK(m.continuity_at_k[0] == doctest::Approx(2.0 / 3.0).epsilon(1e-14));
  CHECK(m.continuity_at_k[1] == doctest::Approx(13.0 / 15.0).epsilon(1e-14));
  CHECK(m.mrre_zx_at_k[0] == doctest::Approx(0.25).epsilon(1e-14));
  CHECK(m.mrre_zx_at_k[1] == doctest::Approx(0.28).epsilon(1e-14));
  CHECK(m.mrre_xz_at_k[0] == doctest::Approx(0.25).epsilon(1e-14));
  CHECK(m.mrre_xz_at_k[1] == doctest::Approx(0.28).epsilon(1e-14));
  CHECK(m.trustworthiness == doctest::Approx(23.0 / 30.0).epsilon(1e-14));
  CHECK(m.mrre_zx == doctest::Approx(0.265).epsilon(1e-14));
  CHECK(m.rmse == doctest::Approx(std::sqrt(48.0 / 25.0)).epsilon(1e-7));
  REQUIRE(m.kl.size() == 3);
  for (const auto& [sigma, kl] : m.kl) CHECK(kl > 0.0);  // the densities differ (point 1 moved to the edge)
}

// Z = X: every neighbourhood and rank agrees and the distance matrices are equal, so every score is exact.
// Z = 2 X: the float32 distances are exactly doubled (power-of-two scaling is exact in both distance paths: the
// direct sums for dim <= 32 and the centred Gram form above), so the ranks and the normalised densities are those of
// X, and D_X - D_Z = -D_X: RMSE^2 = sum_ij |x_i - x_j|^2 / n^2 = 2 sum_i |x_i - mean|^2 / n.
TEST_CASE("codes equal to the inputs or a scaled copy keep every rank and density") {
  Generator generator(11);
  for (int64_t dim : {3, 40}) {
    INFO("dim ", dim);
    const Tensor x = Tensor::normal({120, dim}, generator);
    const std::vector<float> values = x.to_vector<float>();
    std::vector<float> doubled(values.size());
    for (size_t e = 0; e < values.size(); ++e) doubled[e] = 2.0f * values[e];
    const EmbeddingOptions options = options_with({1, 5, 20, 59});
    for (const Tensor& z : {x, Tensor::from_vector(doubled, {120, dim})}) {
      const EmbeddingMetrics m = embedding_metrics(x, z, options);
      for (size_t a = 0; a < m.k.size(); ++a) {
        CHECK(m.trustworthiness_at_k[a] == 1.0);
        CHECK(m.continuity_at_k[a] == 1.0);
        CHECK(m.mrre_zx_at_k[a] == 0.0);
        CHECK(m.mrre_xz_at_k[a] == 0.0);
      }
      for (const auto& [sigma, kl] : m.kl) CHECK(kl == 0.0);
    }
    CHECK(embedding_metrics(x, x, options).rmse == 0.0);
    double spread = 0.0;
    for (int64_t c = 0; c < dim; ++c) {
      double sum = 0.0;
      for (int64_t i = 0; i < 120; ++i) sum += values[i * dim + c];
      for (int64_t i = 0; i < 120; ++i) spread += std::pow(values[i * dim + c] - sum / 120.0, 2);
    }
    CHECK(embedding_metrics(x, Tensor::from_vector(doubled, {120, dim}), options).rmse ==
          doctest::Approx(std::sqrt(2.0 * spread / 120.0)).epsilon(1e-6));
  }
}

TEST_CASE("embedding metrics report per-k values, their means and the report keys, whatever the thread count") {
  Generator generator(5);
  const Tensor x = Tensor::normal({200, 12}, generator), z = Tensor::normal({200, 2}, generator);
  const EmbeddingOptions options = options_with({3, 10, 50, 99}, {0.05, 2.0});
  const EmbeddingMetrics m = embedding_metrics(x, z, options);
  CHECK(m.k == std::vector<int>{3, 10, 50, 99});
  CHECK(m.trustworthiness == mean(m.trustworthiness_at_k));
  CHECK(m.continuity == mean(m.continuity_at_k));
  CHECK(m.mrre_zx == mean(m.mrre_zx_at_k));
  CHECK(m.mrre_xz == mean(m.mrre_xz_at_k));
  for (double t : m.trustworthiness_at_k) CHECK((t > 0.0 && t < 1.0));
  for (double e : m.mrre_zx_at_k) CHECK((e > 0.0 && e < 1.0));

  const nlohmann::json report = eval::to_json(m);
  for (const char* key : {"kl_0.05", "kl_2", "trustworthiness", "continuity", "mrre_zx", "mrre_xz", "rmse"})
    CHECK_MESSAGE(report.contains(key), key);
  CHECK(report["kl_0.05"].get<double>() == m.kl[0].second);
  CHECK(report["k"].get<std::vector<int>>() == m.k);
  CHECK(report["mrre_xz_at_k"].get<std::vector<double>>() == m.mrre_xz_at_k);
  CHECK(eval::to_json(embedding_metrics(x, z, options_with({10}))).contains("kl_0.01"));

  // The rows' results are summed in row order, so one thread gives bit-identical metrics.
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const nlohmann::json single = eval::to_json(embedding_metrics(x, z, options));
  omp_set_num_threads(threads);
  CHECK(single == report);
}

TEST_CASE("bad input to the embedding metrics is refused with an error naming the problem") {
  Generator generator(3);
  const Tensor x = Tensor::normal({60, 4}, generator), z = Tensor::normal({60, 2}, generator);
  const EmbeddingOptions fits = options_with({5, 10});
  auto message = [&](const Tensor& a, const Tensor& b, const EmbeddingOptions& options) {
    return error_message([&] { embedding_metrics(a, b, options); });
  };
  auto refused = [&](const Tensor& a, const Tensor& b, const EmbeddingOptions& options, const std::string& expected) {
    CHECK_THROWS_AS(embedding_metrics(a, b, options), ValueError);
    const std::string text = message(a, b, options);
    CHECK_MESSAGE(text.find(expected) != std::string::npos, text);
  };
  refused(x, Tensor::normal({59, 2}, generator), fits, "60 inputs but 59 codes");
  const Tensor one = Tensor::zeros({1, 2});
  refused(one, one, options_with({1}), "at least 2 points, got 1");
  refused(x, z, options_with({5, 30}), "k = 30 does not fit n = 60");
  refused(x, z, options_with({0}), "k = 0 does not fit n = 60");
  refused(x, z, options_with({10, 5}), "strictly increasing");
  refused(x, z, options_with({5, 5}), "strictly increasing");
  refused(x, z, options_with({}), "neighbourhood list (k) is empty");
  refused(x, z, options_with({5}, {0.1, 0.0}), "finite and positive, got 0");
  refused(x, z, options_with({5}, {NAN}), "finite and positive");

  std::vector<float> values = x.to_vector<float>();
  values[2 * 4 + 3] = NAN;
  refused(Tensor::from_vector(values, {60, 4}), z, fits, "inputs hold a non-finite value (nan) at row 2, column 3");
  std::vector<float> codes = z.to_vector<float>();
  codes[59 * 2] = -INFINITY;
  refused(x, Tensor::from_vector(codes, {60, 2}), fits, "codes hold a non-finite value (-inf) at row 59, column 0");

  const Tensor flat = Tensor::from_vector(std::vector<float>{0, 1, 2}, {3});
  CHECK_THROWS_AS(embedding_metrics(flat, flat, fits), ShapeError);
  CHECK(message(x, Tensor(), fits).find("codes must be a float32 [points, dim] tensor") != std::string::npos);
}

}  // namespace
}  // namespace tl::testing
