// Convolution ops: conv2d and conv_transpose2d on the backend's three convolution primitives (forward, backward
// data, backward filter: im2col + GEMM on the CPU, cuDNN on CUDA). A transposed convolution is the backward-data
// primitive run forwards, so its backward is the forward and backward-filter primitives.
#include "core/ops_internal.h"

namespace tl {
namespace {

using kernels::ConvShape;

void check_conv_input(const Tensor& x, const Tensor& weight, int64_t stride, int64_t padding, const char* op) {
  check_float(x, op);
  check_float(weight, op);
  check_same_device(x, weight, op);
  TL_CHECK_AS(ShapeError, x.rank() == 4 && weight.rank() == 4, op, " expects x [N, C, H, W] and a 4-D weight, got ",
              x.describe(), " and ", weight.describe());
  TL_CHECK_AS(ValueError, stride >= 1 && padding >= 0, op, ": stride must be >= 1 and padding >= 0, got stride ",
              stride, ", padding ", padding);
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, int64_t stride, int64_t padding) {
  check_conv_input(x, weight, stride, padding, "conv2d");
  ConvShape s;
  s.g = {x.dim(1), x.dim(2), x.dim(3), weight.dim(2), weight.dim(3), stride, stride, padding, padding, 0, 0};
  s.batch = x.dim(0);
  s.out_channels = weight.dim(0);
  TL_CHECK_AS(ShapeError, weight.dim(1) == s.g.channels, "conv2d: x has ", s.g.channels, " channels but the weight ",
              shape_str(weight.shape()), " expects ", weight.dim(1));
  TL_CHECK_AS(ShapeError, s.g.height + 2 * padding >= s.g.kernel_h && s.g.width + 2 * padding >= s.g.kernel_w,
              "conv2d: the ", s.g.kernel_h, "x", s.g.kernel_w, " kernel is larger than the padded ", s.g.height, "x",
              s.g.width, " input");
  s.g.out_h = (s.g.height + 2 * padding - s.g.kernel_h) / stride + 1;
  s.g.out_w = (s.g.width + 2 * padding - s.g.kernel_w) / stride + 1;
  Tensor y = Tensor::empty({s.batch, s.out_channels, s.g.out_h, s.g.out_w}, x.device());
  detail::backend(x).conv_forward(s, x.data<float>(), weight.data<float>(), y.data<float>());
  return record(y, "conv2d", {x, weight}, [x, weight, s](const Tensor& gy) {
    Tensor gx, gw;
    if (x.requires_grad()) {
      gx = Tensor::empty(x.shape(), x.device());
      detail::backend(x).conv_backward_data(s, weight.data<float>(), gy.data<float>(), gx.data<float>());
    }
    if (weight.requires_grad()) {
      gw = Tensor::empty(weight.shape(), weight.device());
      detail::backend(x).conv_backward_filter(s, x.data<float>(), gy.data<float>(), gw.data<float>());
    }
    return std::vector<Tensor>{gx, gw};
  });
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, int64_t stride, int64_t padding,
                        int64_t output_padding) {
  check_conv_input(x, weight, stride, padding, "conv_transpose2d");
  TL_CHECK_AS(ValueError, output_padding >= 0 && output_padding < stride,
              "conv_transpose2d: output_padding must lie in [0, stride), got ", output_padding, " with stride ",
              stride);
  TL_CHECK_AS(ShapeError, weight.dim(0) == x.dim(1), "conv_transpose2d: x has ", x.dim(1), " channels but the weight ",
              shape_str(weight.shape()), " expects ", weight.dim(0));
  // The convolution whose input is this op's output and whose output is x: weight [Cin, Cout, kh, kw] is its
  // filter with Cin output channels.
  ConvShape s;
  s.batch = x.dim(0);
  s.out_channels = x.dim(1);
  s.g.channels = weight.dim(1);
  s.g.kernel_h = weight.dim(2);
  s.g.kernel_w = weight.dim(3);
  s.g.stride_h = s.g.stride_w = stride;
  s.g.pad_h = s.g.pad_w = padding;
  s.g.out_h = x.dim(2);
  s.g.out_w = x.dim(3);
  s.g.height = (s.g.out_h - 1) * stride - 2 * padding + s.g.kernel_h + output_padding;
  s.g.width = (s.g.out_w - 1) * stride - 2 * padding + s.g.kernel_w + output_padding;
  TL_CHECK_AS(ShapeError, s.g.height > 0 && s.g.width > 0, "conv_transpose2d: the output of ", x.describe(), " by ",
              weight.describe(), " would be empty");
  Tensor y = Tensor::empty({s.batch, s.g.channels, s.g.height, s.g.width}, x.device());
  detail::backend(x).conv_backward_data(s, weight.data<float>(), x.data<float>(), y.data<float>());
  return record(y, "conv_transpose2d", {x, weight}, [x, weight, s](const Tensor& gy) {
    Tensor gx, gw;
    if (x.requires_grad()) {
      gx = Tensor::empty(x.shape(), x.device());
      detail::backend(x).conv_forward(s, gy.data<float>(), weight.data<float>(), gx.data<float>());
    }
    if (weight.requires_grad()) {
      gw = Tensor::empty(weight.shape(), weight.device());
      detail::backend(x).conv_backward_filter(s, gy.data<float>(), x.data<float>(), gw.data<float>());
    }
    return std::vector<Tensor>{gx, gw};
  });
}

}  // namespace tl
