// The robustness group (TALSR's robustness to input noise, latent noise and adversarial perturbation): on a seeded
// subset X of the split with codes Z = E(X), each perturbation at each strength s reports
//   reconstruction_mse  mean |y - x|^2 per feature of the perturbed reconstruction y against the clean X;
//   mse_increase        that minus the clean reconstruction's;
//   code_shift          mean |z' - z| / mean |z| of the perturbed codes z' (0 for latent noise's own codes);
//   latent_h0_w1, latent_h1_w1   W_1 between the diagrams of Z and of the perturbed codes, each divided by its
//                       cloud's diameter (apps/evaluation/topology_metrics.h);
// for input noise x' = x + s eps, latent noise z' = z + s eps (eps ~ N(0, I)), and FGSM (Goodfellow et al. 2015)
// x' = x + s sign(grad_x L_rec(D(E(x)), x)) with the model's reconstruction loss and the engine's autograd; FGSM
// inputs are clamped back to [0, 1] for unit-range data.
#include <cmath>
#include <cstdio>
#include <string>

#include "apps/evaluation/evaluation_context.h"
#include "apps/evaluation/topology_metrics.h"
#include "core/autograd.h"
#include "core/ops.h"

namespace tl::eval {
namespace {

constexpr uint64_t kSubsetStream = 5;
constexpr uint64_t kNoiseSeedKey = 0xB0B5ull;

// "0.05" for 0.05f: the JSON key of a strength.
std::string strength_key(float strength) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", strength);
  return text;
}

double mean_row_norm(const Tensor& z) {
  return mean(sqrt(sum(mul(z, z), 1))).item();
}

// The scores of perturbed codes (and their decodings) against the clean ones.
nlohmann::json perturbed_scores(const Tensor& x, const Tensor& z, const Tensor& perturbed_codes,
                                const Tensor& reconstruction, double clean_mse) {
  const double mse = mse_loss(reconstruction, x, Reduction::Mean).item();
  TopologyComparisonOptions options;
  options.scale = DiagramScale::Diameter;
  const TopologyComparison diagrams = compare_topology({z}, {perturbed_codes}, options);
  return {{"reconstruction_mse", mse},
          {"mse_increase", mse - clean_mse},
          {"code_shift", mean_row_norm(sub(perturbed_codes, z)) / std::max(mean_row_norm(z), 1e-12)},
          {"latent_h0_w1", diagrams.degrees[0].w1.mean},
          {"latent_h1_w1", diagrams.degrees[1].w1.mean}};
}

// x + s sign(grad_x L_rec(D(E(x)), x)).
Tensor fgsm_inputs(const EvaluationContext& context, const Tensor& x, float step) {
  const train::TrainConfig& config = context.config();
  Tensor input = x.to(config.device);
  input.set_requires_grad(true);
  train::reconstruction_loss(config.reconstruction, context.model()(input), input.detach(), Reduction::Sum).backward();
  const std::vector<float> gradient = input.grad().to(Device::CPU).to_vector<float>();
  std::vector<float> values = x.to_vector<float>();
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] += step * static_cast<float>((gradient[i] > 0.0f) - (gradient[i] < 0.0f));
    if (context.unit_range()) values[i] = std::min(1.0f, std::max(0.0f, values[i]));
  }
  context.model().zero_grad();
  return Tensor::from_vector(values, x.shape());
}

}  // namespace

nlohmann::json robustness_group(const EvaluationContext& context) {
  const EvaluationOptions& options = context.options();
  const Tensor x =
      take_rows(context.data().inputs, head(context.permutation(kSubsetStream), options.robustness_points));
  const Tensor z = context.encode(x);
  const double clean_mse = mse_loss(context.decode(z), x, Reduction::Mean).item();
  nlohmann::json result = {{"points", x.dim(0)}, {"clean_reconstruction_mse", clean_mse}};
  Generator noise(options.seed ^ kNoiseSeedKey);
  for (float s : options.input_noise) {
    context.note("robustness", "input noise " + strength_key(s));
    const Tensor perturbed = context.encode(add(x, Tensor::normal(x.shape(), noise, 0.0f, s)));
    result["input_noise"][strength_key(s)] = perturbed_scores(x, z, perturbed, context.decode(perturbed), clean_mse);
  }
  for (float s : options.latent_noise) {
    context.note("robustness", "latent noise " + strength_key(s));
    const Tensor perturbed = add(z, Tensor::normal(z.shape(), noise, 0.0f, s));
    result["latent_noise"][strength_key(s)] = perturbed_scores(x, z, perturbed, context.decode(perturbed), clean_mse);
  }
  for (float s : options.fgsm) {
    context.note("robustness", "FGSM step " + strength_key(s));
    const Tensor perturbed = context.encode(fgsm_inputs(context, x, s));
    result["fgsm"][strength_key(s)] = perturbed_scores(x, z, perturbed, context.decode(perturbed), clean_mse);
  }
  return result;
}

}  // namespace tl::eval
