// Linear, Conv2d, ConvTranspose2d, Reshape, BatchNorm1d/2d, GroupNorm, activations, Upsample2x, AvgPool2d, the
// sinusoidal timestep embedding and Sequential, built from the differentiable ops of core/ops.h (so every layer has
// its backward and runs on both backends without kernels of its own).
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

BatchNorm::BatchNorm(const char* name, const char* layout, int rank, int64_t channels, float momentum, float eps)
    : name_(name), layout_(layout), rank_(rank), channels_(channels), momentum_(momentum), eps_(eps) {
  TL_CHECK_AS(ValueError, channels > 0, name, ": channel count must be positive, got ", channels);
  TL_CHECK_AS(ValueError, momentum >= 0.0f && momentum <= 1.0f, name, ": momentum must lie in [0, 1], got ", momentum);
  TL_CHECK_AS(ValueError, eps > 0.0f, name, ": eps must be positive, got ", eps);
  weight = Tensor::ones({channels});
  bias = Tensor::zeros({channels});
  running_mean = Tensor::zeros({channels});
  running_var = Tensor::ones({channels});
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
  register_buffer("running_mean", &running_mean);
  register_buffer("running_var", &running_var);
}

Tensor BatchNorm::forward(const Tensor& x) {
  TL_CHECK_AS(ShapeError, x.rank() == rank_ && x.dim(1) == channels_, name_, " expects ", layout_, " with ", channels_,
              " channels on axis 1, got ", x.describe());
  // x viewed as [N, C, S] (S = 1 for [batch, features]); statistics over axes 0 and 2, shaped [1, C, 1].
  const int64_t batch = x.dim(0), spatial = x.numel() / (batch * channels_);
  const Shape stats_shape{1, channels_, 1};
  const Tensor x3 = reshape(x, {batch, channels_, spatial});
  const auto channel_mean = [spatial](const Tensor& t) {
    return mean(spatial > 1 ? mean(t, 2, true) : t, 0, true);  // equal counts per sample: the mean of means
  };
  if (!training()) {
    const Tensor scale = weight / sqrt(running_var + eps_);
    const Tensor y =
        (x3 - reshape(running_mean, stats_shape)) * reshape(scale, stats_shape) + reshape(bias, stats_shape);
    return reshape(y, x.shape());
  }
  const int64_t count = batch * spatial;
  TL_CHECK_AS(ShapeError, count > 1, name_, " in training mode needs more than one value per channel, got ",
              x.describe());
  const Tensor batch_mean = channel_mean(x3);
  const Tensor centred = x3 - batch_mean;
  const Tensor variance = channel_mean(centred * centred);
  {
    NoGradGuard no_grad;
    const float unbiased = static_cast<float>(count) / static_cast<float>(count - 1);
    running_mean = running_mean * (1.0f - momentum_) + reshape(batch_mean.detach(), {channels_}) * momentum_;
    running_var = running_var * (1.0f - momentum_) + reshape(variance.detach(), {channels_}) * (momentum_ * unbiased);
  }
  const Tensor y = centred / sqrt(variance + eps_) * reshape(weight, stats_shape) + reshape(bias, stats_shape);
  return reshape(y, x.shape());
}

GroupNorm::GroupNorm(int64_t num_groups, int64_t channels, float eps)
    : groups_(num_groups), channels_(channels), eps_(eps) {
  TL_CHECK_AS(ValueError, num_groups > 0 && channels > 0 && channels % num_groups == 0,
              "GroupNorm: the channel count must be a positive multiple of the group count, got ", channels,
              " channels in ", num_groups, " groups");
  TL_CHECK_AS(ValueError, eps > 0.0f, "GroupNorm: eps must be positive, got ", eps);
  weight = Tensor::ones({channels});
  bias = Tensor::zeros({channels});
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
}

Tensor GroupNorm::forward(const Tensor& x) {
  TL_CHECK_AS(ShapeError, x.rank() >= 2 && x.dim(1) == channels_, "GroupNorm expects [N, ", channels_, ", ...], got ",
              x.describe());
  const int64_t batch = x.dim(0), spatial = x.numel() / (batch * channels_);
  // Each (sample, group) is one row of [N, G, C / G * S]: its statistics are a mean over axis 2.
  const Tensor grouped = reshape(x, {batch, groups_, channels_ / groups_ * spatial});
  const Tensor centred = grouped - mean(grouped, 2, true);
  const Tensor normalised = centred / sqrt(mean(centred * centred, 2, true) + eps_);
  const Tensor y = reshape(normalised, {batch, channels_, spatial}) * reshape(weight, {1, channels_, 1}) +
                   reshape(bias, {1, channels_, 1});
  return reshape(y, x.shape());
}

namespace {

// [0, 0, 1, 1, ..., n - 1, n - 1] on `device`: the source row of each row of a nearest-neighbour doubling.
Tensor doubled_index(int64_t n, Device device) {
  std::vector<int64_t> index(static_cast<size_t>(2 * n));
  for (int64_t i = 0; i < 2 * n; ++i) index[static_cast<size_t>(i)] = i / 2;
  return Tensor::from_vector(index, {2 * n}, device);
}

}  // namespace

Tensor Upsample2x::forward(const Tensor& x) {
  TL_CHECK_AS(ShapeError, x.rank() == 4, "Upsample2x expects [N, C, H, W], got ", x.describe());
  const Tensor rows = index_select(x, 2, doubled_index(x.dim(2), x.device()));
  return index_select(rows, 3, doubled_index(x.dim(3), x.device()));
}

AvgPool2d::AvgPool2d(int64_t kernel) : kernel_(kernel) {
  TL_CHECK_AS(ValueError, kernel > 0, "AvgPool2d: the kernel size must be positive, got ", kernel);
}

Tensor AvgPool2d::forward(const Tensor& x) {
  TL_CHECK_AS(ShapeError, x.rank() == 4 && x.dim(2) >= kernel_ && x.dim(3) >= kernel_, "AvgPool2d(", kernel_,
              ") expects [N, C, H, W] with H, W >= ", kernel_, ", got ", x.describe());
  const int64_t k = kernel_, oh = x.dim(2) / k, ow = x.dim(3) / k;
  Tensor cropped = x;
  if (x.dim(2) != oh * k) cropped = slice(cropped, 2, 0, oh * k);
  if (x.dim(3) != ow * k) cropped = slice(cropped, 3, 0, ow * k);
  // [N C, oh, k, ow, k]: the window of output (i, j) is [:, i, :, j, :]; sum its columns, then its rows.
  const Tensor windows = reshape(cropped, {x.dim(0) * x.dim(1), oh, k, ow, k});
  const Tensor pooled = sum(sum(windows, 4), 2);
  return reshape(mul(pooled, 1.0f / static_cast<float>(k * k)), {x.dim(0), x.dim(1), oh, ow});
}

SinusoidalTimeEmbedding::SinusoidalTimeEmbedding(int64_t dim) : dim_(dim) {
  TL_CHECK_AS(ValueError, dim >= 4, "SinusoidalTimeEmbedding: dim must be at least 4, got ", dim);
}

Tensor SinusoidalTimeEmbedding::embed(const std::vector<int64_t>& timesteps, Device device) const {
  const int64_t rows = static_cast<int64_t>(timesteps.size()), half = dim_ / 2;
  std::vector<float> values(static_cast<size_t>(rows * dim_), 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t t = timesteps[static_cast<size_t>(r)];
    TL_CHECK_AS(ValueError, t >= 0, "SinusoidalTimeEmbedding: timesteps must be non-negative, got ", t);
    for (int64_t i = 0; i < half; ++i) {
      const double angle = static_cast<double>(t) *
                           std::exp(-std::log(10000.0) * static_cast<double>(i) / static_cast<double>(half - 1));
      values[static_cast<size_t>(r * dim_ + i)] = static_cast<float>(std::sin(angle));
      values[static_cast<size_t>(r * dim_ + half + i)] = static_cast<float>(std::cos(angle));
    }
  }
  return Tensor::from_vector(values, {rows, dim_}, device);
}

Tensor SinusoidalTimeEmbedding::forward(const Tensor& t) {
  TL_CHECK_AS(ValueError, t.rank() == 1 && (t.dtype() == DType::Int32 || t.dtype() == DType::Int64),
              "SinusoidalTimeEmbedding expects an int32/int64 vector of timesteps, got ", t.describe());
  const Tensor host = t.to(Device::CPU);
  std::vector<int64_t> timesteps;
  if (t.dtype() == DType::Int64) {
    timesteps = host.to_vector<int64_t>();
  } else {
    for (int32_t v : host.to_vector<int32_t>()) timesteps.push_back(v);
  }
  return embed(timesteps, t.device());
}

ActivationKind parse_activation(const std::string& name) {
  if (name == "identity") return ActivationKind::Identity;
  if (name == "relu") return ActivationKind::Relu;
  if (name == "leaky_relu") return ActivationKind::LeakyRelu;
  if (name == "elu") return ActivationKind::Elu;
  if (name == "sigmoid") return ActivationKind::Sigmoid;
  if (name == "tanh") return ActivationKind::Tanh;
  if (name == "softplus") return ActivationKind::Softplus;
  if (name == "silu") return ActivationKind::Silu;
  TL_FAIL(ValueError, "unknown activation '", name,
          "' (expected identity, relu, leaky_relu, elu, sigmoid, tanh, softplus or silu)");
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
    case ActivationKind::Silu:
      return mul(x, sigmoid(x));
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
