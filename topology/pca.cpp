// Principal-component scores on the host in double precision: the Gram matrix of the centred points, its top
// eigenvectors by orthogonal iteration, and the scores from them.
#include "topology/pca.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/base/error.h"

namespace tl::topology {
namespace {

// The n x n Gram matrix of the [n, d] points `x` after subtracting their mean.
std::vector<double> centred_gram(const std::vector<float>& x, int64_t n, int64_t d) {
  std::vector<double> centred(x.begin(), x.end()), mean(static_cast<size_t>(d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) mean[j] += centred[i * d + j] / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) centred[i * d + j] -= mean[j];
  std::vector<double> gram(static_cast<size_t>(n * n));
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b <= a; ++b) {
      double dot = 0.0;
      for (int64_t j = 0; j < d; ++j) dot += centred[a * d + j] * centred[b * d + j];
      gram[a * n + b] = gram[b * n + a] = dot;
    }
  return gram;
}

// Modified Gram-Schmidt over the k columns of the row-major [n, k] matrix v.
void orthonormalise(std::vector<double>& v, int64_t n, int64_t k) {
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t p = 0; p < c; ++p) {
      double dot = 0.0;
      for (int64_t i = 0; i < n; ++i) dot += v[i * k + c] * v[i * k + p];
      for (int64_t i = 0; i < n; ++i) v[i * k + c] -= dot * v[i * k + p];
    }
    double norm = 0.0;
    for (int64_t i = 0; i < n; ++i) norm += v[i * k + c] * v[i * k + c];
    norm = std::sqrt(norm);
    for (int64_t i = 0; i < n; ++i) v[i * k + c] = norm > 0.0 ? v[i * k + c] / norm : 0.0;
  }
}

// The top-k eigenvectors of the symmetric n x n matrix `gram` as the columns of an [n, k] matrix.
// Orthogonal iteration: V <- orthonormalise(G V), from a fixed start, until the subspace stops moving.
std::vector<double> top_eigenvectors(const std::vector<double>& gram, int64_t n, int64_t k) {
  std::vector<double> basis(static_cast<size_t>(n * k)), product(basis.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < k; ++c)
      basis[i * k + c] = std::cos(0.7 * double(i + 1) * double(c + 1)) + (i == c ? 1.0 : 0.0);
  orthonormalise(basis, n, k);
  for (int iteration = 0; iteration < 500; ++iteration) {
    std::fill(product.begin(), product.end(), 0.0);
    for (int64_t a = 0; a < n; ++a)
      for (int64_t b = 0; b < n; ++b)
        for (int64_t c = 0; c < k; ++c) product[a * k + c] += gram[a * n + b] * basis[b * k + c];
    orthonormalise(product, n, k);
    double change = 0.0;
    for (size_t i = 0; i < basis.size(); ++i)
      change = std::max(change, std::fabs(std::fabs(product[i]) - std::fabs(basis[i])));
    basis.swap(product);
    if (change < 1e-10) break;
  }
  return basis;
}

// Scores = U_k Sigma_k = G U_k / sigma_k: the projection of each centred point on the principal directions.
std::vector<float> principal_scores(const std::vector<double>& gram, const std::vector<double>& basis, int64_t n,
                                    int64_t k) {
  std::vector<float> scores(static_cast<size_t>(n * k));
  for (int64_t c = 0; c < k; ++c) {
    double eigenvalue = 0.0;
    for (int64_t a = 0; a < n; ++a)
      for (int64_t b = 0; b < n; ++b) eigenvalue += basis[a * k + c] * gram[a * n + b] * basis[b * k + c];
    const double sigma = std::sqrt(std::max(eigenvalue, 0.0));
    for (int64_t i = 0; i < n; ++i) scores[i * k + c] = static_cast<float>(basis[i * k + c] * sigma);
  }
  return scores;
}

}  // namespace

Tensor pca_scores(const Tensor& points, int64_t k) {
  TL_CHECK_AS(ShapeError, points.defined() && points.rank() == 2 && points.dtype() == DType::Float32,
              "pca_scores: points must be a float32 [batch, features] tensor, got ",
              points.defined() ? points.describe() : std::string("an undefined tensor"));
  const int64_t n = points.dim(0), d = points.dim(1);
  TL_CHECK_AS(ValueError, k >= 1 && k <= std::min(n, d), "pca_scores: ", k, " components asked of ",
              shape_str(points.shape()), " points (1..", std::min(n, d), ")");
  const std::vector<double> gram = centred_gram(points.to_vector<float>(), n, d);
  return Tensor::from_vector(principal_scores(gram, top_eigenvectors(gram, n, k), n, k), {n, k}, points.device());
}

}  // namespace tl::topology
