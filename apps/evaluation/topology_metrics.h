// Topology metrics of the evaluation tool: how far apart the Vietoris-Rips topology of two families of point clouds
// is, batch by batch (a data batch and its latent codes: TALSR, ../shared/METHODS.md §3a; a real batch and a
// generated batch: TGLML's PDD, Betti-curve distance and topological accuracy, §3b).
//
// For pairs of clouds (A_b, B_b), b = 1..nb, and each degree k in {0, .., max_dim} (max_dim <= 1):
//   diagrams  PD_k(A_b), PD_k(B_b): the finite pairs of topology::persistence (Vietoris-Rips, no threshold). The
//             one essential H0 bar (birth 0, never dies: the complex at any scale past the diameter is connected)
//             is dropped from the distances (the METHODS.md convention); H1 has no essential bars, since without a
//             threshold the complex at the enclosing radius is a cone and every cycle dies. Zero-length H0 pairs
//             (coincident points) stay; they cost 0 against the diagonal and never count in a Betti number.
//   scale     s(P) = 1 (DiagramScale::Raw: PDD of TGLML, both families in the same space) or s(P) = diam(P) =
//             max_ij |p_i - p_j| (DiagramScale::Diameter, the default, as the trainer's evaluation does: input and
//             latent scales do not matter, and every scaled birth and death lies in [0, 1]); a cloud of coincident
//             points (diameter 0) keeps s = 1 and its all-zero diagram. Each diagram is divided by its own s.
//   W_1, W_2, d_B  between PD_k(A_b) / s(A_b) and PD_k(B_b) / s(B_b), ground metric L_inf (docs/methods.md §2,
//             topology/matching.h): W_p = (min over matchings sum ||p - eta(p)||_inf^p)^(1/p), diagonal cost
//             (d - b) / 2; d_B = min over matchings max ||p - eta(p)||_inf.
//   Betti number at one scale (TALSR §"Evaluation": compare Betti numbers of data and latent representations):
//             beta_k(P, eps) = #{finite pairs with b <= eps < d} + #{essential bars with b <= eps}, the rank of
//             H_k of the Rips complex R_eps(P) (edges of length <= eps); beta_0 counts its connected components,
//             the one that never dies included. eps = betti_scale in the clouds' own units
//             (betti_scale_relative = false) or eps = betti_scale * diam(P), each cloud its own diameter
//             (betti_scale_relative = true, the default); independent of `scale`.
//   Betti curve (TGLML §3.2.3: beta_k(eps) = rank H_k(R_eps(X))): beta_k(P, t_j) as above on the scaled diagram,
//             on the grid t_j = j T / (G - 1), j = 0..G-1, G = curve_points, T = 1 under Diameter scaling and
//             T = the largest finite death over both clouds' diagrams of every degree up to max_dim under Raw.
//   Betti-curve distance (TGLML's BCD, ||beta_k^A - beta_k^B||_L2 on [0, T]) by the trapezoidal rule on that grid:
//             sqrt(sum_j w_j (beta_k^A(t_j) - beta_k^B(t_j))^2), w_j = dt = T / (G - 1) inside, dt / 2 at both
//             ends (so a constant difference c gives exactly c sqrt(T)).
//   Topological accuracy (TGLML's TA, "the proportion of correctly preserved topological features", made
//             precise here): TA_k = #{j : beta_k^A(t_j) = beta_k^B(t_j)} / G, the share of grid scales at which the
//             Betti numbers agree exactly; overall TA = the share over all (degree, scale) pairs of
//             {0..max_dim} x grid = the mean of the TA_k.
// Every metric is computed per batch and reported as the mean and the sample standard deviation over the batches
// (denominator nb - 1; 0 for a single batch): the spread from batch to batch.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/tensor.h"
#include "topology/persistence.h"

namespace tl::eval {

enum class DiagramScale { Raw, Diameter };

struct TopologyComparisonOptions {
  int max_dim = 1;                              // 0: H0 only; 1: H0 and H1
  DiagramScale scale = DiagramScale::Diameter;  // what each diagram is divided by before distances and curves
  double betti_scale = 0.1;                     // eps of the Betti numbers (>= 0)
  bool betti_scale_relative = true;             // eps = betti_scale * the cloud's diameter, else betti_scale as is
  int curve_points = 64;                        // G, the Betti-curve grid (>= 2)
};

struct Spread {
  double mean = 0.0;
  double std = 0.0;  // sample standard deviation over the batches (0 for one batch)
};

struct DegreeComparison {
  Spread w1, w2, bottleneck;    // between the scaled diagrams
  Spread betti_a, betti_b;      // beta_k at eps of the A and of the B clouds
  Spread betti_curve_l2;        // ||beta_k^A - beta_k^B||_L2 on [0, T]
  Spread topological_accuracy;  // TA_k in [0, 1]
};

struct TopologyComparison {
  int batches = 0;
  TopologyComparisonOptions options;      // the options the comparison ran with
  std::vector<DegreeComparison> degrees;  // degrees[k] is H_k, k = 0..max_dim
  Spread topological_accuracy;            // over all degrees and grid scales
};

// Compares the clouds a[b] and b[b] ([n, d] float32 points; sizes and dimensions may differ, every cloud on one
// device) pair by pair. The diagrams of all 2 nb clouds come from one persistence_batch_from_distances call (clouds
// spread over the OpenMP threads) on the same distance matrices the diameters are read from. Refuses (ValueError)
// families of different lengths or no batches, clouds of fewer than 2 points or with non-finite coordinates,
// max_dim outside {0, 1}, a negative or non-finite betti_scale and curve_points < 2.
TopologyComparison compare_topology(const std::vector<Tensor>& a, const std::vector<Tensor>& b,
                                    const TopologyComparisonOptions& options = {});

// beta_k at `scale`: #{pairs with birth <= scale < death} + #{essential bars with birth <= scale}.
int betti_number(const topology::Diagram& diagram, double scale);

// The comparison by name, for a report: "batches", "scale" ("raw" or "diameter"), "betti_scale",
// "betti_scale_relative", "curve_points", then for each degree k and metric m the pair "h<k>_<m>_mean" and
// "h<k>_<m>_std" with m in w1, w2, bottleneck, betti_<a_name>, betti_<b_name>, betti_curve_l2,
// topological_accuracy, and "topological_accuracy_mean" / "_std" over all degrees. E.g. a_name = "input",
// b_name = "latent" gives "h1_betti_latent_mean".
nlohmann::json to_json(const TopologyComparison& comparison, const std::string& a_name, const std::string& b_name);

}  // namespace tl::eval
