// 2-D convolution: its geometry (shared by the CPU kernels and the cuDNN calls) and, for the CPU, im2col (the
// patches of a batch of images as the columns of one matrix, so a convolution of the whole batch is one GEMM)
// and its adjoint col2im.
#pragma once

#include <cstdint>

#include "core/base/hostdevice.h"

namespace tl::kernels {

// Images of `channels` x height x width convolved by kernel_h x kernel_w patches with stride and zero padding.
// For a batch of `count` images the columns matrix is [channels * kernel_h * kernel_w, count * out_h * out_w],
// row-major: column k * out_h * out_w + (oy * out_w + ox) holds image k's patch at (oy, ox).
struct ConvGeometry {
  int64_t channels = 1, height = 1, width = 1;
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t out_h = 1, out_w = 1;

  TL_HD int64_t column_rows() const { return channels * kernel_h * kernel_w; }
  TL_HD int64_t column_cols() const { return out_h * out_w; }
  TL_HD int64_t image_size() const { return channels * height * width; }
};

// A batched convolution: x [batch, channels, height, width] * w [out_channels, channels, kernel_h, kernel_w]
// -> y [batch, out_channels, out_h, out_w] (cross-correlation, as in PyTorch and cuDNN).
struct ConvShape {
  ConvGeometry g;
  int64_t batch = 1;
  int64_t out_channels = 1;
};

// im2col of one row (c, i, j) of one image: out[oy * out_w + ox] = image[c, oy * stride_h - pad_h + i,
// ox * stride_w - pad_w + j], 0 outside the image.
TL_HD void im2col_row(const ConvGeometry& g, const float* image, int64_t row, float* out) {
  const int64_t j = row % g.kernel_w, i = (row / g.kernel_w) % g.kernel_h, c = row / (g.kernel_w * g.kernel_h);
  const float* plane = image + c * g.height * g.width;
  for (int64_t oy = 0; oy < g.out_h; ++oy) {
    const int64_t y = oy * g.stride_h - g.pad_h + i;
    float* line = out + oy * g.out_w;
    if (y < 0 || y >= g.height) {
      for (int64_t ox = 0; ox < g.out_w; ++ox) line[ox] = 0.0f;
      continue;
    }
    for (int64_t ox = 0; ox < g.out_w; ++ox) {
      const int64_t x = ox * g.stride_w - g.pad_w + j;
      line[ox] = (x >= 0 && x < g.width) ? plane[y * g.width + x] : 0.0f;
    }
  }
}

// col2im, the adjoint of im2col, for one image: every column entry is added to the pixel im2col read it from,
// rows in increasing (c, i, j) order (a fixed order: deterministic). `columns` points at the image's first
// column, rows are row_stride apart; `image` must start at zero.
TL_HD void col2im_accumulate(const ConvGeometry& g, const float* columns, int64_t row_stride, float* image) {
  for (int64_t row = 0; row < g.column_rows(); ++row) {
    const int64_t j = row % g.kernel_w, i = (row / g.kernel_w) % g.kernel_h, c = row / (g.kernel_w * g.kernel_h);
    float* plane = image + c * g.height * g.width;
    const float* in = columns + row * row_stride;
    for (int64_t oy = 0; oy < g.out_h; ++oy) {
      const int64_t y = oy * g.stride_h - g.pad_h + i;
      if (y < 0 || y >= g.height) continue;
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        const int64_t x = ox * g.stride_w - g.pad_w + j;
        if (x >= 0 && x < g.width) plane[y * g.width + x] += in[oy * g.out_w + ox];
      }
    }
  }
}

}  // namespace tl::kernels
