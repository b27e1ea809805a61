// The index arithmetic of 2-D convolution, written once for CPU and GPU: im2col (the patches of a batch of images
// as the columns of one matrix, so a convolution of the whole batch is one GEMM) and its adjoint col2im, written
// as a gather (each image element sums the column entries that read it, in a fixed order) so it needs no atomics
// and is deterministic.
#pragma once

#include <cstdint>

#include "core/hostdevice.h"

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

// columns[row, col] for row = (c, i, j), col = (oy, ox): image[c, oy * stride_h - pad_h + i, ox * stride_w - pad_w + j],
// 0 outside the image.
TL_HD float im2col_at(const ConvGeometry& g, const float* image, int64_t row, int64_t col) {
  const int64_t j = row % g.kernel_w, i = (row / g.kernel_w) % g.kernel_h, c = row / (g.kernel_w * g.kernel_h);
  const int64_t ox = col % g.out_w, oy = col / g.out_w;
  const int64_t y = oy * g.stride_h - g.pad_h + i, x = ox * g.stride_w - g.pad_w + j;
  return (y >= 0 && y < g.height && x >= 0 && x < g.width) ? image[(c * g.height + y) * g.width + x] : 0.0f;
}

// image[c, y, x] = sum of the column entries that im2col copies from (c, y, x): the adjoint of im2col, in
// increasing (i, j) order. `columns` points at the image's first column; rows are row_stride apart.
TL_HD float col2im_at(const ConvGeometry& g, const float* columns, int64_t row_stride, int64_t index) {
  const int64_t x = index % g.width, y = (index / g.width) % g.height, c = index / (g.width * g.height);
  float total = 0.0f;
  for (int64_t i = 0; i < g.kernel_h; ++i) {
    const int64_t ty = y + g.pad_h - i;
    if (ty < 0 || ty % g.stride_h != 0) continue;
    const int64_t oy = ty / g.stride_h;
    if (oy >= g.out_h) continue;
    for (int64_t j = 0; j < g.kernel_w; ++j) {
      const int64_t tx = x + g.pad_w - j;
      if (tx < 0 || tx % g.stride_w != 0) continue;
      const int64_t ox = tx / g.stride_w;
      if (ox >= g.out_w) continue;
      total += columns[((c * g.kernel_h + i) * g.kernel_w + j) * row_stride + oy * g.out_w + ox];
    }
  }
  return total;
}

// The same two maps as loops without per-entry index arithmetic, for the CPU (the GPU runs one thread per entry
// of the forms above; a unit test holds the two forms equal, bit for bit).
// im2col of one row (c, i, j) of one image: out[oy * out_w + ox].
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

// col2im of one image as a scatter over its rows in increasing (c, i, j) order: every pixel receives the same
// additions in the same order as col2im_at gives it. `image` must start at zero.
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
