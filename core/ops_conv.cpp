// Convolution ops: conv2d and conv_transpose2d by im2col / col2im (kernels/conv_impl.h) over the whole batch and
// one GEMM per product; each op's backward has the other's shape of computation. No step accumulates in an order
// that depends on scheduling, so gradients are the same bits on every run.
#include "core/ops_internal.h"

namespace tl {
namespace {

using kernels::ConvGeometry;

void check_conv_input(const Tensor& x, const Tensor& weight, const char* op) {
  check_float(x, op);
  check_float(weight, op);
  check_same_device(x, weight, op);
  TL_CHECK_AS(ShapeError, x.rank() == 4 && weight.rank() == 4, op, " expects x [N, C, H, W] and a 4-D weight, got ",
              x.describe(), " and ", weight.describe());
}

void check_conv_options(int64_t stride, int64_t padding, const char* op) {
  TL_CHECK_AS(ValueError, stride >= 1 && padding >= 0, op, ": stride must be >= 1 and padding >= 0, got stride ",
              stride, ", padding ", padding);
}

// [a, b, inner] -> [b, a, inner] (the GEMMs work on channel-major [channels, batch * pixels] matrices).
Tensor swap_leading_axes(const Tensor& t, int64_t a, int64_t b, int64_t inner) {
  Tensor out = Tensor::empty({b, a, inner}, t.device());
  kernels::AxisBlock block;
  block.outer = b;
  block.inner = inner;
  block.count = 1;
  block.src_axis = 1;
  block.dst_axis = a;
  for (int64_t i = 0; i < a; ++i) {
    block.dst_start = i;
    detail::backend(t).copy_block(t.data<float>() + i * b * inner, out.data<float>(), block);
  }
  return out;
}

void gemm(const Tensor& like, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const Tensor& a,
          const Tensor& b, Tensor& c) {
  detail::backend(like).gemm(trans_a, trans_b, m, n, k, 1.0f, a.data<float>(), b.data<float>(), 0.0f, c.data<float>());
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, int64_t stride, int64_t padding) {
  check_conv_input(x, weight, "conv2d");
  check_conv_options(stride, padding, "conv2d");
  const int64_t batch = x.dim(0), out_channels = weight.dim(0);
  ConvGeometry g{x.dim(1), x.dim(2), x.dim(3), weight.dim(2), weight.dim(3), stride, stride, padding, padding, 0, 0};
  TL_CHECK_AS(ShapeError, weight.dim(1) == g.channels, "conv2d: x has ", g.channels, " channels but the weight ",
              shape_str(weight.shape()), " expects ", weight.dim(1));
  TL_CHECK_AS(ShapeError, g.height + 2 * padding >= g.kernel_h && g.width + 2 * padding >= g.kernel_w,
              "conv2d: the ", g.kernel_h, "x", g.kernel_w, " kernel is larger than the padded ", g.height, "x",
              g.width, " input");
  g.out_h = (g.height + 2 * padding - g.kernel_h) / stride + 1;
  g.out_w = (g.width + 2 * padding - g.kernel_w) / stride + 1;
  const int64_t rows = g.column_rows(), pixels = g.column_cols();
  Tensor columns = Tensor::empty({rows, batch * pixels}, x.device());
  detail::backend(x).im2col(g, x.data<float>(), columns.data<float>(), batch);
  Tensor channel_major = Tensor::empty({out_channels, batch * pixels}, x.device());
  gemm(x, false, false, out_channels, batch * pixels, rows, weight, columns, channel_major);
  const Tensor y = swap_leading_axes(channel_major, out_channels, batch, pixels)
                       .view_as_shape({batch, out_channels, g.out_h, g.out_w});
  return record(y, "conv2d", {x, weight}, [x, weight, columns, g, batch, out_channels](const Tensor& gy) {
    const int64_t r = g.column_rows(), p = g.column_cols();
    const Tensor gy_channel_major = swap_leading_axes(gy, batch, out_channels, p);
    Tensor gx, gw;
    if (x.requires_grad()) {
      Tensor column_grad = Tensor::empty({r, batch * p}, x.device());
      gemm(x, true, false, r, batch * p, out_channels, weight, gy_channel_major, column_grad);
      gx = Tensor::empty(x.shape(), x.device());
      detail::backend(x).col2im(g, column_grad.data<float>(), gx.data<float>(), batch);
    }
    if (weight.requires_grad()) {
      gw = Tensor::empty(weight.shape(), weight.device());
      gemm(x, false, true, out_channels, r, batch * p, gy_channel_major, columns, gw);
    }
    return std::vector<Tensor>{gx, gw};
  });
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, int64_t stride, int64_t padding, int64_t output_padding) {
  check_conv_input(x, weight, "conv_transpose2d");
  check_conv_options(stride, padding, "conv_transpose2d");
  TL_CHECK_AS(ValueError, output_padding >= 0 && output_padding < stride,
              "conv_transpose2d: output_padding must lie in [0, stride), got ", output_padding, " with stride ", stride);
  const int64_t batch = x.dim(0), in_channels = x.dim(1);
  TL_CHECK_AS(ShapeError, weight.dim(0) == in_channels, "conv_transpose2d: x has ", in_channels,
              " channels but the weight ", shape_str(weight.shape()), " expects ", weight.dim(0));
  // The geometry of the convolution whose input is this op's output and whose output is x's grid.
  ConvGeometry g;
  g.channels = weight.dim(1);
  g.kernel_h = weight.dim(2);
  g.kernel_w = weight.dim(3);
  g.stride_h = g.stride_w = stride;
  g.pad_h = g.pad_w = padding;
  g.out_h = x.dim(2);
  g.out_w = x.dim(3);
  g.height = (g.out_h - 1) * stride - 2 * padding + g.kernel_h + output_padding;
  g.width = (g.out_w - 1) * stride - 2 * padding + g.kernel_w + output_padding;
  TL_CHECK_AS(ShapeError, g.height > 0 && g.width > 0, "conv_transpose2d: the output of ", x.describe(), " by ",
              weight.describe(), " would be empty");
  const int64_t rows = g.column_rows(), pixels = g.column_cols();
  const Tensor x_channel_major = swap_leading_axes(x, batch, in_channels, pixels);
  Tensor columns = Tensor::empty({rows, batch * pixels}, x.device());
  gemm(x, true, false, rows, batch * pixels, in_channels, weight, x_channel_major, columns);
  Tensor y = Tensor::empty({batch, g.channels, g.height, g.width}, x.device());
  detail::backend(x).col2im(g, columns.data<float>(), y.data<float>(), batch);
  return record(y, "conv_transpose2d", {x, weight}, [x, weight, x_channel_major, g, batch, in_channels](const Tensor& gy) {
    const int64_t r = g.column_rows(), p = g.column_cols();
    Tensor gy_columns = Tensor::empty({r, batch * p}, x.device());
    detail::backend(x).im2col(g, gy.data<float>(), gy_columns.data<float>(), batch);
    Tensor gx, gw;
    if (x.requires_grad()) {
      Tensor gx_channel_major = Tensor::empty({in_channels, batch * p}, x.device());
      gemm(x, false, false, in_channels, batch * p, r, weight, gy_columns, gx_channel_major);
      gx = swap_leading_axes(gx_channel_major, in_channels, batch, p).view_as_shape(x.shape());
    }
    if (weight.requires_grad()) {
      gw = Tensor::empty(weight.shape(), weight.device());
      gemm(x, false, true, in_channels, r, batch * p, x_channel_major, gy_columns, gw);
    }
    return std::vector<Tensor>{gx, gw};
  });
}

}  // namespace tl
