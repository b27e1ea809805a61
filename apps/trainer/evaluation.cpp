// The test-split metrics of evaluate_model, one function per group of metrics.
#include "apps/trainer/evaluation.h"

#include <algorithm>
#include <map>
#include <string>

#include "core/autograd.h"
#include "core/ops.h"
#include "topology/matching.h"
#include "topology/persistence.h"

namespace tl::train {
namespace {

using nlohmann::json;

constexpr int64_t kEvaluationBatch = 1000;  // test samples per forward pass

std::vector<int64_t> first_rows(int64_t count, int64_t available) {
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < std::min(count, available); ++i) rows.push_back(i);
  return rows;
}

// The most frequent label among the k nearest neighbours of row i (the point itself excluded).
int32_t knn_vote(const std::vector<float>& d, int64_t n, int64_t i, const std::vector<int32_t>& labels, int k) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) order[j] = j;
  const int64_t kk = std::min<int64_t>(k, n - 1);
  std::partial_sort(order.begin(), order.begin() + kk + 1, order.end(), [&](int64_t a, int64_t b) {
    if (a == i || b == i) return b == i && a != i;  // the point itself goes last
    return d[i * n + a] < d[i * n + b] || (d[i * n + a] == d[i * n + b] && a < b);
  });
  std::map<int32_t, int> votes;
  for (int64_t r = 0; r < kk; ++r) ++votes[labels[order[r]]];
  int32_t best = -1;
  int best_votes = 0;
  for (const auto& [label, count] : votes)
    if (count > best_votes) best = label, best_votes = count;
  return best;
}

// Reconstruction loss and KL summed over the test set, and the squared error of the posterior mean's decoding.
json reconstruction_metrics(nn::Autoencoder& model, const data::Dataset& test_set, const TrainConfig& config) {
  const int64_t n = test_set.size();
  double reconstruction = 0.0, kl = 0.0, squared_error = 0.0;
  for (int64_t start = 0; start < n; start += kEvaluationBatch) {
    std::vector<int64_t> rows;
    for (int64_t i = start; i < std::min(n, start + kEvaluationBatch); ++i) rows.push_back(i);
    const Tensor x = data::gather_rows(test_set, rows, config.device);
    Generator noise(config.seed ^ kNoiseSeedKey, ~0ull << 32);
    const nn::AutoencoderOutput out = model.run(x, noise);
    reconstruction += reconstruction_loss(config.reconstruction, out.reconstruction, x, Reduction::Sum).item();
    const Tensor mean_reconstruction = model.decode(out.latent);  // the posterior mean's, as forward() gives
    squared_error +=
        mse_loss(reconstruction_values(config.reconstruction, mean_reconstruction), x, Reduction::Sum).item();
    if (config.model.variational) kl += gaussian_kl(out.mu, out.logvar, Reduction::Sum).item();
  }
  json result = {{"test_samples", n},
                 {"reconstruction_per_sample", reconstruction / static_cast<double>(n)},
                 {"mse_per_feature", squared_error / static_cast<double>(n * test_set.inputs.dim(1))}};
  if (config.model.variational) result["kl_per_sample"] = kl / static_cast<double>(n);
  return result;
}

json knn_metrics(nn::Autoencoder& model, const data::Dataset& test_set, const TrainConfig& config) {
  const std::vector<int64_t> rows = first_rows(config.evaluation.knn_points, test_set.size());
  const std::vector<int32_t> labels(test_set.labels.begin(), test_set.labels.begin() + rows.size());
  const Tensor x = data::gather_rows(test_set, rows, config.device);
  return {{"knn_k", config.evaluation.knn},
          {"knn_samples", rows.size()},
          {"knn_accuracy_latent", knn_accuracy(model.encode(x), labels, config.evaluation.knn)},
          {"knn_accuracy_input", knn_accuracy(x, labels, config.evaluation.knn)}};
}

// The finite pairs of degree `dim` scaled by 1/scale, as (birth, death) pairs for the matchings.
std::vector<float> scaled_pairs(const topology::PersistenceResult& result, int dim, float scale) {
  std::vector<float> flat;
  for (const auto& pair : result.diagrams[dim].pairs) {
    flat.push_back(pair.birth / scale);
    flat.push_back(pair.death / scale);
  }
  return flat;
}

float diameter(const Tensor& points) {
  const std::vector<float> d = topology::pairwise_distances(points).to_vector<float>();
  return std::max(*std::max_element(d.begin(), d.end()), 1e-12f);
}

// W_1 between the H0 and H1 diagrams of x and y, each divided by its scale, and their bar counts as
// "<key>_bars_<x_name>" and "<key>_bars_<y_name>"; `distance` names the W_1 entries ("h0_<distance>").
json diagram_comparison(const Tensor& x, const Tensor& y, float x_scale, float y_scale, const std::string& distance,
                        const std::string& x_name, const std::string& y_name) {
  const topology::PersistenceResult px = topology::persistence(x), py = topology::persistence(y);
  json result;
  for (int dim = 0; dim <= 1; ++dim) {
    const std::string key = "h" + std::to_string(dim);
    result[key + "_" + distance] =
        topology::wasserstein_matching(scaled_pairs(px, dim, x_scale), scaled_pairs(py, dim, y_scale), 1.0).distance;
    result[key + "_bars_" + x_name] = px.diagrams[dim].pairs.size();
    result[key + "_bars_" + y_name] = py.diagrams[dim].pairs.size();
  }
  return result;
}

// W_1 between the H0 and H1 diagrams of the inputs and of their codes, each divided by its cloud's diameter (so
// input and latent scales do not matter), and the bar counts.
json diagram_metrics(nn::Autoencoder& model, const data::Dataset& test_set, const TrainConfig& config) {
  const std::vector<int64_t> rows = first_rows(config.evaluation.topology_points, test_set.size());
  const Tensor x = data::gather_rows(test_set, rows, Device::CPU);
  const Tensor z = model.encode(x.to(config.device)).to(Device::CPU);
  json result = diagram_comparison(x, z, diameter(x), diameter(z), "w1_scaled", "input", "latent");
  result["topology_samples"] = rows.size();
  return result;
}

// W_1 between the diagrams of test points and of as many samples of the family's first sampler, unscaled.
json generated_diagram_metrics(ModelFamily& model, const data::Dataset& test_set, const TrainConfig& config) {
  const std::vector<int64_t> rows = first_rows(config.evaluation.topology_points, test_set.size());
  const Tensor x = data::gather_rows(test_set, rows, Device::CPU);
  Generator generator(config.seed ^ kNoiseSeedKey, ~1ull << 32);
  const std::string sampler = model.samplers().front();
  const Tensor generated = model.sample(sampler, static_cast<int64_t>(rows.size()), generator);
  json result = diagram_comparison(x, generated, 1.0f, 1.0f, "w1", "test", "generated");
  result["topology_samples"] = rows.size();
  result["sampler"] = sampler;
  return result;
}

}  // namespace

double knn_accuracy(const Tensor& points, const std::vector<int32_t>& labels, int k) {
  const std::vector<float> d = topology::pairwise_distances(points.to(Device::CPU)).to_vector<float>();
  const int64_t n = points.dim(0);
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) correct += knn_vote(d, n, i, labels, k) == labels[i];
  return static_cast<double>(correct) / static_cast<double>(n);
}

json evaluate_model(ModelFamily& family, const data::Dataset& test_set, const TrainConfig& config) {
  NoGradGuard no_grad;
  nn::Autoencoder* model = family.autoencoder();
  if (model == nullptr) return generated_diagram_metrics(family, test_set, config);
  model->eval();
  json result = reconstruction_metrics(*model, test_set, config);
  result.update(knn_metrics(*model, test_set, config));
  result.update(diagram_metrics(*model, test_set, config));
  model->train();
  return result;
}

}  // namespace tl::train
