// The layers models are built from: Linear, Conv2d, ConvTranspose2d, Reshape, BatchNorm1d, activations and
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

// Batch normalisation over the batch dimension of [batch, features]. Training mode normalises by the batch's
// mean and biased variance and updates running statistics (momentum, unbiased variance), as PyTorch does;
// evaluation mode uses the running statistics.
class BatchNorm1d : public Module {
 public:
  explicit BatchNorm1d(int64_t features, float momentum = 0.1f, float eps = 1e-5f);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias, running_mean, running_var;

 private:
  int64_t features_;
  float momentum_, eps_;
};

enum class ActivationKind { Identity, Relu, LeakyRelu, Elu, Sigmoid, Tanh, Softplus };

// Parses "identity", "relu", "leaky_relu", "elu", "sigmoid", "tanh" or "softplus"; ValueError otherwise.
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
