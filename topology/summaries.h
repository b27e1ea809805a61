// Differentiable scalar summaries of a persistence diagram (METHODS.md §2), built from tensor ops so their
// gradients flow back into the diagram's births and deaths. Diagrams are [m, 2] (birth, death) tensors of
// finite pairs, as topology/differentiable.h returns them.
#pragma once

#include "core/tensor.h"

namespace tl::topology {

// The bar lengths d - b, as an [m] tensor.
Tensor bar_lengths(const Tensor& diagram);

// Total persistence of degree q: sum (d - b)^q (q >= 1).
Tensor total_persistence(const Tensor& diagram, float q = 1.0f);

// Persistent entropy over the bars longer than delta (TopoGen's delta-selective form; delta = 0 keeps every bar
// of positive length): E = -sum (l_i / L) log(l_i / L), L = sum l_i. 0 when no bar is selected.
Tensor persistent_entropy(const Tensor& diagram, float delta = 0.0f);

}  // namespace tl::topology
