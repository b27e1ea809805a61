// The scatter of persistence-diagram gradients onto point coordinates, written once for both backends.
//
// A diagram value is the length D_ij = |x_i - x_j| of a critical edge, so dL/dD_ij = g moves both ends:
// dL/dx_i += g (x_i - x_j) / D_ij and dL/dx_j += g (x_j - x_i) / D_ij (zero where D_ij = 0, a kink of the norm).
// The edges touching each point are listed per point (compressed rows, in a fixed order), each with
// w = g / D_ij, so a point's gradient is the sum over its list of w (x_i - x_other): one writer per coordinate,
// no atomics, and the same bits on every run and on both backends.
#pragma once

#include <cstdint>

#include "core/base/hostdevice.h"

namespace tl::kernels {

struct IncidentEdge {
  int32_t other = 0;    // the edge's other end (a row of the points array)
  float weight = 0.0f;  // dL/dD_ij / D_ij
};

// dL/dx[point, k]: the sum over the point's incident edges [begin, end) in list order.
TL_HD float incident_gradient(const float* points, int64_t dim, int64_t point, int64_t k, const IncidentEdge* begin,
                              const IncidentEdge* end) {
  const float x = points[point * dim + k];
  float sum = 0.0f;
  for (const IncidentEdge* e = begin; e != end; ++e) sum += e->weight * (x - points[int64_t(e->other) * dim + k]);
  return sum;
}

}  // namespace tl::kernels
