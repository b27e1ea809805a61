// Principal-component scores of a point cloud: TALSR's PCA reference (topology/regularizers.h) and a dense
// symmetric eigen-solver (orthogonal iteration) written for it.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace tl::topology {

// The [n, k] principal-component scores of the [n, d] points (centred; k <= min(n, d)), from the top-k
// eigenvectors of the n x n Gram matrix by orthogonal iteration in double precision. A constant: no gradient.
Tensor pca_scores(const Tensor& points, int64_t k);

}  // namespace tl::topology
