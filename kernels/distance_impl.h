// Pairwise Euclidean distances, written once for both backends. Small dimensions use the direct sum of squared
// differences; large ones the Gram form |x|^2 + |y|^2 - 2 x.y, whose dot products come from a GEMM and whose
// cancellation can go slightly negative, so it is clamped at zero. Both paths give an exact zero on the diagonal
// and an exactly symmetric matrix (the upper triangle is computed, the lower one mirrored).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/base/hostdevice.h"

namespace tl::kernels {

// Above this dimension the Gram (GEMM) form is used: the direct form reads 2d floats per distance, the Gram form
// amortises them over a cache-blocked product.
constexpr int64_t kDirectDistanceMaxDim = 32;

// Sum of squared differences in increasing coordinate order (one fixed order on every device).
TL_HD float squared_distance(const float* a, const float* b, int64_t dim) {
  float sum = 0.0f;
  for (int64_t k = 0; k < dim; ++k) {
    const float diff = a[k] - b[k];
    sum += diff * diff;
  }
  return sum;
}

TL_HD float squared_norm(const float* a, int64_t dim) {
  float sum = 0.0f;
  for (int64_t k = 0; k < dim; ++k) sum += a[k] * a[k];
  return sum;
}

// Distance from the Gram form: squared norms of both points and their dot product.
TL_HD float gram_distance(float squared_norm_a, float squared_norm_b, float dot) {
  const float squared = squared_norm_a + squared_norm_b - 2.0f * dot;
  return squared > 0.0f ? sqrtf(squared) : 0.0f;
}

}  // namespace tl::kernels
