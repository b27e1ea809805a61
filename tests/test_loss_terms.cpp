// The loss terms: every case of the loss-term table has the gradient of central finite differences (clouds in
// general position, so no pairing changes within the step), TopoVAE's bottleneck terms T1 and Z1 equal their
// thesis-weighted sums, and every term of the trainer's registry parses its defaults, builds, and computes a
// finite loss that reads the reconstruction batch only when the term says it does.
#include "apps/trainer/loss_term.h"
#include "nn/data/synthetic.h"
#include "tests/loss_term_cases.h"
#include "tests/test_support.h"
#include "topology/differentiable.h"
#include "topology/regularizers.h"

namespace tl::testing {

TEST_CASE("every loss term's gradient matches finite differences") {
  for (const LossTermCase& c : loss_term_cases()) {
    SUBCASE(c.name.c_str()) {
      check_gradient(c.loss, make_inputs(c), c.inputs.size() - 1, c.name, c.eps);
    }
  }
}

TEST_CASE("TopoVAE T1 and Z1 are the thesis-weighted bottleneck distances over the batch size") {
  const LossTermClouds& clouds = loss_term_clouds();
  const Tensor& ring = clouds.ring;
  const Tensor& small = clouds.small;
  // T1: the two bottleneck terms weighted 5 and 5, divided by the batch size.
  const auto a = topology::persistence_diagrams(ring), b = topology::persistence_diagrams(small);
  const float expected = (5.0f * topology::bottleneck_distance(a.diagrams[0], b.diagrams[0]).item() +
                          5.0f * topology::bottleneck_distance(a.diagrams[1], b.diagrams[1]).item()) /
                         24.0f;
  CHECK(topology::topovae_loss(ring, small, topology::TopoVae::T1).item() == doctest::Approx(expected));
  // Z1: the same on the latent side, against the input diagrams scaled by s (here 0.1).
  const auto scaled_0 = mul(a.diagrams[0], 0.1f), scaled_1 = mul(a.diagrams[1], 0.1f);
  const float z1 = (5.0f * topology::bottleneck_distance(b.diagrams[0], scaled_0).item() +
                    5.0f * topology::bottleneck_distance(b.diagrams[1], scaled_1).item()) /
                   16.0f;  // B = 16 codes
  CHECK(topology::topovae_z1_loss(small, ring, 0.1f).item() == doctest::Approx(z1));
  CHECK(error_message([&] { topology::topovae_z1_loss(small, ring, 0.0f); }).find("scale must be > 0") !=
        std::string::npos);
}

TEST_CASE("every registered loss term parses its defaults, builds, and computes a finite loss") {
  const data::Dataset train_set = data::synthetic_dataset("clusters", 64, 2);
  const Tensor batch = data::gather_rows(train_set, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Device::CPU);
  Generator generator(5);
  const Tensor latent = data::gaussian_cloud(12, 2, generator).set_requires_grad(true);
  const Tensor reconstruction = add(batch, mul(data::gaussian_cloud(12, batch.dim(1), generator), 0.1f));
  const train::LossTermSetup setup{train_set, 2, Device::CPU};
  for (const std::string& name : train::loss_term_names()) {
    SUBCASE(name.c_str()) {
      std::unique_ptr<train::LossTerm> parsed = train::make_loss_term(name);
      const nlohmann::json defaults = nlohmann::json::object();
      train::ConfigSection options(defaults, "topology.0");
      parsed->parse(options);
      const std::unique_ptr<train::LossTerm> term = parsed->build(setup);
      // An undefined reconstruction fails any term that reads it without saying so.
      const Tensor given = term->needs_reconstruction() ? reconstruction : Tensor();
      const Tensor loss = term->loss({batch, latent, given});
      CHECK(std::isfinite(loss.item()));
    }
  }
  CHECK(error_message([] { train::make_loss_term("talsr_2"); }).find("no loss term is registered as 'talsr_2'") !=
        std::string::npos);
}

}  // namespace tl::testing
