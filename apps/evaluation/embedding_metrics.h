// Embedding metrics of the evaluation tool: how well codes Z [n, m] keep the geometry of their inputs X [n, d], the
// measures of the topological-autoencoder paper (M. Moor, M. Horn, B. Rieck, K. Borgwardt, "Topological
// Autoencoders", ICML 2020, §5 and their evaluation code, src/evaluation/measures_optimized.py of
// BorgwardtLab/topological-autoencoders, whose conventions are followed where the papers leave a choice).
//
// D_X, D_Z: the pairwise Euclidean distance matrices (topology::pairwise_distances, float32; everything after them
// is accumulated in double).
//
// Neighbour ranks. For a point i, its neighbours j != i in one space are ordered by increasing distance, ties by
// increasing index j (a stable sort; the point itself is never its own neighbour, as in scikit-learn's
// trustworthiness, which sets the diagonal to infinity). r_X(i, j) in 1..n-1 is j's position in that order in X
// (nearest = 1), r_Z(i, j) in Z; N_k^X(i), N_k^Z(i) are the first k of each order. Without ties and duplicate points
// these are Moor et al.'s ranks (their stable argsort puts i itself at rank 0).
//
// Trustworthiness and continuity (J. Venna, S. Kaski, "Neighborhood preservation in nonlinear projection methods:
// an experimental study", ICANN 2001; scikit-learn's sklearn.manifold.trustworthiness):
//   T(k) = 1 - 2 / (n k (2n - 3k - 1)) sum_i sum_{j in N_k^Z(i) \ N_k^X(i)} (r_X(i, j) - k),
//   C(k) = 1 - 2 / (n k (2n - 3k - 1)) sum_i sum_{j in N_k^X(i) \ N_k^Z(i)} (r_Z(i, j) - k).
//   T penalises codes' neighbours that are far in the inputs, C inputs' neighbours that the codes pull apart; both
//   lie in [0, 1] (1: the k-neighbourhoods agree). The normaliser is the worst case only for k < n / 2 (Venna &
//   Kaski use another one above), so k must satisfy 1 <= k < n / 2, as scikit-learn requires.
//
// Mean relative rank errors (J. A. Lee, M. Verleysen, "Quality assessment of dimensionality reduction: Rank-based
// criteria", Neurocomputing 72, 2009), both directions, with Moor et al.'s names and normalisation:
//   MRRE_ZX(k) = 1 / c_k sum_i sum_{j in N_k^Z(i)} |r_X(i, j) - r_Z(i, j)| / r_Z(i, j),
//   MRRE_XZ(k) = 1 / c_k sum_i sum_{j in N_k^X(i)} |r_X(i, j) - r_Z(i, j)| / r_X(i, j),
//   c_k = n sum_{l=1..k} |n - 2l + 1| / l   (> 0 for n >= 2).
//   0 when the ranks agree; lower is better. Their neighbourhoods are i's first k in Z (ZX) or in X (XZ).
//
// Every k-dependent measure is reported per k of EmbeddingOptions::neighbourhoods and as its plain mean over that
// list (the paper averages k = 10, 20, ..., 200; their code's "mean_" entries). All k come from one walk over the
// first k_max positions of each row's two neighbour orders (one stable radix sort per row and space), not one per k.
//
// Density KL divergence (Moor et al.'s KL_sigma, "density_kl_global"): with D~ = D / max_ij D (each space by its own
// maximum; a space whose points all coincide keeps D~ = 0, i.e. a uniform density),
//   f_X(i) = g_X(i) / sum_l g_X(l),   g_X(i) = sum_j exp(-D~_X(i, j)^2 / sigma)   (j = i included),
//   KL_sigma = sum_i f_X(i) log(f_X(i) / f_Z(i)),   for each sigma of EmbeddingOptions::kl_sigmas (the paper reports
//   sigma = 0.01, 0.1, 1). 0 when the normalised distances agree (Z a scaled copy of X).
//
// RMSE of the raw distances (Moor et al.'s "rmse"): sqrt(sum_ij (D_X(i, j) - D_Z(i, j))^2 / n^2).
//
// Cost: the two [n, n] distance matrices (8 n^2 bytes) and O(n) per thread beside them; rows spread over the OpenMP
// threads, each row's contribution kept separately and summed in row order, so the results do not depend on the
// thread count. n = 10,000 (784-D inputs, 2-D codes) takes a few seconds on two cores (the timing is in
// embedding_metrics.cpp).
//
// Bad input is refused naming the problem: tl::ShapeError when X or Z is not a float32 [n, dim] tensor; tl::ValueError
// for different point counts, fewer than 2 points, a non-finite coordinate, a k outside 1 <= k < n / 2 (naming k and
// n), an empty or not strictly increasing k list, a sigma that is not finite and positive.
#pragma once

#include <nlohmann/json.hpp>

#include <utility>
#include <vector>

#include "core/tensor.h"

namespace tl::eval {

struct EmbeddingOptions {
  std::vector<double> kl_sigmas{0.01, 0.1, 1.0};  // may be empty (no KL)
  // The neighbourhood sizes k, strictly increasing, each 1 <= k < n / 2; default 10, 20, ..., 200 (n > 400).
  std::vector<int> neighbourhoods{10,  20,  30,  40,  50,  60,  70,  80,  90,  100,
                                  110, 120, 130, 140, 150, 160, 170, 180, 190, 200};
};

struct EmbeddingMetrics {
  std::vector<std::pair<double, double>> kl;  // (sigma, KL_sigma) in the order of EmbeddingOptions::kl_sigmas
  double trustworthiness = 0.0, continuity = 0.0, mrre_zx = 0.0, mrre_xz = 0.0;  // means over the k list
  double rmse = 0.0;
  std::vector<int> k;  // the k list; the per-k values below follow it
  std::vector<double> trustworthiness_at_k, continuity_at_k, mrre_zx_at_k, mrre_xz_at_k;
};

// The metrics of codes Z = `codes` [n, m] of inputs X = `inputs` [n, d] (float32; on any device, copied to the CPU).
EmbeddingMetrics embedding_metrics(const Tensor& inputs, const Tensor& codes, const EmbeddingOptions& options = {});

// Flat keys: "kl_<sigma>" (sigma printed with up to 6 significant digits: "kl_0.01", "kl_0.1", "kl_1"),
// "trustworthiness", "continuity", "mrre_zx", "mrre_xz", "rmse", and the arrays "k", "trustworthiness_at_k",
// "continuity_at_k", "mrre_zx_at_k", "mrre_xz_at_k".
nlohmann::json to_json(const EmbeddingMetrics& metrics);

}  // namespace tl::eval
