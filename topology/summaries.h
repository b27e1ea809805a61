// Differentiable scalar summaries of a persistence diagram (docs/methods.md §2), built from tensor ops so their
// gradients flow back into the diagram's births and deaths. Diagrams are [m, 2] (birth, death) tensors of
// finite pairs, as topology/differentiable.h returns them.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace tl::topology {

// The bar lengths d - b, as an [m] tensor.
Tensor bar_lengths(const Tensor& diagram);

// Total persistence of degree q: sum (d - b)^q (q >= 1).
Tensor total_persistence(const Tensor& diagram, float q = 1.0f);

// Persistent entropy over the bars longer than delta (TopoGen's delta-selective form; delta = 0 keeps every bar
// of positive length): E = -sum (l_i / L) log(l_i / L), L = sum l_i. 0 when no bar is selected.
Tensor persistent_entropy(const Tensor& diagram, float delta = 0.0f);

// Persistence landscape on a grid: out[k, j] = the (k+1)-th largest of max(0, min(t_j - b, d - t_j)) over the
// bars, k < levels; a [levels, grid] tensor. Each entry follows one bar's rising or falling side, so the gradient
// is -1 on that bar's birth or +1 on its death (0 where the entry is 0).
Tensor persistence_landscape(const Tensor& diagram, const std::vector<float>& grid, int levels);

// Betti curve on a grid: #{bars with b <= t_j < d}, exact (a metric; no gradient), as a [grid] tensor.
Tensor betti_curve(const Tensor& diagram, const std::vector<float>& grid);

// The smoothed Betti curve for losses: sum over bars of sigmoid((t_j - b) / tau) sigmoid((d - t_j) / tau).
Tensor smoothed_betti_curve(const Tensor& diagram, const std::vector<float>& grid, float tau);

// Reininghaus et al.'s scale-space kernel between diagrams F and G (Reininghaus et al., CVPR 2015; TopoGen,
// docs/methods.md §3d): k(F, G) = 1/(8 pi sigma) sum_{p in F, q in G} exp(-|p - q|^2 / (8 sigma)) - exp(-|p - q'|^2 /
// (8 sigma)), q' = q mirrored at the diagonal. Differentiable in both diagrams.
Tensor reininghaus_kernel(const Tensor& f, const Tensor& g, float sigma = 0.05f);
// The induced squared distance k(F, F) + k(G, G) - 2 k(F, G) (TopoGen's code drops the constant k(G, G)).
Tensor reininghaus_distance_squared(const Tensor& f, const Tensor& g, float sigma = 0.05f);

// TopoGen's 4SGDE density of an H0 diagram at the points x: E4(D, x) = s sum (d - b)^4 exp(-((d - x) / sigma)^2).
Tensor sgde4(const Tensor& diagram, const std::vector<float>& x, float sigma = 0.2f, float scale = 0.002f);

}  // namespace tl::topology
