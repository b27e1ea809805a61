// Layout ops: reshape (a view), transpose, concat, slice and index_select.
#include "core/ops_internal.h"

namespace tl {
namespace {

kernels::AxisBlock axis_block(const Shape& shape, int axis) {
  kernels::AxisBlock block;
  for (int d = 0; d < static_cast<int>(shape.size()); ++d) {
    if (d < axis) block.outer *= shape[d];
    if (d > axis) block.inner *= shape[d];
  }
  return block;
}

// Copies src (the whole of it) into dst at `dst_start` along `axis`.
void copy_into(const Tensor& src, Tensor& dst, int axis, int64_t dst_start) {
  kernels::AxisBlock block = axis_block(src.shape(), axis);
  block.count = src.shape()[static_cast<size_t>(axis)];
  block.src_axis = block.count;
  block.dst_axis = dst.shape()[static_cast<size_t>(axis)];
  block.dst_start = dst_start;
  detail::backend(src).copy_block(src.data<float>(), dst.data<float>(), block);
}

// Copies [start, start + out.dim(axis)) of src along `axis` into out.
void copy_from(const Tensor& src, Tensor& out, int axis, int64_t start) {
  kernels::AxisBlock block = axis_block(src.shape(), axis);
  block.count = out.shape()[static_cast<size_t>(axis)];
  block.src_axis = src.shape()[static_cast<size_t>(axis)];
  block.src_start = start;
  block.dst_axis = block.count;
  detail::backend(src).copy_block(src.data<float>(), out.data<float>(), block);
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  check_float(x, "reshape");
  Shape resolved = shape;
  int64_t known = 1;
  int inferred = -1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == -1) {
      TL_CHECK_AS(ShapeError, inferred < 0, "reshape: more than one -1 in ", shape_str(shape));
      inferred = static_cast<int>(d);
    } else {
      TL_CHECK_AS(ShapeError, shape[d] >= 0, "reshape: invalid dimension in ", shape_str(shape));
      known *= shape[d];
    }
  }
  if (inferred >= 0) {
    TL_CHECK_AS(ShapeError, known > 0 && x.numel() % known == 0, "reshape: cannot infer -1 in ", shape_str(shape),
                " for ", x.describe());
    resolved[static_cast<size_t>(inferred)] = x.numel() / known;
  }
  Tensor out = x.view_as_shape(resolved);
  return record(out, "reshape", {x}, [x](const Tensor& g) { return std::vector<Tensor>{g.view_as_shape(x.shape())}; });
}

Tensor transpose(const Tensor& x) {
  check_float(x, "transpose");
  TL_CHECK_AS(ShapeError, x.rank() == 2, "transpose needs a 2-D tensor, got ", x.describe());
  Tensor out = Tensor::empty({x.dim(1), x.dim(0)}, x.device());
  detail::backend(x).transpose(x.data<float>(), out.data<float>(), x.dim(0), x.dim(1));
  return record(out, "transpose", {x}, [](const Tensor& g) { return std::vector<Tensor>{transpose(g)}; });
}

Tensor concat(const std::vector<Tensor>& parts, int axis) {
  TL_CHECK_AS(ValueError, !parts.empty(), "concat of an empty list");
  for (const Tensor& p : parts) check_float(p, "concat");
  const Tensor& first = parts[0];
  const int a = normalize_axis(axis, first.rank());
  Shape out_shape = first.shape();
  out_shape[static_cast<size_t>(a)] = 0;
  for (const Tensor& p : parts) {
    check_same_device(first, p, "concat");
    bool compatible = p.rank() == first.rank();
    for (int d = 0; compatible && d < first.rank(); ++d) compatible = d == a || p.dim(d) == first.dim(d);
    TL_CHECK_AS(ShapeError, compatible, "concat along axis ", a, ": shapes ", shape_str(first.shape()), " and ",
                shape_str(p.shape()), " differ outside that axis");
    out_shape[static_cast<size_t>(a)] += p.dim(a);
  }
  Tensor out = Tensor::empty(out_shape, first.device());
  std::vector<int64_t> starts;
  int64_t offset = 0;
  for (const Tensor& p : parts) {
    starts.push_back(offset);
    copy_into(p, out, a, offset);
    offset += p.dim(a);
  }
  return record(out, "concat", parts, [parts, starts, a](const Tensor& g) {
    std::vector<Tensor> grads;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (!parts[i].requires_grad()) {
        grads.emplace_back();
        continue;
      }
      Tensor gi = Tensor::empty(parts[i].shape(), g.device());
      copy_from(g, gi, a, starts[i]);
      grads.push_back(gi);
    }
    return grads;
  });
}

Tensor slice(const Tensor& x, int axis, int64_t start, int64_t end) {
  check_float(x, "slice");
  const int a = normalize_axis(axis, x.rank());
  TL_CHECK_AS(ShapeError, 0 <= start && start <= end && end <= x.dim(a), "slice [", start, ", ", end,
              ") is out of range for axis ", a, " of ", x.describe());
  Shape out_shape = x.shape();
  out_shape[static_cast<size_t>(a)] = end - start;
  Tensor out = Tensor::empty(out_shape, x.device());
  copy_from(x, out, a, start);
  return record(out, "slice", {x}, [x, a, start](const Tensor& g) {
    Tensor gx = Tensor::zeros(x.shape(), x.device());
    copy_into(g, gx, a, start);
    return std::vector<Tensor>{gx};
  });
}

Tensor index_select(const Tensor& x, int axis, const Tensor& index) {
  check_float(x, "index_select");
  check_defined(index, "index_select");
  check_same_device(x, index, "index_select");
  TL_CHECK_AS(ValueError, index.dtype() == DType::Int32 || index.dtype() == DType::Int64,
              "index_select: the index must be int32 or int64, got ", index.describe());
  TL_CHECK_AS(ShapeError, index.rank() == 1, "index_select: the index must be 1-D, got ", index.describe());
  const int a = normalize_axis(axis, x.rank());
  const kernels::AxisBlock block = axis_block(x.shape(), a);
  const kernels::IndexGeometry geometry{block.outer, x.dim(a), index.numel(), block.inner};
  if (index.numel() > 0) {
    int64_t lo = 0, hi = 0;
    detail::backend(x).index_range(index.raw_data(), index.dtype(), index.numel(), &lo, &hi);
    TL_CHECK_AS(ValueError, lo >= 0 && hi < x.dim(a), "index_select: index values span [", lo, ", ", hi, "] but axis ",
                a, " of ", x.describe(), " has size ", x.dim(a));
  }
  Shape out_shape = x.shape();
  out_shape[static_cast<size_t>(a)] = index.numel();
  Tensor out = Tensor::empty(out_shape, x.device());
  detail::backend(x).index_select(x.data<float>(), index.raw_data(), index.dtype(), out.data<float>(), geometry);
  return record(out, "index_select", {x}, [x, index, geometry](const Tensor& g) {
    Tensor gx = Tensor::zeros(x.shape(), x.device());
    detail::backend(x).index_add(g.data<float>(), index.raw_data(), index.dtype(), gx.data<float>(), geometry);
    return std::vector<Tensor>{gx};
  });
}

}  // namespace tl
