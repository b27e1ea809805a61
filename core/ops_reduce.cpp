// Reductions: sum and mean, over everything or over one axis.
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

}  // namespace tl
