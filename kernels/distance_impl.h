// Pairwise Euclidean distances, written once for both backends.
//
// Small dimensions use the direct sum of squared differences. Large ones use the Gram form
// |x|^2 + |y|^2 - 2 x.y, all three terms from one GEMM (the squared norms are its diagonal), on the cloud centred
// at its mean, so that a translation changes the distances by rounding only: each coordinate's mean is summed in double
// in increasing point order and rounded to float once, and a centred coordinate is x - mean in float. The Gram form's
// error is a few roundings of |x|^2 + |y|^2 (x, y centred); where the squared distance falls below kGramTrustedFraction
// of that sum, the cancellation would show, and the distance is recomputed by the direct sum over the centred
// coordinates. Every other Gram distance therefore carries at most 1 / kGramTrustedFraction times the Gram error
// relative to its square. Both paths give an exact zero on the diagonal and an exactly symmetric matrix (the
// upper triangle is computed, the lower one mirrored).
//
// Overflow: every squared distance of a cloud whose points lie within kMaxCentroidDistance of its mean stays 15 %
// below FLT_MAX, on both paths (|x - y| <= 2 max |x - mean|); the persistence API refuses clouds beyond it. Such a
// cloud's largest distance is at least that far from overflowing: within a factor of 2 of sqrt(FLT_MAX) = 1.8e19.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/base/hostdevice.h"

namespace tl::kernels {

// Above this dimension the Gram (GEMM) form is used: the direct form reads 2d floats per distance, the Gram form
// amortises them over a cache-blocked product.
constexpr int64_t kDirectDistanceMaxDim = 32;

// A Gram distance is kept when its square is at least this fraction of |x|^2 + |y|^2 (centred points).
constexpr float kGramTrustedFraction = 0.125f;

// (2 r)^2 <= 0.85 FLT_MAX for points within r of their cloud's mean: room for the rounding of the float sums.
constexpr double kMaxCentroidDistance = 8.5e18;

// Sum of squared differences in increasing coordinate order (one fixed order on every device).
TL_HD float squared_distance(const float* a, const float* b, int64_t dim) {
  float sum = 0.0f;
  for (int64_t k = 0; k < dim; ++k) {
    const float diff = a[k] - b[k];
    sum += diff * diff;
  }
  return sum;
}

// A cloud's mean coordinate from the coordinate's sum over its n points (in double, in increasing point order),
// rounded to float once; a centred coordinate is then x - mean in float.
TL_HD float mean_coordinate(double coordinate_sum, int64_t n) {
  return static_cast<float>(coordinate_sum / static_cast<double>(n));
}

// The squared distance of two centred points from their squared norms and dot product (Gram matrix entries), or -1
// where the form cancels (or a term overflowed to NaN): those are recomputed by squared_distance.
TL_HD float trusted_gram_squared_distance(float squared_norm_a, float squared_norm_b, float dot) {
  const float norms = squared_norm_a + squared_norm_b;
  const float squared = norms - 2.0f * dot;
  return squared >= kGramTrustedFraction * norms ? squared : -1.0f;
}

// Distance between centred points a and b: the Gram form where it is trusted, the direct sum elsewhere.
TL_HD float centred_gram_distance(const float* a, const float* b, int64_t dim, float squared_norm_a,
                                  float squared_norm_b, float dot) {
  const float squared = trusted_gram_squared_distance(squared_norm_a, squared_norm_b, dot);
  return sqrtf(squared >= 0.0f ? squared : squared_distance(a, b, dim));
}

}  // namespace tl::kernels
