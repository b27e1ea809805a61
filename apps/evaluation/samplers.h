// Latent-space samplers and interpolation paths for tl_evaluate. Codes are float32 CPU tensors [n, m]; every
// random draw comes from a tl::Generator (Philox), so a fixed seed gives bit-identical codes.
//
// Priors:
//   gaussian_codes   z ~ N(0, I_m): the VAE prior, which the plain AE of Hoagland et al. samples as well.
//   unit_ball_codes  z = r u with u = g / ||g||, g ~ N(0, I_m) (uniform on the sphere) and r = U^(1/m),
//                    U ~ U[0, 1): uniform in the unit m-ball, since P(||z|| <= s) = s^m (Muller 1959; the
//                    homological AE's sampler, Hoagland et al., docs/methods.md §3c).
//
// Kernel density estimate of N training latents z_i with bandwidth h:
//   p(z) = 1/N sum_i N(z; z_i, h^2 I),   grad log p(z) = sum_i w_i(z) (z_i - z) / h^2,
//   w_i(z) = softmax_i(-||z - z_i||^2 / (2 h^2)), evaluated with the row maximum subtracted (log-sum-exp shift).
// Bandwidth by Scott's normal reference rule (D. W. Scott, "Multivariate Density Estimation", Wiley 1992, ch. 6),
// made isotropic: h = sigma N^(-1/(m+4)), sigma = (1/m) sum_j s_j, s_j the sample standard deviation (divisor
// N - 1) of coordinate j of the training latents.
// Its moments: mean = the training mean, covariance = the training covariance (divisor N) + h^2 I.
//
// Langevin walk on the KDE (the unadjusted Langevin algorithm, Roberts & Tweedie 1996; the manifold-aware
// sampler of the TGLML proposal, docs/methods.md §3b):
//   z <- z + eta grad log p(z) + sqrt(2 eta) eps,   eps ~ N(0, I),   T steps (default 50),
//   eta = 0.1 h^2 by default: small against the kernel's curvature 1 / h^2, so the walk's discretisation bias is
//   about eta / (2 h^2) = 5% of h^2 in variance. Walkers start at KDE draws z_i + h N(0, I) (i uniform), which the
//   walk then moves within the density, or at given points.
// Cost: per step n N kernel evaluations (two length-m inner products and one exponential each) in one fused,
// vectorised pass over the training latents with O(n m) memory (samplers.cpp), the same bits for any thread count;
// the logits are float32, good to ~1e-7 |z| |z_i| / h^2. Reference load, 10,000 walkers on 10,000 latents of
// width 20 for the default 50 steps: 9 s on one core of the development machine (a shared 2-core Xeon with
// AVX-512). For larger sets, subsample the training latents or the walkers.
//
// Interpolation between codes a and b, `points` >= 2 points including both ends:
//   linear_path    a + t (b - a), t = i / (points - 1);
//   geodesic_path  Dijkstra (Euclidean edge lengths) on the symmetric k-NN graph of the training latents (i ~ j
//                  when j is among the k nearest of i or i among the k nearest of j), from the latent nearest a to
//                  the latent nearest b; the polyline a, path..., b is smoothed by `smoothing_passes` passes of the
//                  3-point moving average x_j <- (x_{j-1} + x_j + x_{j+1}) / 3 with both ends fixed, then
//                  resampled piecewise linearly at equal arc-length steps. A graph that does not connect the two
//                  ends is refused (a ValueError naming k), never bridged.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/base/error.h"
#include "core/tensor.h"

namespace tl::eval {

Tensor gaussian_codes(int64_t n, int64_t m, Generator& gen);
Tensor unit_ball_codes(int64_t n, int64_t m, Generator& gen);

// Scott's rule above; refuses fewer than 2 latents or zero spread.
double scott_bandwidth(const Tensor& train);

// grad log p at each row of z [n, m] for the KDE of train [N, m] with bandwidth h > 0.
Tensor kde_score(const Tensor& train, const Tensor& z, double bandwidth);

// n draws from the KDE itself: z_i + h N(0, I) with i uniform over the training latents (bandwidth 0: Scott).
Tensor kde_codes(const Tensor& train, int64_t n, double bandwidth, Generator& gen);

struct LangevinOptions {
  int steps = 50;          // T >= 0 (0 returns the start points)
  double step_size = 0.0;  // eta > 0; 0: 0.1 h^2
  double bandwidth = 0.0;  // h > 0; 0: Scott's rule
};

// The walk above from the rows of start [n, m]; returns the final points.
Tensor langevin_walk(const Tensor& train, const Tensor& start, const LangevinOptions& options, Generator& gen);
// n walkers started at kde_codes(train, n, h, gen), then langevin_walk with the same generator.
Tensor langevin_codes(const Tensor& train, int64_t n, const LangevinOptions& options, Generator& gen);

// a, b: [m] or [1, m]; returns [points, m], ends exactly a and b.
Tensor linear_path(const Tensor& a, const Tensor& b, int64_t points);

// The symmetric k-NN graph of train [N, m], 1 <= k < N: neighbours ranked by Euclidean distance (ties by index);
// adjacency[i] lists (j, |z_i - z_j|) in increasing j, each edge in both lists. O(N^2 m) work and O(N) memory per
// thread: 1.2 s for 10,000 latents of width 20 on one core.
struct KnnGraph {
  int k = 0;
  std::vector<std::vector<std::pair<int64_t, double>>> adjacency;
};
KnnGraph knn_graph(const Tensor& train, int k);

struct GeodesicPath {
  Tensor points;                     // [points, m]: the resampled path, ends exactly a and b
  std::vector<int64_t> graph_nodes;  // the Dijkstra path: training-latent indices, nearest-to-a first
  Tensor polyline;                   // [graph_nodes.size() + 2, m]: a, the nodes, b after smoothing
  double graph_length = 0.0;         // the Dijkstra path's length (node to node, a and b excluded)
};

// What geodesic_path throws when the k-NN graph does not join the two ends (the message names k).
class UnconnectedEnds : public ValueError {
  using ValueError::ValueError;
};

GeodesicPath geodesic_path(const Tensor& train, const Tensor& a, const Tensor& b, int k, int64_t points,
                           int smoothing_passes = 2);
// The same on a graph built once (train must be the latents it was built from).
GeodesicPath geodesic_path(const KnnGraph& graph, const Tensor& train, const Tensor& a, const Tensor& b, int64_t points,
                           int smoothing_passes = 2);

}  // namespace tl::eval
