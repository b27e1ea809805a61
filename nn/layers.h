// The layers models are built from: Linear, Conv2d, ConvTranspose2d, Reshape, BatchNorm1d/2d, GroupNorm,
// activations (SiLU among them), Upsample2x, AvgPool2d, the sinusoidal timestep embedding of diffusion models and
// Sequential. Initialisation draws from a Philox Generator, so a seed fixes every weight on every device; the
// default schemes are PyTorch's.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/base/random.h"
#include "nn/module.h"

namespace tl::nn {

// y = x W^T + b with W [out, in] (PyTorch's layout). Weights and bias ~ U(-1/sqrt(in), 1/sqrt(in)), which is
// PyTorch's kaiming_uniform_(a = sqrt(5)) default.
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, Generator& generator, bool bias = true);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;  // bias undefined when built without one

 private:
  int64_t in_features_;
};

// 2-D convolution (core/ops.h conv2d) with weight [out, in, k, k] and bias [out]; both ~ U(-1/sqrt(fan_in),
// 1/sqrt(fan_in)) with fan_in = in * k * k, PyTorch's default.
class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, Generator& generator, int64_t stride = 1,
         int64_t padding = 0);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;

 private:
  int64_t stride_, padding_;
};

// Transposed convolution (core/ops.h conv_transpose2d) with weight [in, out, k, k] and bias [out]; PyTorch's
// default initialisation, whose fan_in is out * k * k for this layout.
class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, int64_t kernel, Generator& generator, int64_t stride = 1,
                  int64_t padding = 0, int64_t output_padding = 0);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;

 private:
  int64_t stride_, padding_, output_padding_;
};

// Reshapes [batch, ...] to [batch, shape...]: Flatten ({features}) and Unflatten ({C, H, W}) in one module.
class Reshape : public Module {
 public:
  explicit Reshape(Shape shape) : shape_(std::move(shape)) {}
  Tensor forward(const Tensor& x) override;

 private:
  Shape shape_;
};

// Batch normalisation's shared part: per-channel statistics of a tensor whose channels lie on axis 1, taken over
// every other axis. Training mode normalises by the batch's mean and biased variance and updates the running
// statistics as PyTorch does (r <- (1 - momentum) r + momentum s, the variance unbiased: n / (n - 1) with n the
// values per channel); evaluation mode uses the running statistics. y = (x - mean) / sqrt(var + eps) weight + bias.
// Parameters "weight" (ones), "bias" (zeros); buffers "running_mean" (zeros), "running_var" (ones).
class BatchNorm : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias, running_mean, running_var;

 protected:
  // `name` and `layout` describe the expected input in messages ("BatchNorm2d", "[N, C, H, W]").
  BatchNorm(const char* name, const char* layout, int rank, int64_t channels, float momentum, float eps);

 private:
  const char* name_;
  const char* layout_;
  int rank_;
  int64_t channels_;
  float momentum_, eps_;
};

// Batch normalisation of [batch, features] over the batch dimension.
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(int64_t features, float momentum = 0.1f, float eps = 1e-5f)
      : BatchNorm("BatchNorm1d", "[batch, features]", 2, features, momentum, eps) {}
};

// Batch normalisation of images [N, C, H, W]: statistics per channel over N, H and W.
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(int64_t channels, float momentum = 0.1f, float eps = 1e-5f)
      : BatchNorm("BatchNorm2d", "[N, C, H, W]", 4, channels, momentum, eps) {}
};

// Group normalisation of [N, C, ...] (PyTorch's GroupNorm): the C channels are split into num_groups consecutive
// groups, each sample's group is normalised by its own mean and biased variance (the same in training and
// evaluation), then each channel is scaled and shifted: y = (x - mean) / sqrt(var + eps) weight[c] + bias[c].
// Parameters "weight" (ones) and "bias" (zeros) of [C].
class GroupNorm : public Module {
 public:
  GroupNorm(int64_t num_groups, int64_t channels, float eps = 1e-5f);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;

 private:
  int64_t groups_, channels_;
  float eps_;
};

// Nearest-neighbour upsampling by two: [N, C, H, W] -> [N, C, 2H, 2W], y[.., i, j] = x[.., i / 2, j / 2]. The
// gradient of each input pixel is the sum of its four copies' gradients.
class Upsample2x : public Module {
 public:
  Tensor forward(const Tensor& x) override;
};

// Average pooling over non-overlapping k x k windows (stride k, no padding): [N, C, H, W] -> [N, C, H / k, W / k],
// trailing rows and columns that fill no window dropped (PyTorch's floor mode). The gradient spreads each output's
// gradient / k^2 over its window. With k = 2, AvgPool2d(Upsample2x(x)) == x exactly.
class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(int64_t kernel = 2);
  Tensor forward(const Tensor& x) override;

 private:
  int64_t kernel_;
};

// The sinusoidal timestep embedding of Ho et al. 2020 (their get_timestep_embedding; the transformer's positional
// encoding): with half = dim / 2 (rounded down) and frequencies f_i = exp(-log(10000) i / (half - 1)),
// i = 0 .. half - 1, row r is [sin(t_r f_0), ..., sin(t_r f_{half-1}), cos(t_r f_0), ..., cos(t_r f_{half-1})],
// followed by one zero column when dim is odd. Computed on the host in double, rounded to float once, then moved to
// the device; it has no parameters and no gradient flows to t. dim must be at least 4 (half - 1 > 0).
class SinusoidalTimeEmbedding : public Module {
 public:
  explicit SinusoidalTimeEmbedding(int64_t dim);
  // timesteps (non-negative) -> [timesteps.size(), dim] on `device`.
  Tensor embed(const std::vector<int64_t>& timesteps, Device device = Device::CPU) const;
  // t: an int32/int64 vector [B] on any device -> [B, dim] on t's device.
  Tensor forward(const Tensor& t) override;
  int64_t dim() const { return dim_; }

 private:
  int64_t dim_;
};

enum class ActivationKind { Identity, Relu, LeakyRelu, Elu, Sigmoid, Tanh, Softplus, Silu };

// Parses "identity", "relu", "leaky_relu", "elu", "sigmoid", "tanh", "softplus" or "silu"; ValueError otherwise.
// silu is x sigmoid(x) (a.k.a. swish), composed from mul and sigmoid.
ActivationKind parse_activation(const std::string& name);
Tensor apply_activation(ActivationKind kind, const Tensor& x);

class Activation : public Module {
 public:
  explicit Activation(ActivationKind kind) : kind_(kind) {}
  Tensor forward(const Tensor& x) override { return apply_activation(kind_, x); }

 private:
  ActivationKind kind_;
};

// Runs its modules in order; they are named "0", "1", ... as in torch.nn.Sequential.
class Sequential : public Module {
 public:
  Sequential& add(std::shared_ptr<Module> module);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return modules_.size(); }

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};

// An MLP: Linear layers through `widths` (widths[0] is the input), each but the last followed by optional batch
// norm and `hidden`; the last by `output`.
std::shared_ptr<Sequential> make_mlp(const std::vector<int64_t>& widths, ActivationKind hidden, ActivationKind output,
                                     Generator& generator, bool batch_norm = false);

}  // namespace tl::nn
