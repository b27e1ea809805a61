// The GAN family (TALSR's and TGLML's GAN variants, docs/methods.md §3a-b): per step, z ~ N(0, I) is drawn once and
// G(z) computed once; the discriminator is updated on the real batch and the detached G(z) with the binary
// cross-entropy of real against fake, then the generator on D(G(z)) after that update with the non-saturating loss
// -log D(G(z)) plus the topology terms on G(z) against the real batch (the order of PyTorch's DCGAN example).
#include "apps/trainer/families/families.h"

#include "core/autograd.h"
#include "core/ops.h"

namespace tl::train {
namespace {

constexpr int64_t kSampleBatch = 500;  // samples generated per pass

class GanFamily final : public ModelFamily {
 public:
  GanFamily(const TrainConfig& config, Generator& init) : model_(config.gan_model, init) { model_.to(config.device); }

  nn::Module& module() override { return model_; }
  std::vector<std::string> phases() const override { return {"discriminator", "generator"}; }
  size_t topology_phase() const override { return 1; }
  std::vector<std::pair<std::string, Tensor*>> phase_parameters(size_t phase) override {
    return (phase == 0 ? model_.discriminator() : model_.generator()).named_parameters();
  }
  std::vector<std::string> samplers() const override { return {"generator"}; }

  std::vector<NamedLoss> phase_losses(size_t phase, const PhaseInputs& in) override {
    if (phase == 0) {
      const int64_t b = in.batch.dim(0);
      const Tensor z = in.shard.normal({b, model_.spec().noise_dim}, in.noise, in.batch.device());
      fake_ = model_.generate(z);
      const Tensor ones = Tensor::ones({b, 1}, in.batch.device()), zeros = Tensor::zeros({b, 1}, in.batch.device());
      const Tensor real_loss = bce_with_logits(model_.discriminate(in.batch), ones, Reduction::Mean);
      const Tensor fake_loss = bce_with_logits(model_.discriminate(fake_.detach()), zeros, Reduction::Mean);
      return {{"discriminator", real_loss + fake_loss}};
    }
    TL_CHECK(fake_.defined(), "the generator phase runs after the discriminator phase of the same step");
    const Tensor ones = Tensor::ones({in.batch.dim(0), 1}, in.batch.device());
    std::vector<NamedLoss> losses{{"generator", bce_with_logits(model_.discriminate(fake_), ones, Reduction::Mean)}};
    for (NamedLoss& term : in.topology.apply({in.batch, fake_, fake_})) losses.push_back(std::move(term));
    fake_ = Tensor();
    return losses;
  }

  Tensor sample(const std::string& sampler, int64_t n, Generator& generator) override {
    TL_CHECK_AS(ValueError, sampler == "generator", "sampler '", sampler, "' is not a GAN's (it has 'generator')");
    NoGradGuard no_grad;
    const EvalMode eval_mode(model_);
    const Device device = model_.generator().parameters().front().device();
    const Tensor samples = generate_in_chunks(n, kSampleBatch, [&](int64_t count) {
      return model_.generate(Tensor::normal({count, model_.spec().noise_dim}, generator, 0.0f, 1.0f, device));
    });
    return samples;
  }

 private:
  nn::Gan model_;
  Tensor fake_;  // G(z) of the current step, from the discriminator phase to the generator phase
};

}  // namespace

std::unique_ptr<ModelFamily> make_gan_family(const TrainConfig& config, Generator& init) {
  return std::make_unique<GanFamily>(config, init);
}

}  // namespace tl::train
