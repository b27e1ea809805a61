// Summaries and regularizers: hand-computed values on tiny inputs, finite differences of the summaries, and
// TopoGen's synthetic experiment: gradient descent under a target-diagram term alone reaches that topology (a blob
// opens into a ring, a ring closes, a cluster splits, two clusters merge). The regularizers' gradients are checked
// case by case in test_loss_terms.cpp; TALSR's scale normalisations are checked here on hand values (a cloud and
// its 3x copy), by their zero radial gradient (the scales are differentiated), and through the trainer's term
// (the normalize key, the learnable s, the target sample's scale).
#include <algorithm>
#include <cmath>

#include "apps/trainer/loss_term.h"
#include "nn/data/synthetic.h"
#include "tests/test_support.h"
#include "topology/differentiable.h"
#include "topology/persistence.h"
#include "topology/regularizers.h"
#include "topology/summaries.h"

namespace tl::testing {

TEST_CASE("diagram summaries equal hand-computed values and their gradients finite differences") {
  const Tensor diagram = Tensor::from_vector(std::vector<float>{0, 1, 0.5f, 3.5f}, {2, 2});  // bars of length 1, 3
  CHECK(topology::total_persistence(diagram).item() == doctest::Approx(4.0));
  CHECK(topology::total_persistence(diagram, 2.0f).item() == doctest::Approx(10.0));
  CHECK(topology::persistent_entropy(diagram).item() ==
        doctest::Approx(-(0.25 * std::log(0.25) + 0.75 * std::log(0.75))));
  CHECK(topology::persistent_entropy(diagram, 2.0f).item() == 0.0f);  // one bar selected: no uncertainty
  CHECK(topology::persistent_entropy(Tensor::zeros({0, 2})).item() == 0.0f);
  CHECK(topology::total_persistence(Tensor::zeros({0, 2})).item() == 0.0f);
  Generator generator(3);
  const Tensor random = add(data::uniform_cube(6, 2, generator), Tensor::from_vector(std::vector<float>{0, 1}, {1, 2}));
  check_gradient([](const std::vector<Tensor>& v) { return topology::persistent_entropy(v[0]); }, {random}, 0,
                 "entropy");
  check_gradient([](const std::vector<Tensor>& v) { return topology::total_persistence(v[0], 2.0f); }, {random}, 0,
                 "total persistence");
}

TEST_CASE("landscapes and Betti curves equal hand-computed values") {
  // Bars (0, 2) and (1, 2): tents of height 1 at t = 1 and 0.5 at t = 1.5.
  const Tensor diagram = Tensor::from_vector(std::vector<float>{0, 2, 1, 2}, {2, 2});
  const std::vector<float> grid{0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 2.5f};
  CHECK(topology::persistence_landscape(diagram, grid, 3).to_vector<float>() ==
        std::vector<float>{0, 0.5f, 1, 0.5f, 0, 0, /**/ 0, 0, 0, 0.5f, 0, 0, /**/ 0, 0, 0, 0, 0, 0});
  CHECK(topology::betti_curve(diagram, grid).to_vector<float>() == std::vector<float>{1, 1, 2, 2, 0, 0});
  const std::vector<float> smooth = topology::smoothed_betti_curve(diagram, grid, 0.01f).to_vector<float>();
  CHECK(smooth[1] == doctest::Approx(1.0).epsilon(1e-3));
  CHECK(smooth[3] == doctest::Approx(2.0).epsilon(1e-3));
  CHECK(smooth[5] == doctest::Approx(0.0).epsilon(1e-3));
  CHECK(topology::ramp_weight(0, 2.0f, 100) == 0.0f);
  CHECK(topology::ramp_weight(25, 2.0f, 100) == 0.5f);
  CHECK(topology::ramp_weight(400, 2.0f, 100) == 2.0f);
  Generator generator(4);
  const Tensor random = add(data::uniform_cube(5, 2, generator), Tensor::from_vector(std::vector<float>{0, 1}, {1, 2}));
  const std::vector<float> fine{0.13f, 0.41f, 0.77f, 1.05f, 1.33f, 1.61f};
  check_gradient(
      [&](const std::vector<Tensor>& v) {
        return sum(mul(topology::persistence_landscape(v[0], fine, 2),
                       Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6, 6, 5, 4, 3, 2, 1}, {2, 6})));
      },
      {random}, 0, "landscape");
  check_gradient([&](const std::vector<Tensor>& v) { return sum(topology::smoothed_betti_curve(v[0], fine, 0.3f)); },
                 {random}, 0, "smoothed Betti curve");
}

TEST_CASE("the Reininghaus kernel and 4SGDE equal hand-computed values") {
  const Tensor bar = Tensor::from_vector(std::vector<float>{0, 1}, {1, 2});
  // p = q = (0, 1): the direct term is exp(0); the mirror (1, 0) lies at squared distance 2.
  CHECK(topology::reininghaus_kernel(bar, bar, 0.5f).item() ==
        doctest::Approx((1.0 - std::exp(-2.0 / 4.0)) / (4.0 * 3.14159265358979)));
  CHECK(topology::reininghaus_distance_squared(bar, bar, 0.5f).item() == doctest::Approx(0.0));
  CHECK(topology::sgde4(bar, {1.0f, 0.0f}, 0.5f, 0.002f).to_vector<float>()[0] == doctest::Approx(0.002));
  CHECK(topology::sgde4(bar, {1.0f, 0.0f}, 0.5f, 0.002f).to_vector<float>()[1] ==
        doctest::Approx(0.002 * std::exp(-4.0)));
}

TEST_CASE("max-min landmarks pick the farthest point each time") {
  const Tensor line = Tensor::from_vector(std::vector<float>{0, 1, 2, 10}, {4, 1});
  CHECK(topology::maxmin_landmarks(line, 3) == std::vector<int64_t>{0, 3, 2});
  CHECK(error_message([&] { topology::maxmin_landmarks(line, 5); }).find("asked for 5 landmarks of 4") !=
        std::string::npos);
}

TEST_CASE("PCA scores keep the pairwise distances of data of that rank") {
  // A 2-D cloud mapped into 5-D by a map with orthonormal columns: its 2 principal scores are the cloud itself up
  // to a rotation and a shift, so every pairwise distance survives.
  Generator generator(33);
  const Tensor flat = data::gaussian_cloud(30, 2, generator);
  const float s = 1.0f / std::sqrt(2.0f);
  const Tensor embedding = Tensor::from_vector(std::vector<float>{s, 0, s, 0, 0, 0, 0.6f, 0, 0.8f, 0}, {2, 5});
  const Tensor scores = topology::pca_scores(add(matmul(flat, embedding), 3.0f), 2);
  CHECK(scores.shape() == Shape{30, 2});
  check_close(topology::pairwise_distances(scores), topology::pairwise_distances(flat), 1e-4, 1e-4, "distances");
  CHECK(error_message([&] { topology::pca_scores(flat, 3); }).find("3 components asked") != std::string::npos);
}

TEST_CASE("the homological-AE penalty equals a hand count under both conventions") {
  // Codes (0,0), (3,0), (0,4): norms 0, 3, 4; spanning tree edges 3 and 4 (the third side is 5).
  const Tensor codes = Tensor::from_vector(std::vector<float>{0, 0, 3, 0, 0, 4}, {3, 2});
  CHECK(topology::homological_ae_penalty(codes).item() == doctest::Approx((2 + 3) - (3 + 4)));
  topology::HomologicalAeOptions authors;
  authors.squared_norm = true;
  authors.death_cap = 0.5f;
  CHECK(topology::homological_ae_penalty(codes, authors).item() == doctest::Approx((8 + 15) - (0.5 + 0.5)));
  topology::HomologicalAeOptions squared_deaths;
  squared_deaths.degree = 2.0f;
  CHECK(topology::homological_ae_penalty(codes, squared_deaths).item() == doctest::Approx(5 - (9 + 16)));
  topology::HomologicalAeOptions ball;
  ball.ball_only = true;
  CHECK(topology::homological_ae_penalty(codes, ball).item() == doctest::Approx(5.0));
}

TEST_CASE("the signature loss vanishes when the latent space is the input rescaled") {
  Generator generator(32);
  const Tensor batch = data::gaussian_cloud(20, 3, generator);
  const std::vector<float> d = topology::pairwise_distances(batch).to_vector<float>();
  const float largest = *std::max_element(d.begin(), d.end());
  CHECK(topology::topological_signature_loss(batch, mul(batch, 1.0f / largest)).item() ==
        doctest::Approx(0.0).epsilon(1e-6));
  CHECK(topology::topological_signature_loss(batch, mul(batch, 2.0f / largest)).item() > 0.01f);
}

TEST_CASE("TALSR's scale normalisations: a cloud and its 3x copy agree under diameter and mean_edge") {
  using topology::TalsrNormalisation;
  // A 1 x 2 rectangle (in 3-D, a zero third coordinate) and its 3x copy in 2-D. H0 deaths 1, 1, 2; H1 (2, sqrt 5);
  // diameter sqrt 5; mean pairwise distance (1 + 1 + 2 + 2 + 2 sqrt 5) / 6.
  const Tensor rectangle = Tensor::from_vector(std::vector<float>{0, 0, 0, 1, 0, 0, 1, 2, 0, 0, 2, 0}, {4, 3});
  const Tensor tripled = Tensor::from_vector(std::vector<float>{0, 0, 3, 0, 3, 6, 0, 6}, {4, 2});
  const double root5 = std::sqrt(5.0);
  CHECK(topology::talsr_scale(rectangle, TalsrNormalisation::Diameter).item() == doctest::Approx(root5));
  CHECK(topology::talsr_scale(tripled, TalsrNormalisation::Learnable).item() == doctest::Approx(3 * root5));
  CHECK(topology::talsr_scale(rectangle, TalsrNormalisation::MeanEdge).item() == doctest::Approx((6 + 2 * root5) / 6));
  CHECK(topology::talsr_scale(rectangle, TalsrNormalisation::None).item() == 1.0f);
  CHECK(topology::talsr_scale(Tensor::zeros({3, 2}), TalsrNormalisation::Diameter).item() == 1.0f);  // one point

  topology::TalsrOptions options;  // W_1 (L_inf) on H0 and H1, weights 1 and 1
  // None: H0 deaths (1, 1, 2) against (3, 3, 6): the optimal matching pairs 2 with 3 (cost 1) and 1 with 3 (2), the
  // other 1 and the 6 go to the diagonal (1 / 2 + 6 / 2): 6.5; the H1 bars (2, sqrt 5) and (6, 3 sqrt 5) both go to
  // the diagonal, (sqrt 5 - 2) / 2 + 3 (sqrt 5 - 2) / 2.
  CHECK(topology::talsr_loss(rectangle, tripled, options).item() == doctest::Approx(6.5 + 2 * (root5 - 2)));
  for (TalsrNormalisation normalisation : {TalsrNormalisation::Diameter, TalsrNormalisation::MeanEdge}) {
    options.normalisation = normalisation;
    CHECK(topology::talsr_loss(rectangle, tripled, options).item() == doctest::Approx(0.0).epsilon(1e-6));
  }
  // Learnable: X / diam X against exp(s) Z; zero at exp(s) = 1 / (3 sqrt 5). At s = 0 every bar goes to the
  // diagonal (matching deaths a, b costs |a - b| > (a + b) / 2 once b > 3a): H0 (4 / sqrt 5 + 12) / 2, H1 the bars
  // (2 / sqrt 5, 1) and (6, 3 sqrt 5), (1 - 2 / sqrt 5) / 2 + 3 (sqrt 5 - 2) / 2.
  options.normalisation = TalsrNormalisation::Learnable;
  const Tensor s_match = Tensor::from_vector(std::vector<float>{static_cast<float>(-std::log(3 * root5))}, {1});
  CHECK(topology::talsr_loss(rectangle, tripled, options, s_match).item() == doctest::Approx(0.0).epsilon(1e-6));
  CHECK(topology::talsr_loss(rectangle, tripled, options, Tensor::zeros({1})).item() ==
        doctest::Approx(2 / root5 + 6 + (1 - 2 / root5) / 2 + 1.5 * (root5 - 2)));
  CHECK(error_message([&] { topology::talsr_loss(rectangle, tripled, options); }).find("log latent scale") !=
        std::string::npos);

  // A random cloud and its 3x copy, under each reference that keeps the batch's geometry.
  Generator generator(41);
  const Tensor cloud = data::gaussian_cloud(20, 4, generator);
  const Tensor scaled = mul(cloud, 3.0f);
  const std::pair<topology::TalsrReference, const char*> references[] = {
      {topology::TalsrReference::RawBatch, "raw"},
      {topology::TalsrReference::Pca, "pca"},
      {topology::TalsrReference::Landmarks, "landmarks"}};
  for (const auto& entry : references) {
    const char* name = entry.second;
    CAPTURE(name);
    topology::TalsrOptions random;
    random.reference = entry.first;
    random.projection_dim = 4;  // the PCA scores rotate the cloud: the same distances
    random.landmarks = 12;
    CHECK(topology::talsr_loss(cloud, scaled, random).item() > 1.0f);
    for (TalsrNormalisation normalisation : {TalsrNormalisation::Diameter, TalsrNormalisation::MeanEdge}) {
      random.normalisation = normalisation;
      CHECK(topology::talsr_loss(cloud, scaled, random).item() == doctest::Approx(0.0).epsilon(1e-5));
    }
  }
}

TEST_CASE("TALSR's normalised scales are differentiated: no gradient along the codes' own scale") {
  // Under diameter and mean_edge the loss is invariant to Z -> c Z, so <dL/dZ, Z> = 0: the scale is a function of the
  // coordinates, not a detached constant (which would push the codes' scale). Without normalisation it is not.
  Generator generator(42);
  const Tensor batch = data::gaussian_cloud(16, 5, generator);
  const Tensor codes = mul(data::gaussian_cloud(16, 2, generator), 4.0f);
  auto radial = [&](topology::TalsrNormalisation normalisation) {
    topology::TalsrOptions options;
    options.normalisation = normalisation;
    const Tensor z = codes.clone().set_requires_grad(true);
    topology::talsr_loss(batch, z, options).backward();
    const std::vector<float> g = z.grad().to_vector<float>(), v = codes.to_vector<float>();
    double dot = 0.0, gg = 0.0, vv = 0.0;
    for (size_t i = 0; i < g.size(); ++i)
      dot += double(g[i]) * v[i], gg += double(g[i]) * g[i], vv += double(v[i]) * v[i];
    REQUIRE(gg > 0.0);
    return dot / std::sqrt(gg * vv);  // the cosine between the gradient and the radial direction
  };
  CHECK(std::abs(radial(topology::TalsrNormalisation::None)) > 0.1);
  CHECK(std::abs(radial(topology::TalsrNormalisation::Diameter)) < 1e-4);
  CHECK(std::abs(radial(topology::TalsrNormalisation::MeanEdge)) < 1e-4);
}

TEST_CASE("the talsr term parses normalize, trains s under learnable, and scales the target sample") {
  const data::Dataset train_set = data::synthetic_dataset("clusters", 64, 2);
  const Tensor batch = data::gather_rows(train_set, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Device::CPU);
  Generator generator(43);
  const Tensor latent = data::gaussian_cloud(12, 2, generator);
  const train::LossTermSetup setup{train_set, 2, Device::CPU};
  auto built = [&](const nlohmann::json& config) {
    std::unique_ptr<train::LossTerm> parsed = train::make_loss_term("talsr");
    train::ConfigSection section(config, "topology.0");
    parsed->parse(section);
    section.finish();
    return parsed->build(setup);
  };
  CHECK(error_message([&] {
          built({{"normalize", "max"}});
        }).find("'topology.0.normalize' must be one of none, diameter, mean_edge, learnable, got 'max'") !=
        std::string::npos);
  CHECK(error_message([&] {
          built({{"normalize", 1}});
        }).find("'topology.0.normalize' must be a string") != std::string::npos);
  CHECK(built(nlohmann::json::object())->parameters().empty());  // none by default
  CHECK(built({{"normalize", "diameter"}})->parameters().empty());

  // Learnable: one parameter s = 0 that the loss's gradient reaches.
  const std::unique_ptr<train::LossTerm> learnable = built({{"normalize", "learnable"}});
  const auto parameters = learnable->parameters();
  REQUIRE(parameters.size() == 1);
  CHECK(parameters[0].first == "log_latent_scale");
  const Tensor& s = *parameters[0].second;
  CHECK(s.to_vector<float>() == std::vector<float>{0.0f});
  learnable->loss({batch, latent, Tensor()}).backward();
  REQUIRE(s.grad().defined());
  CHECK(s.grad().item() != 0.0f);

  // The target reference under a normalisation: the codes' scale does not matter, and the sample's diagrams are
  // divided by the sample's own scale (at scale 1 they are compared in absolute units: a different value).
  for (const char* normalisation : {"diameter", "mean_edge"}) {
    CAPTURE(normalisation);
    const std::unique_ptr<train::LossTerm> target =
        built({{"reference", "target"}, {"target_points", 40}, {"normalize", normalisation}});
    const float at_one = target->loss({batch, latent, Tensor()}).item();
    CHECK(target->loss({batch, mul(latent, 3.0f), Tensor()}).item() == doctest::Approx(at_one).epsilon(1e-5));
    const std::unique_ptr<train::LossTerm> plain = built({{"reference", "target"}, {"target_points", 40}});
    CHECK(plain->loss({batch, latent, Tensor()}).item() != doctest::Approx(at_one).epsilon(1e-3));
  }
}

}  // namespace tl::testing

namespace tl::testing {
namespace {

// Plain gradient descent on the coordinates under `loss` alone (TopoGen's synthetic experiment).
Tensor descend(Tensor points, const std::function<Tensor(const Tensor&)>& loss, int steps, float learning_rate) {
  for (int step = 0; step < steps; ++step) {
    Tensor leaf = points.clone().set_requires_grad(true);
    loss(leaf).backward();
    NoGradGuard no_grad;
    points = sub(points, mul(leaf.grad(), learning_rate));
  }
  return points;
}

std::vector<float> bar_lengths_of(const topology::Diagram& diagram) {
  std::vector<float> out;
  for (const topology::PersistencePair& p : diagram.pairs) out.push_back(p.death - p.birth);
  return out;
}

int count_above(const std::vector<float>& values, float threshold) {
  return static_cast<int>(std::count_if(values.begin(), values.end(), [&](float v) { return v > threshold; }));
}

topology::TalsrOptions target_term(int dim, const Tensor& target) {
  topology::TalsrOptions options;
  options.reference = topology::TalsrReference::TargetDiagrams;
  options.dims = {dim};
  options.weights = {1.0f};
  options.target_diagrams = {target};
  return options;
}

}  // namespace

TEST_CASE("a regularizer alone deforms a cloud to the target topology") {
  Generator generator(5);
  SUBCASE("a blob opens into a ring") {
    // Target: the blob's own longest H1 bar stretched 2.5 times (close enough that W_1 matches the two).
    const Tensor blob = mul(data::gaussian_cloud(60, 2, generator), 0.3f);
    const topology::Diagram before = topology::persistence(blob).diagrams[1];
    topology::PersistencePair top;
    for (const auto& p : before.pairs)
      if (p.death - p.birth > top.death - top.birth) top = p;
    const float target_length = 2.5f * (top.death - top.birth);
    const Tensor target = Tensor::from_vector(std::vector<float>{top.birth, top.birth + target_length}, {1, 2});
    CHECK(count_above(bar_lengths_of(before), 0.5f * target_length) == 0);
    const topology::TalsrOptions options = target_term(1, target);
    const Tensor ring = descend(
        blob, [&](const Tensor& z) { return topology::talsr_loss(Tensor(), z, options); }, 300, 0.01f);
    const std::vector<float> after = bar_lengths_of(topology::persistence(ring).diagrams[1]);
    CHECK(count_above(after, 0.5f * target_length) == 1);
    CHECK(*std::max_element(after.begin(), after.end()) == doctest::Approx(target_length).epsilon(0.1));
  }
  SUBCASE("a ring closes") {
    const Tensor circle = data::noisy_circle(40, 0.5f, 0.03f, generator);
    CHECK(count_above(bar_lengths_of(topology::persistence(circle).diagrams[1]), 0.3f) == 1);
    const topology::TalsrOptions options = target_term(1, Tensor::zeros({0, 2}));
    const Tensor closed = descend(
        circle, [&](const Tensor& z) { return topology::talsr_loss(Tensor(), z, options); }, 300, 0.01f);
    CHECK(count_above(bar_lengths_of(topology::persistence(closed).diagrams[1]), 0.3f) == 0);
  }
  SUBCASE("a cluster splits in two") {
    // Split: the target is the longest spanning-tree edge stretched 2.5 times.
    const Tensor one = mul(data::gaussian_cloud(40, 2, generator), 0.2f);
    const std::vector<float> deaths = bar_lengths_of(topology::persistence(one).diagrams[0]);
    const float target_death = 2.5f * *std::max_element(deaths.begin(), deaths.end());
    CHECK(count_above(deaths, 0.5f * target_death) == 0);
    const topology::TalsrOptions split =
        target_term(0, Tensor::from_vector(std::vector<float>{0.0f, target_death}, {1, 2}));
    const Tensor parted = descend(
        one, [&](const Tensor& z) { return topology::talsr_loss(Tensor(), z, split); }, 300, 0.01f);
    CHECK(count_above(bar_lengths_of(topology::persistence(parted).diagrams[0]), 0.5f * target_death) == 1);
  }
  SUBCASE("two clusters merge") {
    // Merge: the target is the cloud's own H0 diagram without its longest bar, the gap between the clusters. Only
    // the bridge edge's ends feel the term; as they leave their clusters the spanning tree re-routes and the next
    // pair is pulled, until the clusters are joined at the scale of their own spacing.
    const Tensor shift = Tensor::from_vector(std::vector<float>{1.0f, 0.0f}, {1, 2});
    const Tensor two = concat({sub(mul(data::gaussian_cloud(20, 2, generator), 0.2f), shift),
                               add(mul(data::gaussian_cloud(20, 2, generator), 0.2f), shift)},
                              0);
    std::vector<float> deaths = bar_lengths_of(topology::persistence(two).diagrams[0]);
    std::sort(deaths.begin(), deaths.end());
    const float gap = deaths.back(), spacing = deaths[deaths.size() - 2];
    CHECK(gap > 2.5f * spacing);
    deaths.pop_back();
    std::vector<float> target;
    for (float d : deaths) target.insert(target.end(), {0.0f, d});
    const topology::TalsrOptions merge =
        target_term(0, Tensor::from_vector(target, {static_cast<int64_t>(deaths.size()), 2}));
    const Tensor joined = descend(
        two, [&](const Tensor& z) { return topology::talsr_loss(Tensor(), z, merge); }, 300, 0.01f);
    CHECK(count_above(bar_lengths_of(topology::persistence(joined).diagrams[0]), 1.25f * spacing) == 0);
  }
}

}  // namespace tl::testing
