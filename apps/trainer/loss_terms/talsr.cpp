// TALSR: W_1 (or W_2, bottleneck) between the diagrams of the batch, or of a reference for it, and of its codes.
// The "target" reference compares the codes with diagrams of a fixed sample of the training set, computed once.
// "normalize" divides each side's diagrams by its cloud's scale (none, diameter, mean_edge) or multiplies the codes'
// by a learnable exp(s), s a parameter of the term initialised to 0 (learnable); docs/methods.md §3a.
#include "apps/trainer/loss_term.h"
#include "core/autograd.h"
#include "topology/differentiable.h"
#include "topology/regularizers.h"

namespace tl::train {
namespace {

class TalsrTerm final : public LossTerm {
 public:
  void parse(ConfigSection& s) override {
    read_degrees(s, options_.dims, options_.weights);
    options_.distance = static_cast<topology::DiagramDistance>(s.choice("distance", "w1", {"w1", "w2", "bottleneck"}));
    options_.metric = static_cast<topology::GroundMetric>(s.choice("metric", "linf", {"linf", "l2"}));
    options_.reference = static_cast<topology::TalsrReference>(
        s.choice("reference", "raw", {"raw", "pca", "random_projection", "landmarks", "target"}));
    options_.projection_dim = s.non_negative_integer("projection_dim", 0);
    options_.projection_seed = s.get<uint64_t>("projection_seed", 0);
    options_.landmarks = s.positive_integer("landmarks", 32);
    target_points_ = s.positive_integer("target_points", 1024);
    options_.normalisation = static_cast<topology::TalsrNormalisation>(
        s.choice("normalize", "none", {"none", "diameter", "mean_edge", "learnable"}));
  }

  std::unique_ptr<LossTerm> build(const LossTermSetup& setup) const override {
    auto built = std::make_unique<TalsrTerm>(*this);
    if (options_.reference == topology::TalsrReference::TargetDiagrams) built->set_target(setup);
    if (options_.normalisation == topology::TalsrNormalisation::Learnable)
      built->log_latent_scale_ = Tensor::zeros({1}, setup.device).set_requires_grad(true);
    return built;
  }

  Tensor loss(const LossTermBatch& b) const override {
    return topology::talsr_loss(b.batch, b.latent, options_, log_latent_scale_);
  }

  std::vector<std::pair<std::string, Tensor*>> parameters() override {
    if (!log_latent_scale_.defined()) return {};
    return {{"log_latent_scale", &log_latent_scale_}};
  }

 private:
  // Diagrams of a fixed sample of the training set (the first rows of a shuffle no epoch uses), one per degree,
  // and under a normalisation the sample's own scale, which the loss divides them by.
  void set_target(const LossTermSetup& setup) {
    std::vector<int64_t> order = data::epoch_permutation(setup.train_set.size(), setup.seed, -1);
    order.resize(static_cast<size_t>(std::min<int64_t>(target_points_, setup.train_set.size())));
    NoGradGuard no_grad;
    const Tensor sample = data::gather_rows(setup.train_set, order, setup.device);
    const topology::DifferentiableDiagrams target = topology::persistence_diagrams(sample);
    options_.target_diagrams.clear();
    for (int dim : options_.dims) options_.target_diagrams.push_back(target.diagrams[dim]);
    // Learnable divides the reference side by its diameter, as the batch would be.
    const topology::TalsrNormalisation reference_normalisation =
        options_.normalisation == topology::TalsrNormalisation::Learnable ? topology::TalsrNormalisation::Diameter
                                                                          : options_.normalisation;
    options_.target_scale = options_.normalisation == topology::TalsrNormalisation::None
                                ? 0.0f
                                : topology::talsr_scale(sample, reference_normalisation).item();
  }

  topology::TalsrOptions options_;
  int64_t target_points_ = 1024;  // the target reference's sample size
  Tensor log_latent_scale_;       // s of the learnable normalisation, once built
};

}  // namespace

std::unique_ptr<LossTerm> make_talsr_term() {
  return std::make_unique<TalsrTerm>();
}

}  // namespace tl::train
