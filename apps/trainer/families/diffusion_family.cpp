// The diffusion family (Ho et al. 2020; TGLML's diffusion variant, docs/methods.md §3b): per step, timesteps t
// uniform in {0, .., T - 1} and noise eps ~ N(0, I) are drawn for the batch, x_t = q_sample(x_0, t, eps), and the
// denoiser is trained on the mean squared error of its prediction ("denoising", Ho et al.'s L_simple) plus the
// topology terms on predict_x0(x_t, eps_theta) of the rows with t < diffusion.topology_max_t against the same rows
// of the real batch. Samples come from ancestral DDPM sampling over all T steps or deterministic DDIM over
// diffusion.sampling_steps (nn/diffusion.h), each predicted x_0 clipped to diffusion.clip_x0 when given.
#include "apps/trainer/families/families.h"

#include "core/autograd.h"
#include "core/ops.h"
#include "nn/diffusion.h"

namespace tl::train {
namespace {

class DiffusionFamily final : public ModelFamily {
 public:
  DiffusionFamily(const TrainConfig& config, Generator& init)
      : options_(config.diffusion),
        topology_max_t_(options_.topology_max_t > 0 ? options_.topology_max_t : options_.steps),
        schedule_(nn::linear_noise_schedule(options_.steps, options_.beta_start, options_.beta_end)),
        model_(config.denoiser, init) {
    model_.to(config.device);
  }

  nn::Module& module() override { return model_; }
  std::vector<std::pair<std::string, Tensor*>> phase_parameters(size_t) override { return model_.named_parameters(); }
  // diffusion.sampler first: ancestral DDPM takes T denoiser passes, DDIM sampling_steps.
  std::vector<std::string> samplers() const override {
    return options_.sampler == "ddpm" ? std::vector<std::string>{"ddpm", "ddim"}
                                      : std::vector<std::string>{"ddim", "ddpm"};
  }

  std::vector<NamedLoss> phase_losses(size_t, const PhaseInputs& in) override {
    const std::vector<int64_t> t = nn::random_timesteps(schedule_, in.batch.dim(0), in.noise, in.shard);
    const Tensor eps = in.shard.normal(in.batch.shape(), in.noise, in.batch.device());
    const Tensor x_t = nn::q_sample(schedule_, in.batch, t, eps);
    const Tensor predicted = model_.predict(x_t, t);
    std::vector<NamedLoss> losses{{"denoising", mse_loss(predicted, eps, Reduction::Mean)}};
    std::vector<int64_t> rows;
    for (size_t r = 0; r < t.size(); ++r)
      if (t[r] < topology_max_t_) rows.push_back(static_cast<int64_t>(r));
    Tensor x0 = nn::predict_x0(schedule_, x_t, t, predicted), real = in.batch;
    if (rows.size() < t.size()) {
      const Tensor index = Tensor::from_vector(rows, {static_cast<int64_t>(rows.size())}, in.batch.device());
      x0 = index_select(x0, 0, index);
      real = index_select(real, 0, index);
    }
    for (NamedLoss& term : in.topology.apply({real, x0, x0})) losses.push_back(std::move(term));
    return losses;
  }

  Tensor sample(const std::string& sampler, int64_t n, Generator& generator) override {
    TL_CHECK_AS(ValueError, sampler == "ddpm" || sampler == "ddim", "sampler '", sampler,
                "' is not a diffusion model's (it has 'ddpm' and 'ddim')");
    NoGradGuard no_grad;
    const EvalMode eval_mode(model_);
    const Device device = model_.parameters().front().device();
    nn::EpsilonModel eps = [&](const Tensor& x_t, const std::vector<int64_t>& t) { return model_.predict(x_t, t); };
    if (options_.clip_x0) eps = nn::clip_predicted_x0(schedule_, std::move(eps), options_.clip_low, options_.clip_high);
    const Tensor samples = generate_in_chunks(n, options_.sample_batch, [&](int64_t count) {
      const Shape shape{count, model_.spec().data_dim};
      return sampler == "ddpm" ? nn::ddpm_sample(schedule_, shape, eps, generator, device)
                               : nn::ddim_sample(schedule_, shape, options_.sampling_steps, eps, generator, device);
    });
    return samples;
  }

 private:
  DiffusionConfig options_;
  int64_t topology_max_t_;
  nn::NoiseSchedule schedule_;
  nn::Denoiser model_;
};

}  // namespace

std::unique_ptr<ModelFamily> make_diffusion_family(const TrainConfig& config, Generator& init) {
  return std::make_unique<DiffusionFamily>(config, init);
}

}  // namespace tl::train
