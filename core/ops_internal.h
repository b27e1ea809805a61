// Helpers shared by the op implementation files (not part of the public API).
#pragma once

#include "core/autograd.h"
#include "core/ops.h"
#include "kernels/backend.h"

namespace tl::detail {

inline const kernels::Backend& backend(const Tensor& t) {
  return kernels::backend_for(t.device());
}

// Sums t over its broadcast dimensions down to `shape` (the reverse of broadcasting); no history.
Tensor sum_to(const Tensor& t, const Shape& shape);
// Broadcasts t up to `shape`; no history.
Tensor expand_to(const Tensor& t, const Shape& shape);
// Reduces per-element loss terms as `reduction` says.
Tensor reduce_loss(const Tensor& terms, Reduction reduction);

}  // namespace tl::detail
