// Distances between persistence diagrams with their optimal matchings (docs/methods.md §2).
//
// A matching pairs points of diagram A with points of diagram B; any point may instead go to the diagonal.
// Ground metric L_inf (the default, as in the seeds): |p - q| = max(|b_p - b_q|, |d_p - d_q|), and a point's
// distance to the diagonal is (d - b) / 2; L_2: the Euclidean distance, and (d - b) / sqrt(2) to the diagonal.
//   p-Wasserstein W_p = (min over matchings of sum |p - eta(p)|^p)^(1/p), p >= 1;
//   bottleneck   d_B = min over matchings of max |p - eta(p)|.
// W_p is solved exactly: by dynamic programming over sorted deaths when every point of both diagrams has the
// same birth (H0 diagrams; the optimal matching is then non-crossing), otherwise by the Hungarian algorithm on
// each connected component of the pairs that beat sending both points to the diagonal (no other pair can be in
// an optimal matching). d_B by binary search over the candidate costs with a
// Hopcroft-Karp perfect-matching test. Costs are accumulated in double precision.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace tl::topology {

enum class GroundMetric { LInf, L2 };

struct DiagramMatching {
  double distance = 0.0;  // W_p or d_B
  // (i, j): point i of A with point j of B; j = -1: i goes to the diagonal; i = -1: j goes to the diagonal.
  // Every point of both diagrams occurs exactly once.
  std::vector<std::pair<int32_t, int32_t>> pairs;
};

// Diagrams as flat (birth, death) arrays of 2 m floats.
DiagramMatching wasserstein_matching(const std::vector<float>& a, const std::vector<float>& b, double p = 1.0,
                                     GroundMetric metric = GroundMetric::LInf);
DiagramMatching bottleneck_matching(const std::vector<float>& a, const std::vector<float>& b,
                                    GroundMetric metric = GroundMetric::LInf);

// The cost of matching a with b, or (b = nullptr) a with the diagonal.
double matching_cost(const float* a, const float* b, GroundMetric metric);

// Differentiable versions over [m, 2] and [k, 2] diagram tensors (same device; m or k may be 0): a rank-0
// tensor whose gradient flows through the optimal matching into both diagrams' births and deaths. L_inf picks
// the coordinate that attains the maximum (the death on a tie); d_B's gradient goes through the one matched
// pair that attains it.
Tensor wasserstein_distance(const Tensor& a, const Tensor& b, double p = 1.0, GroundMetric metric = GroundMetric::LInf);
Tensor bottleneck_distance(const Tensor& a, const Tensor& b, GroundMetric metric = GroundMetric::LInf);

}  // namespace tl::topology
