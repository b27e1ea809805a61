// TGLML's landscape loss: the L2 distance between the persistence landscapes of the batch and of its codes.
#include "apps/trainer/loss_term.h"
#include "topology/regularizers.h"

namespace tl::train {
namespace {

class LandscapeTerm final : public LossTerm {
 public:
  void parse(ConfigSection& s) override {
    read_degrees(s, options_.dims, options_.weights);
    options_.levels = static_cast<int>(s.positive_integer("levels", 5));
    options_.grid_points = s.get_checked<int>(
        "grid_points", 64, [](int v) { return v >= 2; }, "an integer >= 2");
  }

  std::unique_ptr<LossTerm> build(const LossTermSetup&) const override {
    return std::make_unique<LandscapeTerm>(*this);
  }

  Tensor loss(const LossTermBatch& b) const override { return topology::landscape_loss(b.batch, b.latent, options_); }

 private:
  topology::LandscapeLossOptions options_;
};

}  // namespace

std::unique_ptr<LossTerm> make_landscape_term() {
  return std::make_unique<LandscapeTerm>();
}

}  // namespace tl::train
