// The DDPM / DDIM math of denoising diffusion models (Ho et al. 2020; Song et al. 2021), on tensors and
// independent of any trainer: the linear noise schedule and its derived coefficients, the forward noising
// q(x_t | x_0), the x_0 implied by an epsilon prediction, one ancestral (DDPM) step, one deterministic DDIM step
// (eta = 0) between any two timesteps, the DDIM timestep subsequence, and the two sampling loops over an epsilon
// model. Noise comes from the project's Philox Generator, so a seed fixes every draw on every device.
//
// Timesteps are 0-based, as in Ho et al.'s code: t = 0 .. T - 1 here is the paper's t = 1 .. T, so betas[0] is
// beta_1 and alpha_bars[t] = prod_{s <= t} (1 - betas[s]). The step from t to t - 1 at t = 0 produces the sample
// x_0 (no noise is added), and alpha_bar(-1) = 1 is the clean end of a DDIM trajectory. Coefficients are computed in
// double on the host and applied as float scalings. The functions are differentiable tensor ops: sampling without
// gradients is the caller's NoGradGuard.
#pragma once

#include <functional>
#include <vector>

#include "core/base/random.h"
#include "core/tensor.h"
#include "nn/row_shard.h"

namespace tl::nn {

struct NoiseSchedule {
  int64_t steps = 0;                              // T
  std::vector<double> betas;                      // beta_t
  std::vector<double> alphas;                     // 1 - beta_t
  std::vector<double> alpha_bars;                 // prod_{s <= t} alpha_s
  std::vector<double> alpha_bars_prev;            // alpha_bar_{t-1}, 1 at t = 0
  std::vector<double> sqrt_alpha_bars;            // sqrt(alpha_bar_t): the x_0 coefficient of q_sample
  std::vector<double> sqrt_one_minus_alpha_bars;  // sqrt(1 - alpha_bar_t): its noise coefficient
  std::vector<double> sqrt_recip_alpha_bars;      // sqrt(1 / alpha_bar_t): the x_t coefficient of predict_x0
  std::vector<double> sqrt_recipm1_alpha_bars;    // sqrt(1 / alpha_bar_t - 1): its epsilon coefficient
  std::vector<double> posterior_variances;        // beta~_t = beta_t (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t)
  std::vector<double> posterior_mean_coefs_x0;    // beta_t sqrt(alpha_bar_{t-1}) / (1 - alpha_bar_t)
  std::vector<double> posterior_mean_coefs_xt;    // (1 - alpha_bar_{t-1}) sqrt(alpha_t) / (1 - alpha_bar_t)

  // alpha_bar_t for t in [-1, T): 1 at t = -1.
  double alpha_bar(int64_t t) const;
};

// Betas spaced linearly from beta_start (t = 0) to beta_end (t = T - 1), Ho et al.'s 1e-4 .. 0.02, and every
// derived coefficient. T >= 1 (T = 1 takes beta_start); 0 < beta_start <= beta_end < 1.
NoiseSchedule linear_noise_schedule(int64_t steps, double beta_start = 1e-4, double beta_end = 0.02);

// `batch` timesteps drawn uniformly from {0, .., T - 1}, one per row (the training timesteps), from `generator`;
// under a split `shard`, this process's rows of the whole batch's draw.
std::vector<int64_t> random_timesteps(const NoiseSchedule& schedule, int64_t batch, Generator& generator,
                                      const RowShard& shard = {});

// x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) noise with t[r] the timestep of row r (axis 0) of x_0;
// noise has x_0's shape and device.
Tensor q_sample(const NoiseSchedule& schedule, const Tensor& x0, const std::vector<int64_t>& t, const Tensor& noise);

// The x_0 that an epsilon prediction implies: (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t), per-row t.
Tensor predict_x0(const NoiseSchedule& schedule, const Tensor& x_t, const std::vector<int64_t>& t, const Tensor& eps);

// One ancestral step (Ho et al.'s Algorithm 2) at timestep t for every row:
// x_{t-1} = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_t) + sigma_t z with sigma_t^2 = beta_t. The
// first term is the mean of the posterior q(x_{t-1} | x_t, x_0) at x_0 = predict_x0(x_t, eps) (unclipped). At t = 0
// no noise is added and z is not used (it may be undefined).
Tensor ddpm_step(const NoiseSchedule& schedule, const Tensor& x_t, const Tensor& eps, int64_t t, const Tensor& z);
// The same with z ~ N(0, I) drawn from `generator` on x_t's device (nothing is drawn at t = 0).
Tensor ddpm_step(const NoiseSchedule& schedule, const Tensor& x_t, const Tensor& eps, int64_t t, Generator& generator);

// One deterministic DDIM step (eta = 0) from timestep t to an earlier s, -1 <= s < t:
// x_s = sqrt(alpha_bar_s) x0_hat + sqrt(1 - alpha_bar_s) eps with x0_hat = predict_x0(x_t, eps); s = -1 gives x0_hat.
Tensor ddim_step(const NoiseSchedule& schedule, const Tensor& x_t, const Tensor& eps, int64_t t, int64_t s);

// The S timesteps a DDIM sampler visits, ascending: tau_i = floor(i T / S) for i = 0 .. S - 1 (Song et al.'s
// uniform skip, exactly S distinct values for 1 <= S <= T; S = T gives every timestep). Sampling runs from
// tau_{S-1} down to tau_0 and then to -1.
std::vector<int64_t> ddim_timesteps(int64_t steps, int64_t sampling_steps);

// eps_model(x_t, t) -> the predicted noise, t the timestep of each row.
using EpsilonModel = std::function<Tensor(const Tensor& x_t, const std::vector<int64_t>& t)>;

// `eps_model` with its predicted x_0 clipped to [low, high], the data's range (Ho et al.'s clip_denoised): it returns
// the eps' for which predict_x0(x_t, eps') = clamp(predict_x0(x_t, eps), low, high), i.e.
// eps' = (x_t - sqrt(alpha_bar_t) clamp(x0_hat)) / sqrt(1 - alpha_bar_t). Both steps then use the clipped x_0: the
// ancestral step's mean is the posterior mean at it, the DDIM step starts from it. `schedule` must outlive the
// returned model. low < high.
EpsilonModel clip_predicted_x0(const NoiseSchedule& schedule, EpsilonModel eps_model, float low, float high);

// Ancestral sampling: x_{T-1} ~ N(0, I) of `shape` on `device`, then ddpm_step for t = T - 1 .. 0, every draw from
// `generator` in that order.
Tensor ddpm_sample(const NoiseSchedule& schedule, const Shape& shape, const EpsilonModel& eps_model,
                   Generator& generator, Device device = Device::CPU);
// DDIM sampling with eta = 0: x_{tau_{S-1}} ~ N(0, I) (the only draw), then ddim_step along ddim_timesteps(T, S)
// down to -1.
Tensor ddim_sample(const NoiseSchedule& schedule, const Shape& shape, int64_t sampling_steps,
                   const EpsilonModel& eps_model, Generator& generator, Device device = Device::CPU);

}  // namespace tl::nn
