// TALSR: W_1 (or W_2, bottleneck) between the diagrams of the batch, or of a reference for it, and of its codes.
// The "target" reference compares the codes with diagrams of a fixed sample of the training set, computed once.
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
  }

  std::unique_ptr<LossTerm> build(const LossTermSetup& setup) const override {
    auto built = std::make_unique<TalsrTerm>(*this);
    if (options_.reference == topology::TalsrReference::TargetDiagrams)
      built->options_.target_diagrams = target_diagrams(setup);
    return built;
  }

  Tensor loss(const LossTermBatch& b) const override { return topology::talsr_loss(b.batch, b.latent, options_); }

 private:
  // Diagrams of a fixed sample of the training set (the first rows of a shuffle no epoch uses), one per degree.
  std::vector<Tensor> target_diagrams(const LossTermSetup& setup) const {
    std::vector<int64_t> order = data::epoch_permutation(setup.train_set.size(), setup.seed, -1);
    order.resize(static_cast<size_t>(std::min<int64_t>(target_points_, setup.train_set.size())));
    NoGradGuard no_grad;
    const topology::DifferentiableDiagrams target =
        topology::persistence_diagrams(data::gather_rows(setup.train_set, order, setup.device));
    std::vector<Tensor> diagrams;
    for (int dim : options_.dims) diagrams.push_back(target.diagrams[dim]);
    return diagrams;
  }

  topology::TalsrOptions options_;
  int64_t target_points_ = 1024;  // the target reference's sample size
};

}  // namespace

std::unique_ptr<LossTerm> make_talsr_term() {
  return std::make_unique<TalsrTerm>();
}

}  // namespace tl::train
