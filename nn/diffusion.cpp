// The DDPM / DDIM math of nn/diffusion.h: schedule coefficients in double on the host, applied to tensors as float
// scalings (per row through a [N, 1, ..., 1] tensor of coefficients where the timestep varies by row).
#include "nn/diffusion.h"

#include <algorithm>
#include <cmath>

#include "core/ops.h"

namespace tl::nn {

namespace {

void check_timestep(const NoiseSchedule& schedule, int64_t t, const char* what) {
  TL_CHECK_AS(ValueError, t >= 0 && t < schedule.steps, what, ": timestep ", t, " outside [0, ", schedule.steps, ")");
}

// The coefficient coefficient(t[r]) of each row r of `like`, as a [N, 1, ..., 1] float tensor on like's device.
Tensor row_coefficients(const NoiseSchedule& schedule, const Tensor& like, const std::vector<int64_t>& t,
                        const std::vector<double>& coefficient, const char* what) {
  TL_CHECK_AS(ShapeError, like.rank() >= 1 && static_cast<int64_t>(t.size()) == like.dim(0), what, ": ", t.size(),
              " timesteps for ", like.describe(), " (one per row of axis 0)");
  std::vector<float> values;
  values.reserve(t.size());
  for (const int64_t step : t) {
    check_timestep(schedule, step, what);
    values.push_back(static_cast<float>(coefficient[static_cast<size_t>(step)]));
  }
  Shape shape(static_cast<size_t>(like.rank()), 1);
  shape[0] = like.dim(0);
  return Tensor::from_vector(values, shape, like.device());
}

void check_pair(const Tensor& a, const Tensor& b, const char* what, const char* a_name, const char* b_name) {
  TL_CHECK_AS(ShapeError, a.defined() && b.defined() && a.shape() == b.shape() && a.device() == b.device(), what, ": ",
              a_name, " and ", b_name, " must have the same shape and device, got ",
              a.defined() ? a.describe() : "undefined", " and ", b.defined() ? b.describe() : "undefined");
}

}  // namespace

double NoiseSchedule::alpha_bar(int64_t t) const {
  TL_CHECK_AS(ValueError, t >= -1 && t < steps, "alpha_bar: timestep ", t, " outside [-1, ", steps, ")");
  return t < 0 ? 1.0 : alpha_bars[static_cast<size_t>(t)];
}

NoiseSchedule linear_noise_schedule(int64_t steps, double beta_start, double beta_end) {
  TL_CHECK_AS(ValueError, steps >= 1, "linear_noise_schedule: at least one step, got ", steps);
  TL_CHECK_AS(ValueError, beta_start > 0.0 && beta_start <= beta_end && beta_end < 1.0,
              "linear_noise_schedule: need 0 < beta_start <= beta_end < 1, got ", beta_start, " .. ", beta_end);
  NoiseSchedule s;
  s.steps = steps;
  double alpha_bar = 1.0;
  for (int64_t t = 0; t < steps; ++t) {
    const double beta =
        steps == 1 ? beta_start
                   : beta_start + (beta_end - beta_start) * static_cast<double>(t) / static_cast<double>(steps - 1);
    const double alpha = 1.0 - beta, previous = alpha_bar;
    alpha_bar *= alpha;
    s.betas.push_back(beta);
    s.alphas.push_back(alpha);
    s.alpha_bars.push_back(alpha_bar);
    s.alpha_bars_prev.push_back(previous);
    s.sqrt_alpha_bars.push_back(std::sqrt(alpha_bar));
    s.sqrt_one_minus_alpha_bars.push_back(std::sqrt(1.0 - alpha_bar));
    s.sqrt_recip_alpha_bars.push_back(std::sqrt(1.0 / alpha_bar));
    s.sqrt_recipm1_alpha_bars.push_back(std::sqrt(1.0 / alpha_bar - 1.0));
    s.posterior_variances.push_back(beta * (1.0 - previous) / (1.0 - alpha_bar));
    s.posterior_mean_coefs_x0.push_back(beta * std::sqrt(previous) / (1.0 - alpha_bar));
    s.posterior_mean_coefs_xt.push_back((1.0 - previous) * std::sqrt(alpha) / (1.0 - alpha_bar));
  }
  return s;
}

std::vector<int64_t> random_timesteps(const NoiseSchedule& schedule, int64_t batch, Generator& generator,
                                      const RowShard& shard) {
  TL_CHECK_AS(ValueError, batch >= 0, "random_timesteps: negative batch ", batch);
  const std::vector<float> u = shard.uniform({batch}, generator, Device::CPU).to_vector<float>();
  std::vector<int64_t> t;
  t.reserve(u.size());
  for (const float v : u) {
    const auto step = static_cast<int64_t>(std::floor(static_cast<double>(v) * static_cast<double>(schedule.steps)));
    t.push_back(std::clamp<int64_t>(step, 0, schedule.steps - 1));
  }
  return t;
}

Tensor q_sample(const NoiseSchedule& schedule, const Tensor& x0, const std::vector<int64_t>& t, const Tensor& noise) {
  check_pair(x0, noise, "q_sample", "x0", "noise");
  const Tensor signal = row_coefficients(schedule, x0, t, schedule.sqrt_alpha_bars, "q_sample");
  const Tensor spread = row_coefficients(schedule, x0, t, schedule.sqrt_one_minus_alpha_bars, "q_sample");
  return x0 * signal + noise * spread;
}

Tensor predict_x0(const NoiseSchedule& schedule, const Tensor& x_t, const std::vector<int64_t>& t, const Tensor& eps) {
  check_pair(x_t, eps, "predict_x0", "x_t", "eps");
  return x_t * row_coefficients(schedule, x_t, t, schedule.sqrt_recip_alpha_bars, "predict_x0") -
         eps * row_coefficients(schedule, x_t, t, schedule.sqrt_recipm1_alpha_bars, "predict_x0");
}

Tensor ddpm_step(const NoiseSchedule& schedule, const Tensor& x_t, const Tensor& eps, int64_t t, const Tensor& z) {
  check_pair(x_t, eps, "ddpm_step", "x_t", "eps");
  check_timestep(schedule, t, "ddpm_step");
  const size_t i = static_cast<size_t>(t);
  const double scale = 1.0 / std::sqrt(schedule.alphas[i]);
  const double eps_scale = scale * schedule.betas[i] / schedule.sqrt_one_minus_alpha_bars[i];
  const Tensor mean = x_t * static_cast<float>(scale) - eps * static_cast<float>(eps_scale);
  if (t == 0) return mean;
  check_pair(x_t, z, "ddpm_step", "x_t", "z");
  return mean + z * static_cast<float>(std::sqrt(schedule.betas[i]));
}

Tensor ddpm_step(const NoiseSchedule& schedule, const Tensor& x_t, const Tensor& eps, int64_t t, Generator& generator) {
  check_timestep(schedule, t, "ddpm_step");
  const Tensor z = t == 0 ? Tensor() : Tensor::normal(x_t.shape(), generator, 0.0f, 1.0f, x_t.device());
  return ddpm_step(schedule, x_t, eps, t, z);
}

Tensor ddim_step(const NoiseSchedule& schedule, const Tensor& x_t, const Tensor& eps, int64_t t, int64_t s) {
  check_pair(x_t, eps, "ddim_step", "x_t", "eps");
  check_timestep(schedule, t, "ddim_step");
  TL_CHECK_AS(ValueError, s >= -1 && s < t, "ddim_step: the target timestep must satisfy -1 <= s < t, got s = ", s,
              ", t = ", t);
  const double at = schedule.alpha_bar(t), as = schedule.alpha_bar(s);
  // sqrt(a_s) (x_t - sqrt(1 - a_t) eps) / sqrt(a_t) + sqrt(1 - a_s) eps, gathered per operand.
  const double x_scale = std::sqrt(as / at);
  const double eps_scale = std::sqrt(1.0 - as) - std::sqrt(as * (1.0 - at) / at);
  return x_t * static_cast<float>(x_scale) + eps * static_cast<float>(eps_scale);
}

EpsilonModel clip_predicted_x0(const NoiseSchedule& schedule, EpsilonModel eps_model, float low, float high) {
  TL_CHECK_AS(ValueError, low < high, "clip_predicted_x0: need low < high, got [", low, ", ", high, "]");
  return [&schedule, eps_model = std::move(eps_model), low, high](const Tensor& x_t, const std::vector<int64_t>& t) {
    const Tensor x0 = clamp(predict_x0(schedule, x_t, t, eps_model(x_t, t)), low, high);
    const Tensor signal = row_coefficients(schedule, x_t, t, schedule.sqrt_alpha_bars, "clip_predicted_x0");
    const Tensor spread = row_coefficients(schedule, x_t, t, schedule.sqrt_one_minus_alpha_bars, "clip_predicted_x0");
    return (x_t - x0 * signal) / spread;
  };
}

std::vector<int64_t> ddim_timesteps(int64_t steps, int64_t sampling_steps) {
  TL_CHECK_AS(ValueError, sampling_steps >= 1 && sampling_steps <= steps,
              "ddim_timesteps: need 1 <= S <= T, got S = ", sampling_steps, ", T = ", steps);
  std::vector<int64_t> tau;
  for (int64_t i = 0; i < sampling_steps; ++i) tau.push_back(i * steps / sampling_steps);
  return tau;
}

Tensor ddpm_sample(const NoiseSchedule& schedule, const Shape& shape, const EpsilonModel& eps_model,
                   Generator& generator, Device device) {
  Tensor x = Tensor::normal(shape, generator, 0.0f, 1.0f, device);
  const size_t rows = shape.empty() ? 0 : static_cast<size_t>(shape[0]);
  for (int64_t t = schedule.steps - 1; t >= 0; --t) {
    x = ddpm_step(schedule, x, eps_model(x, std::vector<int64_t>(rows, t)), t, generator);
  }
  return x;
}

Tensor ddim_sample(const NoiseSchedule& schedule, const Shape& shape, int64_t sampling_steps,
                   const EpsilonModel& eps_model, Generator& generator, Device device) {
  const std::vector<int64_t> tau = ddim_timesteps(schedule.steps, sampling_steps);
  Tensor x = Tensor::normal(shape, generator, 0.0f, 1.0f, device);
  const size_t rows = shape.empty() ? 0 : static_cast<size_t>(shape[0]);
  for (size_t i = tau.size(); i-- > 0;) {
    const int64_t t = tau[i], s = i == 0 ? -1 : tau[i - 1];
    x = ddim_step(schedule, x, eps_model(x, std::vector<int64_t>(rows, t)), t, s);
  }
  return x;
}

}  // namespace tl::nn
