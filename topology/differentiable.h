// Persistence diagrams as differentiable tensors. Every finite birth and death is the length of a critical edge,
// b = D[birth_edge], d = D[death_edge], so dL/db and dL/dd flow back onto those distance entries and, for a point
// cloud, onto the coordinates of the edges' ends (kernels/diagram_gradient_impl.h: a per-point scatter, the same
// bits on every run). The gradient exists almost everywhere: where two edges tie in length the pairing (and so
// the gradient) jumps; the filtration order of kernels/persistence_impl.h picks one side, always the same.
#pragma once

#include <vector>

#include "core/tensor.h"
#include "topology/persistence.h"

namespace tl::topology {

struct DifferentiableDiagrams {
  // diagrams[k]: [m_k, 2] float32 rows (birth, death) of H_k's finite pairs, in the order of
  // result.diagrams[k].pairs, on the input's device; differentiable with respect to the input (H0 births are the
  // constant 0). Essential bars are left out; they are in result.
  std::vector<Tensor> diagrams;
  PersistenceResult result;  // the pairs with their critical edges, the essential bars, the thresholds used
};

// From [n, d] points: gradients reach the coordinates.
DifferentiableDiagrams persistence_diagrams(const Tensor& points, const PersistenceOptions& options = {});
// From an [n, n] distance matrix: dL/dD_ij lands half on [i, j] and half on [j, i].
DifferentiableDiagrams persistence_diagrams_from_distances(const Tensor& distances,
                                                           const PersistenceOptions& options = {});
// Many clouds in one persistence call (persistence_batch), one result per cloud.
std::vector<DifferentiableDiagrams> persistence_diagrams_batch(const std::vector<Tensor>& clouds,
                                                               const PersistenceOptions& options = {});

// |x_u - x_v| for each edge of the [n, d] points, as an [edges] tensor; its backward is the same scatter (zero
// gradient where two points coincide).
Tensor edge_lengths(const Tensor& points, const std::vector<Edge>& edges);

}  // namespace tl::topology
