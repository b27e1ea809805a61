// Reductions (sum and mean, over everything or one axis) and the matrix product.
#include "core/ops_internal.h"

namespace tl {
namespace {

struct AxisSplit {
  int64_t outer = 1, len = 1, inner = 1;
};

AxisSplit split_at(const Shape& shape, int axis) {
  AxisSplit s;
  for (int d = 0; d < static_cast<int>(shape.size()); ++d) {
    if (d < axis) s.outer *= shape[d];
    if (d == axis) s.len = shape[d];
    if (d > axis) s.inner *= shape[d];
  }
  return s;
}

}  // namespace

Tensor sum(const Tensor& x) {
  check_float(x, "sum");
  Tensor out = Tensor::empty({}, x.device());
  detail::backend(x).sum_all(x.data<float>(), out.data<float>(), x.numel());
  return record(out, "sum", {x}, [x](const Tensor& g) { return std::vector<Tensor>{detail::expand_to(g, x.shape())}; });
}

Tensor sum(const Tensor& x, int axis, bool keepdim) {
  check_float(x, "sum");
  const int a = normalize_axis(axis, x.rank());
  const AxisSplit s = split_at(x.shape(), a);
  Shape kept = x.shape();
  kept[static_cast<size_t>(a)] = 1;
  Shape out_shape = kept;
  if (!keepdim) out_shape.erase(out_shape.begin() + a);
  Tensor out = Tensor::empty(out_shape, x.device());
  detail::backend(x).sum_axis(x.data<float>(), out.data<float>(), s.outer, s.len, s.inner);
  return record(out, "sum_axis", {x}, [x, kept](const Tensor& g) {
    return std::vector<Tensor>{detail::expand_to(g.view_as_shape(kept), x.shape())};
  });
}

Tensor mean(const Tensor& x) {
  check_float(x, "mean");
  TL_CHECK_AS(ShapeError, x.numel() > 0, "mean of an empty tensor ", x.describe());
  return mul(sum(x), 1.0f / static_cast<float>(x.numel()));
}

Tensor mean(const Tensor& x, int axis, bool keepdim) {
  check_float(x, "mean");
  const int64_t count = x.dim(axis);
  TL_CHECK_AS(ShapeError, count > 0, "mean over an empty axis ", axis, " of ", x.describe());
  return mul(sum(x, axis, keepdim), 1.0f / static_cast<float>(count));
}

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  check_float(a, "matmul");
  check_float(b, "matmul");
  check_same_device(a, b, "matmul");
  TL_CHECK_AS(ShapeError, a.rank() == 2 && b.rank() == 2, "matmul needs 2-D tensors, got ", shape_str(a.shape()),
              " and ", shape_str(b.shape()));
  const int64_t m = transpose_a ? a.dim(1) : a.dim(0);
  const int64_t k = transpose_a ? a.dim(0) : a.dim(1);
  const int64_t kb = transpose_b ? b.dim(1) : b.dim(0);
  const int64_t n = transpose_b ? b.dim(0) : b.dim(1);
  TL_CHECK_AS(ShapeError, k == kb, "matmul: inner dimensions differ: ", shape_str(a.shape()), transpose_a ? "^T" : "",
              " x ", shape_str(b.shape()), transpose_b ? "^T" : "", " (", k, " vs ", kb, ")");
  Tensor out = Tensor::empty({m, n}, a.device());
  detail::backend(a).gemm(transpose_a, transpose_b, m, n, k, 1.0f, a.data<float>(), b.data<float>(), 0.0f,
                          out.data<float>());
  return record(out, "matmul", {a, b}, [a, b, transpose_a, transpose_b, m, n, k](const Tensor& g) {
    const kernels::Backend& be = detail::backend(a);
    Tensor ga, gb;
    if (a.requires_grad()) {
      ga = Tensor::empty(a.shape(), a.device());
      if (!transpose_a) {  // dA = dC op(B)^T
        be.gemm(false, !transpose_b, m, k, n, 1.0f, g.data<float>(), b.data<float>(), 0.0f, ga.data<float>());
      } else {  // A stored [k, m]: dA = op(B) dC^T
        be.gemm(transpose_b, true, k, m, n, 1.0f, b.data<float>(), g.data<float>(), 0.0f, ga.data<float>());
      }
    }
    if (b.requires_grad()) {
      gb = Tensor::empty(b.shape(), b.device());
      if (!transpose_b) {  // dB = op(A)^T dC
        be.gemm(!transpose_a, false, k, n, m, 1.0f, a.data<float>(), g.data<float>(), 0.0f, gb.data<float>());
      } else {  // B stored [n, k]: dB = dC^T op(A)
        be.gemm(true, transpose_a, n, k, m, 1.0f, g.data<float>(), a.data<float>(), 0.0f, gb.data<float>());
      }
    }
    return std::vector<Tensor>{ga, gb};
  });
}

Tensor log_softmax(const Tensor& x) {
  check_float(x, "log_softmax");
  TL_CHECK_AS(ShapeError, x.rank() == 2 && x.dim(1) > 0, "log_softmax expects [rows, classes], got ", x.describe());
  Tensor y = Tensor::empty(x.shape(), x.device());
  detail::backend(x).log_softmax_rows(x.data<float>(), y.data<float>(), x.dim(0), x.dim(1));
  const Tensor y_values = y.detach();
  return record(y, "log_softmax", {x}, [y_values](const Tensor& g) {
    // d/dx_j sum_i g_i y_i = g_j - softmax_j sum_i g_i
    return std::vector<Tensor>{sub(g, mul(exp(y_values), sum(g, 1, true)))};
  });
}

Tensor cross_entropy(const Tensor& logits, const Tensor& labels, Reduction reduction) {
  check_float(logits, "cross_entropy");
  check_defined(labels, "cross_entropy");
  TL_CHECK_AS(ShapeError, logits.rank() == 2 && labels.rank() == 1 && labels.dim(0) == logits.dim(0),
              "cross_entropy expects logits [N, K] and labels [N], got ", logits.describe(), " and ",
              labels.describe());
  TL_CHECK_AS(ValueError, labels.dtype() == DType::Int32 || labels.dtype() == DType::Int64,
              "cross_entropy: labels must be int32 or int64, got ", labels.describe());
  const int64_t rows = logits.dim(0), classes = logits.dim(1);
  // Each row's label picks one entry of the flattened log-probabilities.
  std::vector<int64_t> picks(static_cast<size_t>(rows));
  const Tensor host_labels = labels.to(Device::CPU);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t label =
        labels.dtype() == DType::Int32 ? host_labels.data<int32_t>()[r] : host_labels.data<int64_t>()[r];
    TL_CHECK_AS(ValueError, label >= 0 && label < classes, "cross_entropy: row ", r, " has label ", label,
                " outside [0, ", classes, ")");
    picks[static_cast<size_t>(r)] = r * classes + label;
  }
  const Tensor index = Tensor::from_vector(picks, {rows}, logits.device());
  const Tensor picked = index_select(reshape(log_softmax(logits), {rows * classes}), 0, index);
  return mul(detail::reduce_loss(picked, reduction), -1.0f);
}

}  // namespace tl
