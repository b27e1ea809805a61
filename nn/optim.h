// Optimisers (SGD with momentum, Adam, AdamW with PyTorch's update rules), learning-rate schedules counted in
// steps, and gradient-norm clipping. The per-element rules live in kernels/optimizer_impl.h and run on the
// parameters' device in place.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "kernels/optimizer_impl.h"

namespace tl::nn {

struct OptimizerOptions {
  kernels::OptimizerRule rule = kernels::OptimizerRule::Adam;
  float lr = 1e-3f;
  float weight_decay = 0.0f;
  float momentum = 0.0f;  // SGD
  bool nesterov = false;  // SGD
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
};

// Parses "sgd", "adam" or "adamw"; ValueError otherwise.
kernels::OptimizerRule parse_optimizer(const std::string& name);

class Optimizer {
 public:
  // `parameters` point at a module's parameter tensors (Module::named_parameters()); they must outlive this.
  Optimizer(std::vector<std::pair<std::string, Tensor*>> parameters, const OptimizerOptions& options);

  // Applies one update to every parameter that has a gradient; parameters without one are left alone.
  void step();
  void zero_grad();
  void set_lr(float lr) { options_.lr = lr; }
  float lr() const { return options_.lr; }
  int64_t step_count() const { return steps_; }
  void set_step_count(int64_t steps) { steps_ = steps; }
  // The moment buffers by name ("exp_avg.encoder.0.weight", ...), for checkpoints.
  std::vector<std::pair<std::string, Tensor*>> named_state();

 private:
  std::vector<std::pair<std::string, Tensor*>> parameters_;
  OptimizerOptions options_;
  std::vector<Tensor> first_moment_, second_moment_;
  int64_t steps_ = 0;
};

// The learning rate at a step (counted from 0): an optional linear warm-up over `warmup_steps`, then constant,
// step decay (times gamma every step_size steps) or cosine decay to min_lr at total_steps.
struct LearningRateSchedule {
  enum class Kind { Constant, Step, Cosine } kind = Kind::Constant;
  int64_t warmup_steps = 0;
  int64_t step_size = 1;
  float gamma = 0.1f;
  int64_t total_steps = 1;
  float min_lr = 0.0f;
  float lr_at(float base_lr, int64_t step) const;
};

LearningRateSchedule::Kind parse_schedule(const std::string& name);

// The global L2 norm of the parameters' gradients (squares summed in double); parameters without one count 0.
double gradient_norm(const std::vector<Tensor>& parameters);

// Scales every gradient by max_norm / norm when their global L2 norm exceeds max_norm; returns the norm
// before clipping (the sum of squares is accumulated in double).
double clip_grad_norm(const std::vector<Tensor>& parameters, double max_norm);

}  // namespace tl::nn
