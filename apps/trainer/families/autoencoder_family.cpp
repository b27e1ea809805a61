// The autoencoder family: one phase whose loss is the reconstruction, a VAE's KL times beta, and the topology terms
// on the codes (docs/methods.md §3).
#include "apps/trainer/families/families.h"

namespace tl::train {
namespace {

class AutoencoderFamily final : public ModelFamily {
 public:
  AutoencoderFamily(const TrainConfig& config, Generator& init) : config_(config), model_(config.model, init) {
    model_.to(config.device);
  }

  nn::Module& module() override { return model_; }
  std::vector<std::pair<std::string, Tensor*>> phase_parameters(size_t) override { return model_.named_parameters(); }
  std::vector<std::string> samplers() const override { return {"gaussian", "unit_ball", "langevin"}; }
  nn::Autoencoder* autoencoder() override { return &model_; }

  std::vector<NamedLoss> phase_losses(size_t, const PhaseInputs& in) override {
    const nn::AutoencoderOutput out = model_.run(in.batch, in.noise, in.shard);
    // A sum over a shard's rows, scaled to estimate the sum over the whole batch: the trainer averages the processes'
    // losses and gradients, which then give the whole batch's sum (means need no scaling).
    const float whole_batch = config_.reduction == Reduction::Sum && in.shard.split()
                                  ? static_cast<float>(in.shard.total) / static_cast<float>(in.batch.dim(0))
                                  : 1.0f;
    std::vector<NamedLoss> losses{
        {"reconstruction",
         reconstruction_loss(config_.reconstruction, out.reconstruction, in.batch, config_.reduction) * whole_batch}};
    if (config_.model.variational && config_.beta > 0.0f)
      losses.push_back({"kl", gaussian_kl(out.mu, out.logvar, config_.reduction) * (config_.beta * whole_batch)});
    const Tensor reconstruction = in.topology.needs_reconstruction
                                      ? reconstruction_values(config_.reconstruction, out.reconstruction)
                                      : out.reconstruction;
    for (NamedLoss& term : in.topology.apply({in.batch, out.latent, reconstruction})) losses.push_back(std::move(term));
    return losses;
  }

 private:
  TrainConfig config_;
  nn::Autoencoder model_;
};

}  // namespace

std::unique_ptr<ModelFamily> make_autoencoder_family(const TrainConfig& config, Generator& init) {
  return std::make_unique<AutoencoderFamily>(config, init);
}

}  // namespace tl::train
