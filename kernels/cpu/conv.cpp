// CPU convolution: im2col over the whole batch into one [C kh kw, batch oh ow] matrix, one GEMM against the
// weights, and the batch/channel axes swapped around it; the adjoints run the same pieces backwards. Every sum
// has a fixed order, so results are the same bits on every run.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/cpu_kernels.h"

namespace tl::kernels::cpu {
namespace {

void im2col_batch(const ConvGeometry& g, const float* images, int64_t count, float* columns) {
  const int64_t rows = g.column_rows(), cols = g.column_cols();
#pragma omp parallel for collapse(2) schedule(static) if (count * rows * cols >= kParallelGrain)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < count; ++k) im2col_row(g, images + k * g.image_size(), r, columns + (r * count + k) * cols);
}

void col2im_batch(const ConvGeometry& g, const float* columns, int64_t count, float* images) {
  const int64_t size = g.image_size(), cols = g.column_cols();
#pragma omp parallel for schedule(static) if (count * size >= kParallelGrain)
  for (int64_t k = 0; k < count; ++k) {
    float* image = images + k * size;
    std::fill(image, image + size, 0.0f);
    col2im_accumulate(g, columns + k * cols, count * cols, image);
  }
}

// [a, b, inner] -> [b, a, inner]: between image-major [batch, channels, pixels] and the channel-major
// [channels, batch * pixels] matrices the GEMMs use.
void swap_leading_axes(const float* src, int64_t a, int64_t b, int64_t inner, float* dst) {
#pragma omp parallel for collapse(2) schedule(static) if (a * b * inner >= kParallelGrain)
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      std::memcpy(dst + (j * a + i) * inner, src + (i * b + j) * inner, static_cast<size_t>(inner) * sizeof(float));
}

// Two scratch buffers per thread that grow to the largest request and stay: the column matrices of a conv VAE
// layer are megabytes, and fresh allocations of that size cost a page fault per 4 KiB on every call.
float* scratch(int slot, int64_t count) {
  thread_local std::vector<float> buffers[2];
  if (static_cast<int64_t>(buffers[slot].size()) < count) buffers[slot].resize(static_cast<size_t>(count));
  return buffers[slot].data();
}

}  // namespace

void conv_forward(const ConvShape& s, const float* x, const float* w, float* y) {
  const int64_t rows = s.g.column_rows(), pixels = s.g.column_cols(), wide = s.batch * pixels;
  float* const columns = scratch(0, rows * wide);
  float* const channel_major = scratch(1, s.out_channels * wide);
  im2col_batch(s.g, x, s.batch, columns);
  gemm(false, false, s.out_channels, wide, rows, 1.0f, w, columns, 0.0f, channel_major);
  swap_leading_axes(channel_major, s.out_channels, s.batch, pixels, y);
}

void conv_backward_data(const ConvShape& s, const float* w, const float* dy, float* dx) {
  const int64_t rows = s.g.column_rows(), pixels = s.g.column_cols(), wide = s.batch * pixels;
  float* const dy_channel_major = scratch(1, s.out_channels * wide);
  float* const columns = scratch(0, rows * wide);
  swap_leading_axes(dy, s.batch, s.out_channels, pixels, dy_channel_major);
  gemm(true, false, rows, wide, s.out_channels, 1.0f, w, dy_channel_major, 0.0f, columns);
  col2im_batch(s.g, columns, s.batch, dx);
}

void conv_backward_filter(const ConvShape& s, const float* x, const float* dy, float* dw) {
  const int64_t rows = s.g.column_rows(), pixels = s.g.column_cols(), wide = s.batch * pixels;
  float* const dy_channel_major = scratch(1, s.out_channels * wide);
  float* const columns = scratch(0, rows * wide);
  swap_leading_axes(dy, s.batch, s.out_channels, pixels, dy_channel_major);
  im2col_batch(s.g, x, s.batch, columns);
  gemm(false, true, s.out_channels, rows, wide, 1.0f, dy_channel_major, columns, 0.0f, dw);
}

}  // namespace tl::kernels::cpu
