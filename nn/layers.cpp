// Linear, Conv2d, ConvTranspose2d, Reshape, BatchNorm1d, activations and Sequential, built from the
// differentiable ops of core/ops.h.
#include "nn/layers.h"

#include <cmath>

#include "core/autograd.h"
#include "core/ops.h"

namespace tl::nn {

namespace {

// Weight and (when asked for) bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn in that order.
void uniform_init(Tensor& weight, Tensor* bias, const Shape& weight_shape, int64_t bias_size, int64_t fan_in,
                  Generator& generator) {
  const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
  weight = Tensor::uniform(weight_shape, generator, -bound, bound);
  if (bias != nullptr) *bias = Tensor::uniform({bias_size}, generator, -bound, bound);
}

// bias [C] added to every pixel of y [N, C, H, W].
Tensor add_channel_bias(const Tensor& y, const Tensor& bias) {
  return add(y, reshape(bias, {1, bias.dim(0), 1, 1}));
}

}  // namespace

Linear::Linear(int64_t in_features, int64_t out_features, Generator& generator, bool with_bias)
    : in_features_(in_features) {
  TL_CHECK_AS(ValueError, in_features > 0 && out_features > 0, "Linear: feature counts must be positive, got ",
              in_features, " -> ", out_features);
  uniform_init(weight, with_bias ? &bias : nullptr, {out_features, in_features}, out_features, in_features, generator);
  register_parameter("weight", &weight);
  if (with_bias) register_parameter("bias", &bias);
}

Tensor Linear::forward(const Tensor& x) {
  TL_CHECK_AS(ShapeError, x.rank() == 2 && x.dim(1) == in_features_, "Linear expects [batch, ", in_features_, "], got ",
              x.describe());
  const Tensor y = matmul(x, weight, false, true);
  return bias.defined() ? add(y, bias) : y;
}

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, Generator& generator, int64_t stride,
               int64_t padding)
    : stride_(stride), padding_(padding) {
  TL_CHECK_AS(ValueError, in_channels > 0 && out_channels > 0 && kernel > 0,
              "Conv2d: channels and kernel size must be positive");
  uniform_init(weight, &bias, {out_channels, in_channels, kernel, kernel}, out_channels, in_channels * kernel * kernel,
               generator);
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
}

Tensor Conv2d::forward(const Tensor& x) {
  return add_channel_bias(conv2d(x, weight, stride_, padding_), bias);
}

ConvTranspose2d::ConvTranspose2d(int64_t in_channels, int64_t out_channels, int64_t kernel, Generator& generator,
                                 int64_t stride, int64_t padding, int64_t output_padding)
    : stride_(stride), padding_(padding), output_padding_(output_padding) {
  TL_CHECK_AS(ValueError, in_channels > 0 && out_channels > 0 && kernel > 0,
              "ConvTranspose2d: channels and kernel size must be positive");
  uniform_init(weight, &bias, {in_channels, out_channels, kernel, kernel}, out_channels, out_channels * kernel * kernel,
               generator);
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  return add_channel_bias(conv_transpose2d(x, weight, stride_, padding_, output_padding_), bias);
}

Tensor Reshape::forward(const Tensor& x) {
  Shape shape{x.dim(0)};
  shape.insert(shape.end(), shape_.begin(), shape_.end());
  return reshape(x, shape);
}

BatchNorm1d::BatchNorm1d(int64_t features, float momentum, float eps)
    : features_(features), momentum_(momentum), eps_(eps) {
  TL_CHECK_AS(ValueError, features > 0, "BatchNorm1d: feature count must be positive, got ", features);
  TL_CHECK_AS(ValueError, momentum >= 0.0f && momentum <= 1.0f, "BatchNorm1d: momentum must lie in [0, 1], got ",
              momentum);
  TL_CHECK_AS(ValueError, eps > 0.0f, "BatchNorm1d: eps must be positive, got ", eps);
  weight = Tensor::ones({features});
  bias = Tensor::zeros({features});
  running_mean = Tensor::zeros({features});
  running_var = Tensor::ones({features});
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
  register_buffer("running_mean", &running_mean);
  register_buffer("running_var", &running_var);
}

Tensor BatchNorm1d::forward(const Tensor& x) {
  TL_CHECK_AS(ShapeError, x.rank() == 2 && x.dim(1) == features_, "BatchNorm1d expects [batch, ", features_, "], got ",
              x.describe());
  if (!training()) {
    const Tensor scale = weight / sqrt(running_var + eps_);
    return (x - running_mean) * scale + bias;
  }
  const int64_t batch = x.dim(0);
  TL_CHECK_AS(ShapeError, batch > 1, "BatchNorm1d in training mode needs more than one sample per batch, got ",
              x.describe());
  const Tensor centred = x - mean(x, 0, true);
  const Tensor variance = mean(centred * centred, 0, true);
  {
    NoGradGuard no_grad;
    const float unbiased = static_cast<float>(batch) / static_cast<float>(batch - 1);
    running_mean = running_mean * (1.0f - momentum_) + reshape(mean(x.detach(), 0), {features_}) * momentum_;
    running_var = running_var * (1.0f - momentum_) + reshape(variance.detach(), {features_}) * (momentum_ * unbiased);
  }
  return centred / sqrt(variance + eps_) * weight + bias;
}

ActivationKind parse_activation(const std::string& name) {
  if (name == "identity") return ActivationKind::Identity;
  if (name == "relu") return ActivationKind::Relu;
  if (name == "leaky_relu") return ActivationKind::LeakyRelu;
  if (name == "elu") return ActivationKind::Elu;
  if (name == "sigmoid") return ActivationKind::Sigmoid;
  if (name == "tanh") return ActivationKind::Tanh;
  if (name == "softplus") return ActivationKind::Softplus;
  TL_FAIL(ValueError, "unknown activation '", name,
          "' (expected identity, relu, leaky_relu, elu, sigmoid, tanh or softplus)");
}

Tensor apply_activation(ActivationKind kind, const Tensor& x) {
  switch (kind) {
    case ActivationKind::Identity:
      return x;
    case ActivationKind::Relu:
      return relu(x);
    case ActivationKind::LeakyRelu:
      return leaky_relu(x);
    case ActivationKind::Elu:
      return elu(x);
    case ActivationKind::Sigmoid:
      return sigmoid(x);
    case ActivationKind::Tanh:
      return tanh(x);
    case ActivationKind::Softplus:
      return softplus(x);
  }
  TL_FAIL(ValueError, "unknown activation");
}

Sequential& Sequential::add(std::shared_ptr<Module> module) {
  register_module(std::to_string(modules_.size()), module);
  modules_.push_back(std::move(module));
  return *this;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (auto& module : modules_) y = module->forward(y);
  return y;
}

std::shared_ptr<Sequential> make_mlp(const std::vector<int64_t>& widths, ActivationKind hidden, ActivationKind output,
                                     Generator& generator, bool batch_norm) {
  TL_CHECK_AS(ValueError, widths.size() >= 2, "make_mlp needs at least an input and an output width");
  auto mlp = std::make_shared<Sequential>();
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    mlp->add(std::make_shared<Linear>(widths[i], widths[i + 1], generator));
    const bool last = i + 2 == widths.size();
    if (!last && batch_norm) mlp->add(std::make_shared<BatchNorm1d>(widths[i + 1]));
    const ActivationKind kind = last ? output : hidden;
    if (kind != ActivationKind::Identity) mlp->add(std::make_shared<Activation>(kind));
  }
  return mlp;
}

}  // namespace tl::nn
