// The topological autoencoder's signature loss (Moor et al.): the distances of the batch's and the codes'
// persistence pairings compared across the two spaces, optionally with a learnable latent scale.
#include "apps/trainer/loss_term.h"
#include "topology/regularizers.h"

namespace tl::train {
namespace {

class SignatureTerm final : public LossTerm {
 public:
  void parse(ConfigSection& s) override {
    options_.halve = s.get<bool>("halve", false);
    options_.divide_by_batch = s.get<bool>("divide_by_batch", false);
    options_.input_scale = s.non_negative_number("input_scale", 0.0f);
    learnable_latent_scale_ = s.get<bool>("learnable_latent_scale", false);
  }

  std::unique_ptr<LossTerm> build(const LossTermSetup& setup) const override {
    auto built = std::make_unique<SignatureTerm>(*this);
    if (learnable_latent_scale_) built->latent_scale_ = Tensor::ones({1}, setup.device).set_requires_grad(true);
    return built;
  }

  Tensor loss(const LossTermBatch& b) const override {
    return topology::topological_signature_loss(b.batch, b.latent, options_, latent_scale_);
  }

  std::vector<std::pair<std::string, Tensor*>> parameters() override {
    if (!latent_scale_.defined()) return {};
    return {{"latent_scale", &latent_scale_}};
  }

 private:
  topology::SignatureOptions options_;
  bool learnable_latent_scale_ = false;  // D_Z divided by a trained scalar
  Tensor latent_scale_;                  // that scalar, once built
};

}  // namespace

std::unique_ptr<LossTerm> make_signature_term() {
  return std::make_unique<SignatureTerm>();
}

}  // namespace tl::train
