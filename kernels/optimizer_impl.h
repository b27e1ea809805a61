// The per-element update rules of the optimisers (SGD with momentum, Adam, AdamW), written once for CPU and
// GPU. They follow PyTorch's torch.optim formulas, so a run can be cross-checked against PyTorch step for step.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "core/base/hostdevice.h"

namespace tl::kernels {

enum class OptimizerRule { Sgd, Adam, AdamW };

// One step's constants. For Adam/AdamW, bias_correction1 = 1 - beta1^t and bias_correction2 = 1 - beta2^t
// at step t (counted from 1). weight_decay is L2 (added to the gradient) for Sgd and Adam, decoupled for AdamW.
struct OptimizerUpdate {
  OptimizerRule rule = OptimizerRule::Adam;
  float lr = 1e-3f;
  float weight_decay = 0.0f;
  float momentum = 0.0f;                            // Sgd
  bool nesterov = false;                            // Sgd
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;  // Adam, AdamW
  float bias_correction1 = 1.0f, bias_correction2 = 1.0f;
};

// Updates param[i] in place; m and v are the optimiser's state (SGD uses m as its momentum buffer, and neither
// when momentum is 0). The SGD buffer starts at zero, so its first step stores the gradient, as PyTorch does.
// The rule is a template argument so that loops over i vectorise (with_optimizer_rule picks it at run time).
template <OptimizerRule Rule>
TL_HD void optimizer_update_at(const OptimizerUpdate& u, float* param, const float* grad, float* m, float* v,
                               int64_t i) {
  float g = grad[i];
  if constexpr (Rule == OptimizerRule::Sgd) {
    if (u.weight_decay != 0.0f) g += u.weight_decay * param[i];
    if (u.momentum != 0.0f) {
      m[i] = u.momentum * m[i] + g;
      g = u.nesterov ? g + u.momentum * m[i] : m[i];
    }
    param[i] -= u.lr * g;
  } else {
    if constexpr (Rule == OptimizerRule::AdamW) {
      param[i] *= 1.0f - u.lr * u.weight_decay;
    } else {
      g += u.weight_decay * param[i];
    }
    m[i] = u.beta1 * m[i] + (1.0f - u.beta1) * g;
    v[i] = u.beta2 * v[i] + (1.0f - u.beta2) * g * g;
    const float step_size = u.lr / u.bias_correction1;
    const float denominator = sqrtf(v[i]) / sqrtf(u.bias_correction2) + u.eps;
    param[i] -= step_size * m[i] / denominator;
  }
}

template <class Body>
void with_optimizer_rule(OptimizerRule rule, Body&& body) {
  using R = OptimizerRule;
  switch (rule) {
    case R::Sgd:
      return body(std::integral_constant<R, R::Sgd>{});
    case R::Adam:
      return body(std::integral_constant<R, R::Adam>{});
    case R::AdamW:
      return body(std::integral_constant<R, R::AdamW>{});
  }
}

}  // namespace tl::kernels
