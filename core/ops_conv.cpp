// Convolution ops: conv2d and conv_transpose2d by im2col / col2im (kernels/conv_impl.h) and one GEMM per image;
// each one's backward is the other's forward shape of computation. Gradients accumulate over the batch in image
// order, so they are the same bits on every run.
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

// GEMMs over a batch: C_k = op(A_k) op(B_k) (+ C when accumulate), with per-image strides (0: shared operand).
struct BatchedGemm {
  bool trans_a, trans_b;
  int64_t m, n, k;
  int64_t stride_a, stride_b, stride_c;
};
void run_gemms(const kernels::Backend& backend, const BatchedGemm& b, int64_t count, const float* a, const float* bm,
               float* c, bool accumulate_over_batch) {
  for (int64_t i = 0; i < count; ++i) {
    const float beta = accumulate_over_batch && i > 0 ? 1.0f : 0.0f;
    backend.gemm(b.trans_a, b.trans_b, b.m, b.n, b.k, 1.0f, a + i * b.stride_a, bm + i * b.stride_b, beta,
                 c + i * b.stride_c);
  }
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, int64_t stride, int64_t padding) {
  check_conv_input(x, weight, "conv2d");
  check_conv_options(stride, padding, "conv2d");
  const int64_t batch = x.dim(0), out_channels = weight.dim(0);
  ConvGeometry g{x.dim(1), x.dim(2), x.dim(3), weight.dim(2), weight.dim(3), stride, stride, padding, padding, 0, 0};
  TL_CHECK_AS(ShapeError, weight.dim(1) == g.channels, "conv2d: x has ", g.channels, " channels but the weight ",
              shape_str(weight.shape()), " expects ", weight.dim(1));
  g.out_h = (g.height + 2 * padding - g.kernel_h) / stride + 1;
  g.out_w = (g.width + 2 * padding - g.kernel_w) / stride + 1;
  TL_CHECK_AS(ShapeError, g.height + 2 * padding >= g.kernel_h && g.width + 2 * padding >= g.kernel_w,
              "conv2d: the ", g.kernel_h, "x", g.kernel_w, " kernel is larger than the padded ", g.height, "x",
              g.width, " input");
  const int64_t rows = g.column_rows(), cols = g.column_cols();
  const kernels::Backend& backend = detail::backend(x);
  Tensor columns = Tensor::empty({batch, rows, cols}, x.device());
  backend.im2col(g, x.data<float>(), columns.data<float>(), batch);
  Tensor y = Tensor::empty({batch, out_channels, g.out_h, g.out_w}, x.device());
  run_gemms(backend, {false, false, out_channels, cols, rows, 0, rows * cols, out_channels * cols}, batch,
            weight.data<float>(), columns.data<float>(), y.data<float>(), false);
  return record(y, "conv2d", {x, weight}, [x, weight, columns, g, batch, out_channels](const Tensor& gy) {
    const kernels::Backend& be = detail::backend(x);
    const int64_t r = g.column_rows(), c = g.column_cols();
    Tensor gx, gw;
    if (x.requires_grad()) {
      Tensor column_grad = Tensor::empty({batch, r, c}, x.device());
      run_gemms(be, {true, false, r, c, out_channels, 0, out_channels * c, r * c}, batch, weight.data<float>(),
                gy.data<float>(), column_grad.data<float>(), false);
      gx = Tensor::empty(x.shape(), x.device());
      be.col2im(g, column_grad.data<float>(), gx.data<float>(), batch);
    }
    if (weight.requires_grad()) {
      gw = Tensor::empty(weight.shape(), weight.device());
      run_gemms(be, {false, true, out_channels, r, c, out_channels * c, r * c, 0}, batch, gy.data<float>(),
                columns.data<float>(), gw.data<float>(), true);
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
  const int64_t rows = g.column_rows(), cols = g.column_cols();
  const kernels::Backend& backend = detail::backend(x);
  Tensor columns = Tensor::empty({batch, rows, cols}, x.device());
  run_gemms(backend, {true, false, rows, cols, in_channels, 0, in_channels * cols, rows * cols}, batch,
            weight.data<float>(), x.data<float>(), columns.data<float>(), false);
  Tensor y = Tensor::empty({batch, g.channels, g.height, g.width}, x.device());
  backend.col2im(g, columns.data<float>(), y.data<float>(), batch);
  return record(y, "conv_transpose2d", {x, weight}, [x, weight, g, batch, in_channels](const Tensor& gy) {
    const kernels::Backend& be = detail::backend(x);
    const int64_t r = g.column_rows(), c = g.column_cols();
    Tensor gy_columns = Tensor::empty({batch, r, c}, x.device());
    be.im2col(g, gy.data<float>(), gy_columns.data<float>(), batch);
    Tensor gx, gw;
    if (x.requires_grad()) {
      gx = Tensor::empty(x.shape(), x.device());
      run_gemms(be, {false, false, in_channels, c, r, 0, r * c, in_channels * c}, batch, weight.data<float>(),
                gy_columns.data<float>(), gx.data<float>(), false);
    }
    if (weight.requires_grad()) {
      gw = Tensor::empty(weight.shape(), weight.device());
      run_gemms(be, {false, true, in_channels, r, c, in_channels * c, r * c, 0}, batch, x.data<float>(),
                gy_columns.data<float>(), gw.data<float>(), true);
    }
    return std::vector<Tensor>{gx, gw};
  });
}

}  // namespace tl
