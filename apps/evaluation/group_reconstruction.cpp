// The reconstruction group: how well the model reproduces the evaluated split, each code decoded from the
// posterior mean for a VAE (deterministic):
//   BCE per sample   -sum_j [x_j log y_j + (1 - x_j) log(1 - y_j)], summed over features, averaged over samples
//                    (unit-range data only; from the decoder's logits when the model trains on BCE);
//   MSE per feature  mean of (y_j - x_j)^2;
//   PSNR             10 log10(R^2 / MSE) dB with R = 1 for unit-range data, else the split's value range;
//   KL per sample    KL(q(z|x) || N(0, I)) of a VAE, and the negative ELBO per sample BCE + KL under BCE.
#include <algorithm>
#include <cmath>

#include "apps/evaluation/evaluation_context.h"
#include "core/autograd.h"
#include "core/ops.h"

namespace tl::eval {
namespace {

constexpr int64_t kBatch = 1000;
constexpr float kProbabilityFloor = 1e-7f;  // BCE of decoded values (not logits) clamps them to [f, 1 - f]

// BCE summed over a block, from the decoder's output (logits under a BCE model, values otherwise).
double bce_sum(const train::TrainConfig& config, const Tensor& output, const Tensor& x) {
  if (config.reconstruction == train::ReconstructionLoss::Bce) return bce_with_logits(output, x, Reduction::Sum).item();
  const Tensor y = clamp(output, kProbabilityFloor, 1.0f - kProbabilityFloor);
  const Tensor one = Tensor::full(y.shape(), 1.0f, y.device());
  return -sum(add(mul(x, log(y)), mul(sub(one, x), log(sub(one, y))))).item();
}

}  // namespace

nlohmann::json reconstruction_group(const EvaluationContext& context) {
  NoGradGuard no_grad;
  const train::TrainConfig& config = context.config();
  const Tensor& inputs = context.data().inputs;
  const int64_t n = inputs.dim(0), width = inputs.dim(1);
  double bce = 0.0, squared_error = 0.0, kl = 0.0;
  for (int64_t start = 0; start < n; start += kBatch) {
    const Tensor x = slice(inputs, 0, start, std::min(n, start + kBatch)).to(config.device);
    Generator unused(0);
    const nn::AutoencoderOutput out = context.model().run(x, unused);  // eval mode: decodes the mean
    squared_error +=
        mse_loss(train::reconstruction_values(config.reconstruction, out.reconstruction), x, Reduction::Sum).item();
    if (context.unit_range()) bce += bce_sum(config, out.reconstruction, x);
    if (config.model.variational) kl += gaussian_kl(out.mu, out.logvar, Reduction::Sum).item();
  }
  const double mse = squared_error / static_cast<double>(n * width);
  nlohmann::json result = {{"points", n},
                           {"mse_per_feature", mse},
                           {"psnr_db", 10.0 * std::log10(context.signal_range() * context.signal_range() / mse)},
                           {"psnr_peak", context.signal_range()}};
  if (context.unit_range()) result["bce_per_sample"] = bce / static_cast<double>(n);
  if (config.model.variational) {
    result["kl_per_sample"] = kl / static_cast<double>(n);
    if (context.unit_range()) result["negative_elbo_per_sample"] = (bce + kl) / static_cast<double>(n);
  }
  return result;
}

}  // namespace tl::eval
