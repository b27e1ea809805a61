// Generation metrics: how closely generated samples ("fake") match real ones in a feature space (rows = samples,
// e.g. a classifier's penultimate layer), and how a classifier's predictions on generated samples spread over the
// classes.
//
// Feature sets are float32 [n, d] tensors (any device; copied to the host). Refused with tl::ValueError naming
// the problem: a tensor that is not 2-D float32, an empty set, zero features, different feature widths, and a
// non-finite value; the nearest-neighbour metrics also refuse a point whose squared distance from the sets' common
// mean reaches FLT_MAX / 8 (their float32 filter below would overflow; rescale the features).
//
// Nearest-neighbour decisions are exact in double precision on the float32 values: squared distances
// D(x, y) = sum_k (x_k - y_k)^2 in double, summed over k in order, compared with squared radii. A float32 GEMM on
// the points centred at the common mean (x' = x - mean, rounded to float) only filters: its estimate
// s = |x'|^2 + |y'|^2 - 2 <x', y'> (norms in double) is within t = (d + 16) 2^-23 (|x'|^2 + |y'|^2) of D, at least
// twice the worst case (d + 5) 2^-24 (|x'|^2 + |y'|^2) of the float dot product (gamma_d), the centring and the
// sums. So a pair with s + t <= r^2 is inside a ball of radius r, one with s - t > r^2 outside, and only the pairs
// in between (rare) get D computed. The results are therefore deterministic whatever the thread count, and equal to
// a double-precision brute force on the same float32 values (a near tie at 1e-16 relative may be ordered
// differently from one summed in another order). Memory: O((n + m) d) plus 16 MiB blocks of Gram entries. Time:
// GEMM-bound (manifold_metrics: GEMMs of N x N, M x M and M x N; one_nn_accuracy: (N + M)^2); at N = M = 10,000 in
// 84 dimensions, 0.45 s and 0.56 s on 2 cores of an idle Xeon (0.84 s and 1.07 s on one).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace tl::eval {

// Frechet distance between Gaussians fitted to two feature sets (the FID of Heusel et al. 2017, "GANs trained by
// a two time-scale update rule converge to a local Nash equilibrium", on whatever features are given):
//   FD = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^{1/2} S_b S_a^{1/2})^{1/2}),
// which equals the reference code's tr(S_a) + tr(S_b) - 2 tr(sqrtm(S_a S_b)) (S_a S_b is similar to the symmetric
// S_a^{1/2} S_b S_a^{1/2}, so their square roots share a trace) without the complex parts sqrtm produces on
// nearly singular products. Means and covariances in double, the covariances unbiased (divided by n - 1, as
// numpy.cov and the TTUR / pytorch-fid code); the square roots by Eigen's SelfAdjointEigenSolver, eigenvalues
// that rounding made negative clamped to 0, and a result below 0 (rounding, for identical moments) returned as 0.
// Each set needs at least 2 rows. Cost O((n + m) d^2 + d^3): 10 ms at d = 84, about 10 s at d = 2048 (the two
// eigensolvers run on one thread; n = m = 5,000).
double frechet_distance(const Tensor& a, const Tensor& b);

// Precision, recall, density and coverage of fake samples against real ones, from k-nearest-neighbour balls.
// r_i: the distance from real point i to its k-th nearest other real point (duplicates count, at distance 0);
// f_j likewise among the fakes; B(x, r) = {y : |y - x| <= r} (closed: a point on the sphere is inside).
//   precision = 1/M sum_j 1[exists i: fake_j in B(real_i, r_i)]           (Kynkaanniemi et al. 2019, "Improved
//   recall    = 1/N sum_i 1[exists j: real_i in B(fake_j, f_j)]            precision and recall metric ...")
//   density   = 1/(k M) sum_j sum_i 1[fake_j in B(real_i, r_i)]           (Naeem et al. 2020, "Reliable fidelity
//   coverage  = 1/N sum_i 1[exists j: fake_j in B(real_i, r_i)]            and diversity metrics ...")
// N reals, M fakes. Needs 1 <= k < N and k < M (the k-th other point must exist in both sets); k = 5 is both
// papers' default. Density is not bounded by 1 (fakes packed where the reals are dense exceed it).
struct ManifoldMetrics {
  double precision = 0.0;
  double recall = 0.0;
  double density = 0.0;
  double coverage = 0.0;
  int k = 5;
};
ManifoldMetrics manifold_metrics(const Tensor& real, const Tensor& fake, int k = 5);

// The distance from each row of `points` to its k-th nearest other row (1 <= k < n): the radii r_i above.
std::vector<double> kth_neighbour_distances(const Tensor& points, int k);

// Metrics of a classifier's class probabilities p(y|x) on n samples, [n, C] float32 with every value in [0, 1]
// and every row summing to 1 within 1e-3 (softmax outputs; the rows are used as given, not renormalised).
// Natural logarithms; 0 log 0 = 0; sums in double, over the samples in row order.
//   mean_entropy     = 1/n sum_x H(p(y|x)),  H(p) = -sum_y p_y log p_y   (low: confident predictions)
//   marginal_entropy = H(p(y)),  p(y) = 1/n sum_x p(y|x)                 (high: many classes predicted)
//   inception_score  = exp(1/n sum_x KL(p(y|x) || p(y)))                  (Salimans et al. 2016, "Improved
//                      techniques for training GANs"; from 1 to C; over the whole set at once, where their code
//                      averages over 10 splits)
//   kl_to_uniform    = KL(q || uniform) = sum_c q_c log(C q_c), q_c = histogram[c] / n: the predicted classes'
//                      spread (mode coverage); 0 when every class is predicted equally often, log C when one
//                      class takes all, and classes never predicted contribute 0 log 0 = 0.
//   histogram[c]     = how many rows have argmax c (ties to the lower class)
struct LabelMetrics {
  double mean_entropy = 0.0;
  double marginal_entropy = 0.0;
  double inception_score = 1.0;
  double kl_to_uniform = 0.0;
  std::vector<int64_t> histogram;
};
LabelMetrics label_metrics(const Tensor& probabilities);

// 1-nearest-neighbour two-sample test (Lopez-Paz & Oquab 2017, "Revisiting classifier two-sample tests"; the GAN
// evaluation of Xu et al. 2018, "An empirical study on evaluation metrics of generative adversarial networks"):
// pool the reals (label 1) and the fakes (label 0), classify every pooled point by the label of its nearest other
// pooled point (leave-one-out), and report the share classified correctly: 0.5 when the sets are
// indistinguishable, 1 when they are separable (below 0.5: fakes that copy reals). Ties in distance go to the lower
// pooled index, the reals being indices 0..N-1 and the fakes N..N+M-1 (so a fake that duplicates a real point is
// classified real). Needs N, M >= 1.
struct TwoSampleAccuracy {
  double accuracy = 0.0;       // over all N + M pooled points
  double real_accuracy = 0.0;  // over the N reals
  double fake_accuracy = 0.0;  // over the M fakes
};
TwoSampleAccuracy one_nn_accuracy(const Tensor& real, const Tensor& fake);

nlohmann::json to_json(const ManifoldMetrics& metrics);
nlohmann::json to_json(const LabelMetrics& metrics);
nlohmann::json to_json(const TwoSampleAccuracy& metrics);

}  // namespace tl::eval
