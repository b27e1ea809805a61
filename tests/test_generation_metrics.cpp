// Generation metrics (apps/evaluation/generation_metrics.h): the Frechet distance against SciPy's sqrtm formula
// and closed forms; precision, recall, density, coverage and the 1-NN two-sample accuracy on hand-drawn sets, against
// the fixture script's brute force, and against a brute force here on sets that defeat the GEMM filter (lattice
// points full of exact ties, near-duplicates far from the origin); the same bits with one or two threads; the label
// metrics by hand and against the fixture; refusals of bad input. The fixtures are in
// tests/fixtures/generation_metrics/ (make_generation_fixtures.py wrote them; the outputs are committed).
#include <omp.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "apps/evaluation/generation_metrics.h"
#include "nn/data/point_cloud_io.h"
#include "nn/data/synthetic.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

using eval::LabelMetrics;
using eval::ManifoldMetrics;
using eval::TwoSampleAccuracy;

const std::string kFixtureDir = std::string(TL_SOURCE_DIR) + "/tests/fixtures/generation_metrics/";

Tensor fixture_set(const std::string& name) {
  return data::read_npy_points(kFixtureDir + name + ".npy");
}

const nlohmann::json& expected() {
  static const nlohmann::json values = [] {
    std::ifstream in(kFixtureDir + "expected.json");
    REQUIRE_MESSAGE(in.good(), "cannot open fixture ", kFixtureDir, "expected.json");
    return nlohmann::json::parse(in);
  }();
  return values;
}

// Rows of `d` floats each.
Tensor rows(const std::vector<float>& values, int64_t d) {
  return Tensor::from_vector(values, {static_cast<int64_t>(values.size()) / d, d});
}

void check_manifold(const ManifoldMetrics& m, double precision, double recall, double density, double coverage) {
  CHECK(m.precision == doctest::Approx(precision).epsilon(1e-12));
  CHECK(m.recall == doctest::Approx(recall).epsilon(1e-12));
  CHECK(m.density == doctest::Approx(density).epsilon(1e-12));
  CHECK(m.coverage == doctest::Approx(coverage).epsilon(1e-12));
}

void check_accuracy(const TwoSampleAccuracy& a, double accuracy, double real_accuracy, double fake_accuracy) {
  CHECK(a.accuracy == doctest::Approx(accuracy).epsilon(1e-12));
  CHECK(a.real_accuracy == doctest::Approx(real_accuracy).epsilon(1e-12));
  CHECK(a.fake_accuracy == doctest::Approx(fake_accuracy).epsilon(1e-12));
}

// ---- A brute force in double over every pair, for the lattice test ----

double squared_distance(const std::vector<float>& x, int64_t i, const std::vector<float>& y, int64_t j, int64_t d) {
  double sum = 0.0;
  for (int64_t k = 0; k < d; ++k) {
    const double diff = static_cast<double>(x[i * d + k]) - y[j * d + k];
    sum += diff * diff;
  }
  return sum;
}

std::vector<double> brute_force_radii(const std::vector<float>& x, int64_t n, int64_t d, int k) {
  std::vector<double> radii;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> others;
    for (int64_t j = 0; j < n; ++j)
      if (j != i) others.push_back(squared_distance(x, i, x, j, d));
    std::sort(others.begin(), others.end());
    radii.push_back(others[k - 1]);
  }
  return radii;
}

ManifoldMetrics brute_force_manifold(const std::vector<float>& real, int64_t n, const std::vector<float>& fake,
                                     int64_t m, int64_t d, int k) {
  const std::vector<double> r = brute_force_radii(real, n, d, k), f = brute_force_radii(fake, m, d, k);
  int64_t precise = 0, memberships = 0, covered = 0, recalled = 0;
  for (int64_t j = 0; j < m; ++j) {
    int64_t count = 0;
    for (int64_t i = 0; i < n; ++i) count += squared_distance(fake, j, real, i, d) <= r[i];
    precise += count > 0;
    memberships += count;
  }
  for (int64_t i = 0; i < n; ++i) {
    bool cover = false, recall = false;
    for (int64_t j = 0; j < m; ++j) {
      cover = cover || squared_distance(fake, j, real, i, d) <= r[i];
      recall = recall || squared_distance(real, i, fake, j, d) <= f[j];
    }
    covered += cover;
    recalled += recall;
  }
  ManifoldMetrics out;
  out.precision = static_cast<double>(precise) / m;
  out.recall = static_cast<double>(recalled) / n;
  out.density = static_cast<double>(memberships) / (static_cast<double>(k) * m);
  out.coverage = static_cast<double>(covered) / n;
  return out;
}

TwoSampleAccuracy brute_force_one_nn(const std::vector<float>& real, int64_t n, const std::vector<float>& fake,
                                     int64_t m, int64_t d) {
  std::vector<float> pooled = real;
  pooled.insert(pooled.end(), fake.begin(), fake.end());
  int64_t real_correct = 0, fake_correct = 0;
  for (int64_t p = 0; p < n + m; ++p) {
    int64_t nearest = -1;
    double best = INFINITY;
    for (int64_t q = 0; q < n + m; ++q) {
      const double dist = squared_distance(pooled, p, pooled, q, d);
      if (q != p && dist < best) {  // strict: ties keep the lower index
        best = dist;
        nearest = q;
      }
    }
    if (p < n) real_correct += nearest < n;
    if (p >= n) fake_correct += nearest >= n;
  }
  return {static_cast<double>(real_correct + fake_correct) / (n + m), static_cast<double>(real_correct) / n,
          static_cast<double>(fake_correct) / m};
}

// n points of the integer lattice {0, 1, 2}^d shifted by 4096 (exact in float32): many equal distances, and a
// large offset that a GEMM without centring would cancel in.
std::vector<float> lattice_points(int64_t n, int64_t d, Generator& generator) {
  const std::vector<float> u = data::uniform_cube(n, d, generator).to_vector<float>();
  std::vector<float> out;
  for (float v : u) out.push_back(4096.0f + std::floor(v * 3.0f));
  return out;
}

}  // namespace

TEST_CASE("the Frechet distance equals SciPy's sqrtm formula on the fixture sets") {
  // Both sides in double from the same float32 values (numpy.cov and scipy.linalg.sqrtm against Eigen's symmetric
  // eigensolver): they agree to 3e-14 here; rtol 1e-10 leaves room for other LAPACK and Eigen builds.
  for (const char* size : {"small", "large"}) {
    CAPTURE(size);
    const double fd =
        eval::frechet_distance(fixture_set(std::string(size) + "_a"), fixture_set(std::string(size) + "_b"));
    CHECK(fd == doctest::Approx(expected()["frechet"][size].get<double>()).epsilon(1e-10));
  }
}

TEST_CASE("the Frechet distance of hand-built Gaussians has its closed form") {
  // a: the four points (+-1, +-2): mean 0, unbiased covariance diag(4/3, 16/3).
  // b: (+-3, +-1) + (1, 1): mean (1, 1), covariance diag(12, 4/3).
  // Diagonal covariances: FD = |dmu|^2 + sum_k (sqrt(s_a,k) - sqrt(s_b,k))^2
  //   = 2 + (sqrt(4/3) - sqrt(12))^2 + (sqrt(16/3) - sqrt(4/3))^2 = 2 + (2 sqrt(4/3))^2 + (sqrt(4/3))^2
  //   = 2 + 16/3 + 4/3 = 26/3.
  const Tensor a = rows({1, 2, 1, -2, -1, 2, -1, -2}, 2);
  const Tensor b = rows({4, 2, 4, 0, -2, 2, -2, 0}, 2);
  CHECK(eval::frechet_distance(a, b) == doctest::Approx(26.0 / 3.0).epsilon(1e-12));
  CHECK(eval::frechet_distance(b, a) == doctest::Approx(26.0 / 3.0).epsilon(1e-12));

  // The same points translated by v = (3, -4, 12): equal covariances, so FD = |v|^2 = 169 (the fitted moments are
  // exact: integer points, dyadic means).
  Generator generator(7);
  std::vector<float> cloud, moved;
  for (float v : data::uniform_cube(16, 3, generator).to_vector<float>()) cloud.push_back(std::floor(v * 8.0f));
  const float shift[3] = {3, -4, 12};
  for (size_t e = 0; e < cloud.size(); ++e) moved.push_back(cloud[e] + shift[e % 3]);
  CHECK(eval::frechet_distance(rows(cloud, 3), rows(moved, 3)) == doctest::Approx(169.0).epsilon(1e-12));
  CHECK(eval::frechet_distance(rows(cloud, 3), rows(cloud, 3)) == doctest::Approx(0.0).scale(1.0).epsilon(1e-12));
}

TEST_CASE("precision, recall, density and coverage of points on a line match hand-derived values") {
  SUBCASE("k = 1, two real clusters and fakes near one of them") {
    // reals 0, 1, 10, 11; k = 1 radii r = 1, 1, 1, 1: balls [-1, 1], [0, 2], [9, 11], [10, 12].
    // fakes 0.5, 2; radii f = 1.5, 1.5: balls [-1, 2], [0.5, 3.5].
    // fake 0.5 lies in [-1, 1] and [0, 2]; fake 2 in [0, 2] only, on its closed boundary.
    //   precision = 2/2 = 1; density = (2 + 1) / (1 * 2) = 1.5 (above 1: fakes crowd the reals' balls);
    //   coverage: reals 0 and 1 hold a fake, 10 and 11 none: 2/4; recall: 0 and 1 lie in a fake ball: 2/4.
    const ManifoldMetrics m = eval::manifold_metrics(rows({0, 1, 10, 11}, 1), rows({0.5f, 2}, 1), 1);
    CHECK(m.k == 1);
    check_manifold(m, 1.0, 0.5, 1.5, 0.5);
  }
  SUBCASE("k = 1, an outlying fake") {
    // reals 0, 2, 4: radii 2, 2, 2: balls [-2, 2], [0, 4], [2, 6]. fakes 2, 100, 101: radii 98, 1, 1.
    // fake 2 lies in all three real balls (on the boundary of two); 100 and 101 in none.
    //   precision = 1/3; density = 3 / (1 * 3) = 1; coverage = 3/3; recall: [-96, 100] holds every real: 1.
    check_manifold(eval::manifold_metrics(rows({0, 2, 4}, 1), rows({2, 100, 101}, 1), 1), 1.0 / 3.0, 1.0, 1.0, 1.0);
  }
  SUBCASE("k = 2, the corners of a unit square") {
    // reals (0,0), (1,0), (0,1), (1,1): each one's neighbours lie at 1, 1, sqrt 2, so r = 1 for all.
    // fakes: (0.5, 0.5) is sqrt(0.5) from every corner: in 4 balls; (2, 0) is exactly 1 from (1, 0): in 1 ball;
    // (5, 5): in none. precision = 2/3, density = (4 + 1) / (2 * 3) = 5/6, coverage: every corner holds the centre:
    // 1. The fakes' 2nd-neighbour radii: sqrt(40.5), sqrt(34), sqrt(40.5); the centre's covers every real: recall 1.
    const ManifoldMetrics m =
        eval::manifold_metrics(rows({0, 0, 1, 0, 0, 1, 1, 1}, 2), rows({0.5f, 0.5f, 2, 0, 5, 5}, 2), 2);
    check_manifold(m, 2.0 / 3.0, 1.0, 5.0 / 6.0, 1.0);
    const std::vector<double> radii = eval::kth_neighbour_distances(rows({0.5f, 0.5f, 2, 0, 5, 5}, 2), 2);
    REQUIRE(radii.size() == 3);
    CHECK(radii[0] == doctest::Approx(std::sqrt(40.5)).epsilon(1e-14));
    CHECK(radii[1] == doctest::Approx(std::sqrt(34.0)).epsilon(1e-14));
    CHECK(radii[2] == doctest::Approx(std::sqrt(40.5)).epsilon(1e-14));
  }
}

TEST_CASE("manifold metrics and radii equal the brute force of the fixture script") {
  // The script asserts that no decision lies within a relative 1e-9 of a tie, so the counts must agree exactly.
  const Tensor small_a = fixture_set("small_a"), small_b = fixture_set("small_b");
  const nlohmann::json& small = expected()["manifold"]["small_k3"];
  const ManifoldMetrics m = eval::manifold_metrics(small_a, small_b, 3);
  check_manifold(m, small["precision"], small["recall"], small["density"], small["coverage"]);
  const std::vector<double> radii = eval::kth_neighbour_distances(small_a, 3);
  const std::vector<double> reference = small["real_radii"];
  REQUIRE(radii.size() == reference.size());
  for (size_t i = 0; i < radii.size(); ++i) CHECK(radii[i] == doctest::Approx(reference[i]).epsilon(1e-12));

  const nlohmann::json& large = expected()["manifold"]["large_k5"];
  const ManifoldMetrics l = eval::manifold_metrics(fixture_set("large_a"), fixture_set("large_b"), 5);
  CHECK(l.k == 5);
  check_manifold(l, large["precision"], large["recall"], large["density"], large["coverage"]);
}

TEST_CASE("the 1-NN two-sample accuracy of hand-drawn sets follows the tie rule") {
  // Separable: every point's nearest neighbour shares its label.
  check_accuracy(eval::one_nn_accuracy(rows({0, 1, 2}, 1), rows({100, 101, 102}, 1)), 1.0, 1.0, 1.0);
  // Fakes that copy the reals: each real's nearest point is its copy (distance 0), each fake's is its original.
  check_accuracy(eval::one_nn_accuracy(rows({0, 10, 20}, 1), rows({0, 10, 20}, 1)), 0.0, 0.0, 0.0);
  // R R F F R R F F at 0..7: reals (pooled 0..3) at 0, 1, 4, 5; fakes (pooled 4..7) at 2, 3, 6, 7. Neighbours at
  // distance 1 on both sides tie, and the lower pooled index (a real) wins:
  //   real 0 -> real 1; real 1 -> real 0 (over fake 2); fake 2 -> real 1 (over fake 3): wrong;
  //   fake 3 -> real 4 (over fake 2): wrong; real 4 -> real 5 (over fake 3); real 5 -> real 4 (over fake 6);
  //   fake 6 -> real 5 (over fake 7): wrong; fake 7 -> fake 6.
  //   real accuracy 4/4, fake accuracy 1/4, overall 5/8.
  check_accuracy(eval::one_nn_accuracy(rows({0, 1, 4, 5}, 1), rows({2, 3, 6, 7}, 1)), 5.0 / 8.0, 1.0, 0.25);
  // Two samples of one distribution: near 0.5.
  Generator generator(11);
  const double accuracy =
      eval::one_nn_accuracy(Tensor::normal({400, 6}, generator), Tensor::normal({400, 6}, generator)).accuracy;
  CHECK(std::abs(accuracy - 0.5) < 0.1);
}

TEST_CASE("the 1-NN two-sample accuracy equals the brute force of the fixture script") {
  for (const char* size : {"small", "large"}) {
    CAPTURE(size);
    const nlohmann::json& e = expected()["one_nn"][size];
    check_accuracy(eval::one_nn_accuracy(fixture_set(std::string(size) + "_a"), fixture_set(std::string(size) + "_b")),
                   e["accuracy"], e["real_accuracy"], e["fake_accuracy"]);
  }
}

TEST_CASE("nearest-neighbour metrics equal a brute force on lattice points full of exact ties") {
  // Integer lattice points far from the origin: many distances tie exactly and many pairs sit exactly on a ball's
  // boundary, so the GEMM filter is inconclusive often and the exact double decisions must take over.
  Generator generator(2024);
  for (int64_t d : {1, 3, 40}) {
    const int64_t n = 60, m = 45;
    const std::vector<float> real = lattice_points(n, d, generator), fake = lattice_points(m, d, generator);
    for (int k : {1, 3, 7}) {
      CAPTURE(d);
      CAPTURE(k);
      const ManifoldMetrics expected_metrics = brute_force_manifold(real, n, fake, m, d, k);
      check_manifold(eval::manifold_metrics(rows(real, d), rows(fake, d), k), expected_metrics.precision,
                     expected_metrics.recall, expected_metrics.density, expected_metrics.coverage);
    }
    const TwoSampleAccuracy e = brute_force_one_nn(real, n, fake, m, d);
    check_accuracy(eval::one_nn_accuracy(rows(real, d), rows(fake, d)), e.accuracy, e.real_accuracy, e.fake_accuracy);
  }
}

TEST_CASE("nearest-neighbour metrics equal a brute force on near-duplicates far from the origin") {
  // Tight clusters (spread 1e-4, near float32's spacing of 6e-5 at 1000) around 12 centres offset by 1000 in 84
  // dimensions: the float32 Gram estimates carry errors comparable to the distances inside a cluster, so most
  // decisions there go to the exact double distances.
  Generator generator(99);
  const int64_t d = 84, n = 120, m = 100;
  const std::vector<float> centres = Tensor::normal({12, d}, generator).to_vector<float>();
  auto cloud = [&](int64_t rows) {
    const std::vector<float> noise = Tensor::normal({rows, d}, generator, 0.0f, 1e-4f).to_vector<float>();
    std::vector<float> out;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t k = 0; k < d; ++k) out.push_back(1000.0f + centres[(i % 12) * d + k] + noise[i * d + k]);
    return out;
  };
  const std::vector<float> real = cloud(n), fake = cloud(m);
  for (int k : {1, 5}) {
    CAPTURE(k);
    const ManifoldMetrics e = brute_force_manifold(real, n, fake, m, d, k);
    check_manifold(eval::manifold_metrics(rows(real, d), rows(fake, d), k), e.precision, e.recall, e.density,
                   e.coverage);
  }
  const TwoSampleAccuracy e = brute_force_one_nn(real, n, fake, m, d);
  check_accuracy(eval::one_nn_accuracy(rows(real, d), rows(fake, d)), e.accuracy, e.real_accuracy, e.fake_accuracy);
}

TEST_CASE("label metrics of one-hot and uniform predictions match hand values") {
  const double log4 = std::log(4.0);
  SUBCASE("every class predicted equally often, with certainty") {
    // H(y|x) = 0, p(y) uniform: H(y) = log 4, IS = exp(H(y) - H(y|x)) = 4, histogram flat: KL = 0.
    std::vector<float> p(8 * 4, 0.0f);
    for (int x = 0; x < 8; ++x) p[x * 4 + x % 4] = 1.0f;
    const LabelMetrics l = eval::label_metrics(rows(p, 4));
    CHECK(l.mean_entropy == 0.0);
    CHECK(l.marginal_entropy == doctest::Approx(log4).epsilon(1e-14));
    CHECK(l.inception_score == doctest::Approx(4.0).epsilon(1e-14));
    CHECK(l.kl_to_uniform == doctest::Approx(0.0).scale(1.0).epsilon(1e-14));
    CHECK(l.histogram == std::vector<int64_t>{2, 2, 2, 2});
  }
  SUBCASE("one class always, with certainty") {
    // p(y) one-hot: H(y) = 0, IS = 1; histogram all in class 2: KL = 1 * log(4 * 1) = log 4.
    std::vector<float> p(5 * 4, 0.0f);
    for (int x = 0; x < 5; ++x) p[x * 4 + 2] = 1.0f;
    const LabelMetrics l = eval::label_metrics(rows(p, 4));
    CHECK(l.mean_entropy == 0.0);
    CHECK(l.marginal_entropy == 0.0);
    CHECK(l.inception_score == doctest::Approx(1.0).epsilon(1e-14));
    CHECK(l.kl_to_uniform == doctest::Approx(log4).epsilon(1e-14));
    CHECK(l.histogram == std::vector<int64_t>{0, 0, 5, 0});
  }
  SUBCASE("uniform rows") {
    // H(y|x) = H(y) = log 4, IS = 1; every argmax is a four-way tie, so the lower class (0) takes all: KL = log 4.
    const LabelMetrics l = eval::label_metrics(Tensor::full({3, 4}, 0.25f));
    CHECK(l.mean_entropy == doctest::Approx(log4).epsilon(1e-14));
    CHECK(l.marginal_entropy == doctest::Approx(log4).epsilon(1e-14));
    CHECK(l.inception_score == doctest::Approx(1.0).epsilon(1e-14));
    CHECK(l.kl_to_uniform == doctest::Approx(log4).epsilon(1e-14));
    CHECK(l.histogram == std::vector<int64_t>{3, 0, 0, 0});
  }
}

TEST_CASE("label metrics of softmax rows equal the fixture script's") {
  const nlohmann::json& e = expected()["labels"];
  const LabelMetrics l = eval::label_metrics(fixture_set("probabilities"));
  CHECK(l.mean_entropy == doctest::Approx(e["mean_entropy"].get<double>()).epsilon(1e-10));
  CHECK(l.marginal_entropy == doctest::Approx(e["marginal_entropy"].get<double>()).epsilon(1e-10));
  CHECK(l.inception_score == doctest::Approx(e["inception_score"].get<double>()).epsilon(1e-10));
  CHECK(l.kl_to_uniform == doctest::Approx(e["kl_to_uniform"].get<double>()).epsilon(1e-10));
  CHECK(l.histogram == e["histogram"].get<std::vector<int64_t>>());
}

TEST_CASE("generation metrics give the same bits with one or two threads") {
  // Eigen's products and eigensolvers run single-threaded per slice; the nearest-neighbour decisions are exact.
  Generator generator(8);
  const Tensor a = Tensor::normal({400, 300}, generator), b = Tensor::normal({350, 300}, generator, 0.1f, 1.2f);
  const Tensor real = fixture_set("large_a"), fake = fixture_set("large_b");
  struct Results {
    double frechet;
    ManifoldMetrics manifold;
    TwoSampleAccuracy accuracy;
  };
  auto run = [&](int threads) {
    omp_set_num_threads(threads);
    return Results{eval::frechet_distance(a, b), eval::manifold_metrics(real, fake, 5),
                   eval::one_nn_accuracy(real, fake)};
  };
  const int threads = omp_get_max_threads();
  const Results one = run(1), two = run(2);
  omp_set_num_threads(threads);
  CHECK(one.frechet == two.frechet);
  CHECK(one.manifold.precision == two.manifold.precision);
  CHECK(one.manifold.recall == two.manifold.recall);
  CHECK(one.manifold.density == two.manifold.density);
  CHECK(one.manifold.coverage == two.manifold.coverage);
  CHECK(one.accuracy.accuracy == two.accuracy.accuracy);
}

TEST_CASE("generation metrics serialise every field to JSON") {
  const nlohmann::json m = eval::to_json(ManifoldMetrics{0.5, 0.25, 1.5, 0.75, 3});
  CHECK(m["precision"] == 0.5);
  CHECK(m["recall"] == 0.25);
  CHECK(m["density"] == 1.5);
  CHECK(m["coverage"] == 0.75);
  CHECK(m["k"] == 3);
  const nlohmann::json l = eval::to_json(LabelMetrics{0.1, 0.2, 1.5, 0.3, {1, 2}});
  CHECK(l["inception_score"] == 1.5);
  CHECK(l["kl_to_uniform"] == 0.3);
  CHECK(l["histogram"] == nlohmann::json::array({1, 2}));
  const nlohmann::json a = eval::to_json(TwoSampleAccuracy{0.5, 0.75, 0.25});
  CHECK(a["accuracy"] == 0.5);
  CHECK(a["real_accuracy"] == 0.75);
  CHECK(a["fake_accuracy"] == 0.25);
}

TEST_CASE("generation metric input errors name the problem") {
  const Tensor three = rows({0, 1, 2, 3, 4, 5}, 2);  // 3 x 2
  auto says = [](const std::function<void()>& body, const std::string& words) {
    const std::string message = error_message(body);
    CAPTURE(message);
    CHECK(message.find(words) != std::string::npos);
  };
  says([&] { eval::frechet_distance(three, rows({0, 1, 2, 3, 4, 5}, 3)); }, "different feature widths (2 vs 3)");
  says([&] { eval::frechet_distance(three, rows({0, 1}, 2)); }, "at least 2 samples per set");
  says([&] { eval::frechet_distance(three, Tensor::zeros({0, 2})); }, "is empty");
  says([&] { eval::frechet_distance(three, Tensor::zeros({3})); }, "float32 [samples, features]");
  says([&] { eval::frechet_distance(three, rows({0, 1, NAN, 3}, 2)); }, "row 1 feature 0 is not finite");
  says([&] { eval::manifold_metrics(three, rows({0, 1, 2, 3}, 2), 2); }, "k = 2 needs more than k fake samples, got 2");
  says([&] { eval::manifold_metrics(three, three, 3); }, "k = 3 needs more than k real samples, got 3");
  says([&] { eval::manifold_metrics(three, three, 0); }, "k must be at least 1");
  says([&] { eval::manifold_metrics(three, rows({0, 1, 2}, 3), 1); }, "different feature widths");
  says([&] { eval::manifold_metrics(rows({0, 1, 2, 3, 4, INFINITY}, 2), three, 1); }, "real set row 2 feature 1");
  says([&] { eval::manifold_metrics(rows({0, 0, 1e19f, 0, 0, 1}, 2), three, 1); }, "rescale the features");
  says([&] { eval::one_nn_accuracy(three, Tensor::zeros({0, 2})); }, "fake set is empty");
  says([&] { eval::one_nn_accuracy(three, rows({0, 1, 2}, 3)); }, "different feature widths");
  says([&] { eval::kth_neighbour_distances(three, 3); }, "k = 3 needs more than k points, got 3");
  says([&] { eval::label_metrics(rows({0.5f, 0.6f}, 2)); }, "row 0 sum to 1.1");
  says([&] { eval::label_metrics(rows({1.5f, -0.5f}, 2)); }, "outside [0, 1]");
  says([&] { eval::label_metrics(rows({NAN, 1.0f}, 2)); }, "outside [0, 1]");
  says([&] { eval::label_metrics(Tensor::zeros({0, 4})); }, "empty");
  says([&] { eval::label_metrics(Tensor::from_vector<int64_t>({0, 1}, {1, 2})); }, "float32 [samples, classes]");
}

}  // namespace tl::testing
