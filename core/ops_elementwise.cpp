// Elementwise ops: broadcast arithmetic, scalar arithmetic, unary math and activations, and the losses
// built from the per-element terms in kernels/elementwise_impl.h.
#include "core/ops_internal.h"

namespace tl {

using kernels::BinaryOp;
using kernels::UnaryOp;
using kernels::UnaryParams;

namespace detail {

Tensor sum_to(const Tensor& t, const Shape& shape) {
  if (t.shape() == shape) return t;
  const size_t rank = t.shape().size();
  TL_CHECK_AS(ShapeError, shape.size() <= rank, "internal: cannot sum ", shape_str(t.shape()), " to ",
              shape_str(shape));
  Shape padded(rank - shape.size(), 1);
  padded.insert(padded.end(), shape.begin(), shape.end());
  Tensor current = t;
  for (size_t d = 0; d < rank; ++d) {
    if (padded[d] == 1 && current.shape()[d] != 1) current = sum(current, static_cast<int>(d), true);
  }
  return current.view_as_shape(shape);
}

Tensor expand_to(const Tensor& t, const Shape& shape) {
  if (t.shape() == shape) return t;
  Tensor out = Tensor::empty(shape, t.device());
  backend(t).expand(t.data<float>(), out.data<float>(), kernels::make_broadcast_indexer(shape, shape, t.shape()));
  return out;
}

Tensor reduce_loss(const Tensor& terms, Reduction reduction) {
  const Tensor total = sum(terms);
  switch (reduction) {
    case Reduction::Sum:
      return total;
    case Reduction::Mean:
      return mul(total, 1.0f / static_cast<float>(terms.numel()));
    case Reduction::BatchMean:
      TL_CHECK_AS(ShapeError, terms.rank() >= 1 && terms.dim(0) > 0,
                  "BatchMean reduction needs a batch "
                  "dimension, got ",
                  terms.describe());
      return mul(total, 1.0f / static_cast<float>(terms.dim(0)));
  }
  TL_FAIL(ValueError, "unknown reduction");
}

}  // namespace detail

namespace {

Tensor unary_op(const Tensor& x, UnaryParams p, const char* name) {
  check_float(x, name);
  Tensor y = Tensor::empty(x.shape(), x.device());
  detail::backend(x).unary(p, x.data<float>(), y.data<float>(), x.numel());
  const Tensor y_values = y.detach();
  return record(y, name, {x}, [x, y_values, p](const Tensor& g) {
    Tensor gx = Tensor::empty(x.shape(), x.device());
    detail::backend(x).unary_backward(p, x.data<float>(), y_values.data<float>(), g.data<float>(), gx.data<float>(),
                                      x.numel());
    return std::vector<Tensor>{gx};
  });
}

Tensor binary_op(const Tensor& a, const Tensor& b, BinaryOp op, const char* name) {
  check_float(a, name);
  check_float(b, name);
  check_same_device(a, b, name);
  const Shape out_shape = broadcast_shapes(a.shape(), b.shape());
  const kernels::BroadcastIndexer ix = kernels::make_broadcast_indexer(out_shape, a.shape(), b.shape());
  Tensor out = Tensor::empty(out_shape, a.device());
  detail::backend(a).binary(op, a.data<float>(), b.data<float>(), out.data<float>(), ix);
  return record(out, name, {a, b}, [a, b, op, ix, out_shape](const Tensor& g) {
    Tensor ga_full, gb_full;
    if (a.requires_grad()) ga_full = Tensor::empty(out_shape, a.device());
    if (b.requires_grad()) gb_full = Tensor::empty(out_shape, b.device());
    detail::backend(a).binary_backward(op, a.data<float>(), b.data<float>(), g.data<float>(),
                                       ga_full.defined() ? ga_full.data<float>() : nullptr,
                                       gb_full.defined() ? gb_full.data<float>() : nullptr, ix);
    return std::vector<Tensor>{ga_full.defined() ? detail::sum_to(ga_full, a.shape()) : Tensor(),
                               gb_full.defined() ? detail::sum_to(gb_full, b.shape()) : Tensor()};
  });
}

Tensor loss_op(const Tensor& a, const Tensor& b, BinaryOp op, Reduction reduction, const char* name) {
  check_float(a, name);
  check_float(b, name);
  check_same_shape(a, b, name);
  return detail::reduce_loss(binary_op(a, b, op, name), reduction);
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  return binary_op(a, b, BinaryOp::Add, "add");
}
Tensor sub(const Tensor& a, const Tensor& b) {
  return binary_op(a, b, BinaryOp::Sub, "sub");
}
Tensor mul(const Tensor& a, const Tensor& b) {
  return binary_op(a, b, BinaryOp::Mul, "mul");
}
Tensor div(const Tensor& a, const Tensor& b) {
  return binary_op(a, b, BinaryOp::Div, "div");
}
Tensor add(const Tensor& a, float s) {
  return unary_op(a, {UnaryOp::AddScalar, s}, "add_scalar");
}
Tensor mul(const Tensor& a, float s) {
  return unary_op(a, {UnaryOp::Scale, s}, "mul_scalar");
}

Tensor exp(const Tensor& x) {
  return unary_op(x, {UnaryOp::Exp}, "exp");
}
Tensor log(const Tensor& x) {
  return unary_op(x, {UnaryOp::Log}, "log");
}
Tensor sqrt(const Tensor& x) {
  return unary_op(x, {UnaryOp::Sqrt}, "sqrt");
}
Tensor pow(const Tensor& x, float exponent) {
  return unary_op(x, {UnaryOp::Pow, exponent}, "pow");
}
Tensor abs(const Tensor& x) {
  return unary_op(x, {UnaryOp::Abs}, "abs");
}
Tensor clamp(const Tensor& x, float low, float high) {
  TL_CHECK_AS(ValueError, low <= high, "clamp: low (", low, ") must not exceed high (", high, ")");
  return unary_op(x, {UnaryOp::Clamp, low, high}, "clamp");
}
Tensor relu(const Tensor& x) {
  return unary_op(x, {UnaryOp::Relu}, "relu");
}
Tensor leaky_relu(const Tensor& x, float negative_slope) {
  return unary_op(x, {UnaryOp::LeakyRelu, negative_slope}, "leaky_relu");
}
Tensor elu(const Tensor& x, float alpha) {
  return unary_op(x, {UnaryOp::Elu, alpha}, "elu");
}
Tensor sigmoid(const Tensor& x) {
  return unary_op(x, {UnaryOp::Sigmoid}, "sigmoid");
}
Tensor tanh(const Tensor& x) {
  return unary_op(x, {UnaryOp::Tanh}, "tanh");
}
Tensor softplus(const Tensor& x) {
  return unary_op(x, {UnaryOp::Softplus}, "softplus");
}

Tensor bce_with_logits(const Tensor& logits, const Tensor& targets, Reduction reduction) {
  return loss_op(logits, targets, BinaryOp::BceWithLogits, reduction, "bce_with_logits");
}
Tensor mse_loss(const Tensor& prediction, const Tensor& target, Reduction reduction) {
  return loss_op(prediction, target, BinaryOp::SquaredError, reduction, "mse_loss");
}
Tensor gaussian_kl(const Tensor& mu, const Tensor& logvar, Reduction reduction) {
  return loss_op(mu, logvar, BinaryOp::GaussianKl, reduction, "gaussian_kl");
}

}  // namespace tl
