// The differentiable op library. Each op checks its arguments (errors name both shapes or both devices),
// runs its forward kernel on the inputs' device through kernels/backend.h, and records its backward when an
// input requires grad. All ops take and return float32 tensors, except the index of index_select.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace tl {

// How a loss reduces its per-element terms: the sum, the mean over all elements, or the sum divided by the
// batch size (the first dimension), as VAE code usually writes its KL term.
enum class Reduction { Sum, Mean, BatchMean };

// Arithmetic with numpy broadcasting (rows [1, n], columns [m, 1], scalars [1] or [] against [m, n], ...).
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, float s);
Tensor mul(const Tensor& a, float s);

// Unary math and activations.
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor pow(const Tensor& x, float exponent);
Tensor abs(const Tensor& x);
Tensor clamp(const Tensor& x, float low, float high);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, float negative_slope = 0.01f);
Tensor elu(const Tensor& x, float alpha = 1.0f);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor softplus(const Tensor& x);

// Matrix product of 2-D tensors: op(a) [m, k] x op(b) [k, n], op = transpose when the flag is set.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);

// 2-D convolution of x [N, C, H, W] by weight [O, C, kh, kw] (cross-correlation, as in PyTorch) with a square
// stride and zero padding: [N, O, (H + 2p - kh) / s + 1, (W + 2p - kw) / s + 1]. CPU: im2col + one GEMM over the
// batch; CUDA: cuDNN with deterministic algorithms.
Tensor conv2d(const Tensor& x, const Tensor& weight, int64_t stride = 1, int64_t padding = 0);
// Its adjoint with respect to x, as a layer: x [N, Cin, H, W], weight [Cin, Cout, kh, kw] (PyTorch's layout) ->
// [N, Cout, (H - 1) s - 2p + kh + output_padding, ...], output_padding < stride.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, int64_t stride = 1, int64_t padding = 0,
                        int64_t output_padding = 0);

// Reductions: over everything (a rank-0 result) or over one axis.
Tensor sum(const Tensor& x);
Tensor sum(const Tensor& x, int axis, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, int axis, bool keepdim = false);

// log(softmax(x)) along the last axis of a 2-D x (stable for any logits).
Tensor log_softmax(const Tensor& x);

// Layout. reshape is a view sharing storage (one dimension may be -1); the others copy.
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor transpose(const Tensor& x);  // 2-D
Tensor concat(const std::vector<Tensor>& parts, int axis);
Tensor slice(const Tensor& x, int axis, int64_t start, int64_t end);  // [start, end) along axis
// Picks entries along `axis` by an int32/int64 index vector; the backward is a deterministic scatter-add.
Tensor index_select(const Tensor& x, int axis, const Tensor& index);

// Losses (a rank-0 result). Inputs of each pair must have the same shape.
Tensor bce_with_logits(const Tensor& logits, const Tensor& targets, Reduction reduction = Reduction::Mean);
Tensor mse_loss(const Tensor& prediction, const Tensor& target, Reduction reduction = Reduction::Mean);
// -log softmax(logits)[label] per row of logits [N, K]; labels: an int32/int64 [N] tensor of classes in [0, K).
Tensor cross_entropy(const Tensor& logits, const Tensor& labels, Reduction reduction = Reduction::Mean);
// KL( N(mu, exp(logvar)) || N(0, I) ) summed over elements, then reduced.
Tensor gaussian_kl(const Tensor& mu, const Tensor& logvar, Reduction reduction = Reduction::Sum);

inline Tensor operator+(const Tensor& a, const Tensor& b) {
  return add(a, b);
}
inline Tensor operator-(const Tensor& a, const Tensor& b) {
  return sub(a, b);
}
inline Tensor operator*(const Tensor& a, const Tensor& b) {
  return mul(a, b);
}
inline Tensor operator/(const Tensor& a, const Tensor& b) {
  return div(a, b);
}
inline Tensor operator+(const Tensor& a, float s) {
  return add(a, s);
}
inline Tensor operator-(const Tensor& a, float s) {
  return add(a, -s);
}
inline Tensor operator*(const Tensor& a, float s) {
  return mul(a, s);
}
inline Tensor operator/(const Tensor& a, float s) {
  return mul(a, 1.0f / s);
}
inline Tensor operator*(float s, const Tensor& a) {
  return mul(a, s);
}
inline Tensor operator-(const Tensor& a) {
  return mul(a, -1.0f);
}

}  // namespace tl
