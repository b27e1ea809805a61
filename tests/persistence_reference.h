// Brute-force persistence references for the tests: Kruskal's algorithm for H0 and the textbook boundary-matrix
// reduction (homology, every edge and triangle, no clearing or shortcuts) for H1. Independent of the engine's
// algorithms; they share only the filtration order of kernels/persistence_impl.h, which fixes the pairing.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/persistence_impl.h"

namespace tl::testing::reference {

struct Pair {
  float birth = 0.0f, death = 0.0f;
  kernels::Edge birth_edge, death_edge;
};

// The n-1 spanning-tree pairs of a connected cloud, in filtration order.
std::vector<Pair> kruskal_h0(const std::vector<float>& dist, int64_t n);

// H1 pairs with death > birth; for small n only (O(triangles^2 * edges / 64)).
std::vector<Pair> boundary_reduction_h1(const std::vector<float>& dist, int64_t n);

}  // namespace tl::testing::reference
