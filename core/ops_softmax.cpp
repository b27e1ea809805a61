// Classification: the row-wise log-softmax (a backend row kernel) and the cross-entropy loss built on it.
#include "core/ops_internal.h"

#include <vector>

namespace tl {

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
