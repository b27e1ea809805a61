// Optimiser state and steps, learning-rate schedules, gradient norms and clipping (one device-to-host copy per norm
// on CUDA).
#include "nn/optim.h"

#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"
#include "kernels/backend.h"

namespace tl::nn {

using kernels::OptimizerRule;

OptimizerRule parse_optimizer(const std::string& name) {
  if (name == "sgd") return OptimizerRule::Sgd;
  if (name == "adam") return OptimizerRule::Adam;
  if (name == "adamw") return OptimizerRule::AdamW;
  TL_FAIL(ValueError, "unknown optimizer '", name, "' (expected sgd, adam or adamw)");
}

Optimizer::Optimizer(std::vector<std::pair<std::string, Tensor*>> parameters, const OptimizerOptions& options)
    : parameters_(std::move(parameters)), options_(options) {
  TL_CHECK_AS(ValueError, options.lr > 0.0f && std::isfinite(options.lr), "optimizer: lr must be positive, got ",
              options.lr);
  TL_CHECK_AS(ValueError, options.weight_decay >= 0.0f, "optimizer: weight_decay must be >= 0, got ",
              options.weight_decay);
  TL_CHECK_AS(ValueError, options.momentum >= 0.0f && options.momentum < 1.0f,
              "optimizer: momentum must lie in [0, 1), got ", options.momentum);
  TL_CHECK_AS(ValueError,
              options.beta1 >= 0.0f && options.beta1 < 1.0f && options.beta2 >= 0.0f && options.beta2 < 1.0f,
              "optimizer: betas must lie in [0, 1), got (", options.beta1, ", ", options.beta2, ")");
  TL_CHECK_AS(ValueError, options.eps > 0.0f, "optimizer: eps must be positive, got ", options.eps);
  const bool adam = options.rule != OptimizerRule::Sgd;
  for (auto& [name, parameter] : parameters_) {
    const bool first = adam || options.momentum != 0.0f;
    first_moment_.push_back(first ? Tensor::zeros(parameter->shape(), parameter->device()) : Tensor());
    second_moment_.push_back(adam ? Tensor::zeros(parameter->shape(), parameter->device()) : Tensor());
  }
}

void Optimizer::step() {
  ++steps_;
  kernels::OptimizerUpdate u;
  u.rule = options_.rule;
  u.lr = options_.lr;
  u.weight_decay = options_.weight_decay;
  u.momentum = options_.momentum;
  u.nesterov = options_.nesterov;
  u.beta1 = options_.beta1;
  u.beta2 = options_.beta2;
  u.eps = options_.eps;
  u.bias_correction1 = 1.0f - std::pow(options_.beta1, static_cast<float>(steps_));
  u.bias_correction2 = 1.0f - std::pow(options_.beta2, static_cast<float>(steps_));
  for (size_t i = 0; i < parameters_.size(); ++i) {
    Tensor& parameter = *parameters_[i].second;
    const Tensor& grad = parameter.grad();
    if (!grad.defined()) continue;
    TL_CHECK(grad.device() == parameter.device(), "optimizer: gradient of ", parameters_[i].first, " is on ",
             device_name(grad.device()), ", the parameter on ", device_name(parameter.device()));
    float* m = first_moment_[i].defined() ? first_moment_[i].data<float>() : nullptr;
    float* v = second_moment_[i].defined() ? second_moment_[i].data<float>() : nullptr;
    kernels::backend_for(parameter.device())
        .optimizer_update(u, parameter.data<float>(), grad.data<float>(), m, v, parameter.numel());
  }
}

void Optimizer::zero_grad() {
  for (auto& [name, parameter] : parameters_) parameter->zero_grad();
}

std::vector<std::pair<std::string, Tensor*>> Optimizer::named_state() {
  std::vector<std::pair<std::string, Tensor*>> state;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (first_moment_[i].defined()) state.emplace_back("exp_avg." + parameters_[i].first, &first_moment_[i]);
    if (second_moment_[i].defined()) state.emplace_back("exp_avg_sq." + parameters_[i].first, &second_moment_[i]);
  }
  return state;
}

LearningRateSchedule::Kind parse_schedule(const std::string& name) {
  if (name == "constant") return LearningRateSchedule::Kind::Constant;
  if (name == "step") return LearningRateSchedule::Kind::Step;
  if (name == "cosine") return LearningRateSchedule::Kind::Cosine;
  TL_FAIL(ValueError, "unknown schedule '", name, "' (expected constant, step or cosine)");
}

float LearningRateSchedule::lr_at(float base_lr, int64_t step) const {
  if (step < warmup_steps) return base_lr * static_cast<float>(step + 1) / static_cast<float>(warmup_steps);
  const int64_t t = step - warmup_steps;
  switch (kind) {
    case Kind::Constant:
      return base_lr;
    case Kind::Step:
      return base_lr * std::pow(gamma, static_cast<float>(t / step_size));
    case Kind::Cosine: {
      const int64_t span = std::max<int64_t>(total_steps - warmup_steps, 1);
      const double progress = std::min<double>(1.0, static_cast<double>(t) / static_cast<double>(span));
      return static_cast<float>(min_lr + 0.5 * (base_lr - min_lr) * (1.0 + std::cos(M_PI * progress)));
    }
  }
  return base_lr;
}

double gradient_norm(const std::vector<Tensor>& parameters) {
  // On the CPU tensor by tensor; on a device one reduction over the gradients concatenated there, so that the sum
  // comes back in one device-to-host copy rather than one per tensor.
  double squares = 0.0;
  std::vector<Tensor> on_device;
  for (const Tensor& p : parameters) {
    const Tensor& g = p.grad();
    if (!g.defined()) continue;
    if (g.device() == Device::CPU) {
      squares += kernels::backend_for(Device::CPU).sum_squares(g.data<float>(), g.numel());
    } else {
      on_device.push_back(g);
    }
  }
  if (!on_device.empty()) {
    NoGradGuard no_grad;
    std::vector<Tensor> flat;
    for (const Tensor& g : on_device) flat.push_back(reshape(g, {g.numel()}));
    const Tensor all = flat.size() == 1 ? flat[0] : concat(flat, 0);
    squares += kernels::backend_for(all.device()).sum_squares(all.data<float>(), all.numel());
  }
  return std::sqrt(squares);
}

double clip_grad_norm(const std::vector<Tensor>& parameters, double max_norm) {
  TL_CHECK_AS(ValueError, max_norm > 0.0, "clip_grad_norm: max_norm must be positive, got ", max_norm);
  const double norm = gradient_norm(parameters);
  if (norm > max_norm) {
    const float scale = static_cast<float>(max_norm / (norm + 1e-6));
    for (const Tensor& p : parameters) {
      const Tensor& g = p.grad();
      if (!g.defined()) continue;
      float* values = static_cast<float*>(g.raw_data());
      kernels::backend_for(g.device()).unary({kernels::UnaryOp::Scale, scale}, values, values, g.numel());
    }
  }
  return norm;
}

}  // namespace tl::nn
