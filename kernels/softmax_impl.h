// Row-wise log-softmax, written once for CPU and GPU: y = x - max(x) - log(sum(exp(x - max(x)))), the sum in
// double, so no row overflows or underflows however large its logits.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/base/hostdevice.h"

namespace tl::kernels {

TL_HD void log_softmax_row(const float* x, float* y, int64_t cols) {
  float largest = x[0];
  for (int64_t c = 1; c < cols; ++c) largest = x[c] > largest ? x[c] : largest;
  double total = 0.0;
  for (int64_t c = 0; c < cols; ++c) total += ::exp(static_cast<double>(x[c] - largest));
  const float shift = largest + static_cast<float>(::log(total));
  for (int64_t c = 0; c < cols; ++c) y[c] = x[c] - shift;
}

}  // namespace tl::kernels
