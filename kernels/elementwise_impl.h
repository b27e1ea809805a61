// The math of every elementwise op, written once for CPU and GPU: unary functions with their derivatives,
// binary functions (arithmetic and the per-element terms of the losses) with both partial derivatives,
// and the index arithmetic of numpy-style broadcasting.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "core/base/hostdevice.h"

namespace tl::kernels {

enum class UnaryOp {
  Scale,      // a * x
  AddScalar,  // x + a
  Exp,
  Log,
  Sqrt,
  Pow,  // x^a
  Abs,
  Clamp,  // min(max(x, a), b); NaN stays NaN
  Relu,
  LeakyRelu,  // x > 0 ? x : a x
  Elu,        // x > 0 ? x : a (e^x - 1)
  Sigmoid,
  Tanh,
  Softplus,  // log(1 + e^x)
};

struct UnaryParams {
  UnaryOp op;
  float a = 0.0f;
  float b = 0.0f;
};

// max(x, 0), written as a comparison: unlike fmaxf it lets compilers vectorise the loops that use it (and for a
// NaN x both give 0).
TL_HD float positive_part(float x) {
  return x > 0.0f ? x : 0.0f;
}

TL_HD float stable_sigmoid(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
  const float e = expf(x);
  return e / (1.0f + e);
}

TL_HD float unary_forward(const UnaryParams& p, float x) {
  switch (p.op) {
    case UnaryOp::Scale:
      return p.a * x;
    case UnaryOp::AddScalar:
      return x + p.a;
    case UnaryOp::Exp:
      return expf(x);
    case UnaryOp::Log:
      return logf(x);
    case UnaryOp::Sqrt:
      return sqrtf(x);
    case UnaryOp::Pow:
      return powf(x, p.a);
    case UnaryOp::Abs:
      return fabsf(x);
    case UnaryOp::Clamp:  // comparisons, not fminf/fmaxf: a NaN passes through instead of becoming a bound
      return x < p.a ? p.a : (x > p.b ? p.b : x);
    case UnaryOp::Relu:  // NaN propagates (as in PyTorch); + 0.0f turns -0 into +0
      return x < 0.0f ? 0.0f : x + 0.0f;
    case UnaryOp::LeakyRelu:
      return x > 0.0f ? x : p.a * x;
    case UnaryOp::Elu:
      return x > 0.0f ? x : p.a * (expf(x) - 1.0f);
    case UnaryOp::Sigmoid:
      return stable_sigmoid(x);
    case UnaryOp::Tanh:
      return tanhf(x);
    case UnaryOp::Softplus:
      return positive_part(x) + log1pf(expf(-fabsf(x)));
  }
  return 0.0f;
}

// dy/dx given the input x and the output y = f(x). At kinks the convention is PyTorch's: relu'(0) = 0,
// |x|'(0) = 0, clamp' = 1 on the closed interval [a, b].
TL_HD float unary_derivative(const UnaryParams& p, float x, float y) {
  switch (p.op) {
    case UnaryOp::Scale:
      return p.a;
    case UnaryOp::AddScalar:
      return 1.0f;
    case UnaryOp::Exp:
      return y;
    case UnaryOp::Log:
      return 1.0f / x;
    case UnaryOp::Sqrt:
      return 0.5f / y;
    case UnaryOp::Pow:
      return p.a * powf(x, p.a - 1.0f);
    case UnaryOp::Abs:
      return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
    case UnaryOp::Clamp:
      return (x >= p.a && x <= p.b) ? 1.0f : 0.0f;
    case UnaryOp::Relu:
      return x > 0.0f ? 1.0f : 0.0f;
    case UnaryOp::LeakyRelu:
      return x > 0.0f ? 1.0f : p.a;
    case UnaryOp::Elu:
      return x > 0.0f ? 1.0f : y + p.a;
    case UnaryOp::Sigmoid:
      return y * (1.0f - y);
    case UnaryOp::Tanh:
      return 1.0f - y * y;
    case UnaryOp::Softplus:
      return stable_sigmoid(x);
  }
  return 0.0f;
}

enum class BinaryOp {
  Add,
  Sub,
  Mul,
  Div,
  BceWithLogits,  // a = logit, b = target: max(a, 0) - a b + log(1 + e^-|a|)
  SquaredError,   // (a - b)^2
  GaussianKl,     // a = mu, b = log variance: -1/2 (1 + b - a^2 - e^b), the KL of N(a, e^b) to N(0, 1)
};

TL_HD float binary_forward(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::Add:
      return a + b;
    case BinaryOp::Sub:
      return a - b;
    case BinaryOp::Mul:
      return a * b;
    case BinaryOp::Div:
      return a / b;
    case BinaryOp::BceWithLogits:
      return positive_part(a) - a * b + log1pf(expf(-fabsf(a)));
    case BinaryOp::SquaredError:
      return (a - b) * (a - b);
    case BinaryOp::GaussianKl:
      return -0.5f * (1.0f + b - a * a - expf(b));
  }
  return 0.0f;
}

TL_HD float binary_derivative_a(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::Add:
      return 1.0f;
    case BinaryOp::Sub:
      return 1.0f;
    case BinaryOp::Mul:
      return b;
    case BinaryOp::Div:
      return 1.0f / b;
    case BinaryOp::BceWithLogits:
      return stable_sigmoid(a) - b;
    case BinaryOp::SquaredError:
      return 2.0f * (a - b);
    case BinaryOp::GaussianKl:
      return a;
  }
  return 0.0f;
}

TL_HD float binary_derivative_b(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::Add:
      return 1.0f;
    case BinaryOp::Sub:
      return -1.0f;
    case BinaryOp::Mul:
      return a;
    case BinaryOp::Div:
      return -a / (b * b);
    case BinaryOp::BceWithLogits:
      return -a;
    case BinaryOp::SquaredError:
      return -2.0f * (a - b);
    case BinaryOp::GaussianKl:
      return 0.5f * (expf(b) - 1.0f);
  }
  return 0.0f;
}

// Host-side: calls body(std::integral_constant<UnaryOp, op>) so CPU loops and CUDA kernels are instantiated
// per op, with the op a compile-time constant instead of a per-element switch.
template <class Body>
void with_unary_op(UnaryOp op, Body&& body) {
  using U = UnaryOp;
  switch (op) {
    case U::Scale:
      return body(std::integral_constant<U, U::Scale>{});
    case U::AddScalar:
      return body(std::integral_constant<U, U::AddScalar>{});
    case U::Exp:
      return body(std::integral_constant<U, U::Exp>{});
    case U::Log:
      return body(std::integral_constant<U, U::Log>{});
    case U::Sqrt:
      return body(std::integral_constant<U, U::Sqrt>{});
    case U::Pow:
      return body(std::integral_constant<U, U::Pow>{});
    case U::Abs:
      return body(std::integral_constant<U, U::Abs>{});
    case U::Clamp:
      return body(std::integral_constant<U, U::Clamp>{});
    case U::Relu:
      return body(std::integral_constant<U, U::Relu>{});
    case U::LeakyRelu:
      return body(std::integral_constant<U, U::LeakyRelu>{});
    case U::Elu:
      return body(std::integral_constant<U, U::Elu>{});
    case U::Sigmoid:
      return body(std::integral_constant<U, U::Sigmoid>{});
    case U::Tanh:
      return body(std::integral_constant<U, U::Tanh>{});
    case U::Softplus:
      return body(std::integral_constant<U, U::Softplus>{});
  }
}

template <class Body>
void with_binary_op(BinaryOp op, Body&& body) {
  using B = BinaryOp;
  switch (op) {
    case B::Add:
      return body(std::integral_constant<B, B::Add>{});
    case B::Sub:
      return body(std::integral_constant<B, B::Sub>{});
    case B::Mul:
      return body(std::integral_constant<B, B::Mul>{});
    case B::Div:
      return body(std::integral_constant<B, B::Div>{});
    case B::BceWithLogits:
      return body(std::integral_constant<B, B::BceWithLogits>{});
    case B::SquaredError:
      return body(std::integral_constant<B, B::SquaredError>{});
    case B::GaussianKl:
      return body(std::integral_constant<B, B::GaussianKl>{});
  }
}

constexpr int kMaxRank = 6;

// Maps a linear index of the broadcast output to element offsets in the two (contiguous) operands.
// Broadcast dimensions have stride 0; adjacent dimensions that are contiguous in all three are merged,
// so equal shapes collapse to rank 1 and a row broadcast to rank 2.
struct BroadcastIndexer {
  int rank = 0;
  int64_t numel = 0;
  int64_t dims[kMaxRank] = {};
  int64_t a_strides[kMaxRank] = {};
  int64_t b_strides[kMaxRank] = {};

  TL_HD void offsets(int64_t linear, int64_t& offset_a, int64_t& offset_b) const {
    offset_a = 0;
    offset_b = 0;
    for (int d = rank - 1; d >= 0; --d) {
      const int64_t coordinate = linear % dims[d];
      linear /= dims[d];
      offset_a += coordinate * a_strides[d];
      offset_b += coordinate * b_strides[d];
    }
  }
};

}  // namespace tl::kernels
