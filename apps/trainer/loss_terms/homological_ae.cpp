// The homological autoencoder's penalty on the codes alone: a ball term plus the total persistence of H0.
#include "apps/trainer/loss_term.h"
#include "topology/regularizers.h"

namespace tl::train {
namespace {

class HomologicalAeTerm final : public LossTerm {
 public:
  void parse(ConfigSection& s) override {
    options_.squared_norm = s.get<bool>("squared_norm", false);
    options_.death_cap = s.non_negative_number("death_cap", 0.0f);
    options_.degree = s.positive_number("degree", 1.0f);
    options_.ball_only = s.get<bool>("ball_only", false);
  }

  std::unique_ptr<LossTerm> build(const LossTermSetup&) const override {
    return std::make_unique<HomologicalAeTerm>(*this);
  }

  Tensor loss(const LossTermBatch& b) const override { return topology::homological_ae_penalty(b.latent, options_); }

 private:
  topology::HomologicalAeOptions options_;
};

}  // namespace

std::unique_ptr<LossTerm> make_homological_ae_term() {
  return std::make_unique<HomologicalAeTerm>();
}

}  // namespace tl::train
