// The interpolation group: paths between the codes of random pairs of split points, linear and geodesic (the
// shortest path on a k-NN graph of training codes, smoothed and resampled: apps/evaluation/samplers.h), decoded
// into the data space x_0 .. x_{T-1} and measured (averages over the pairs):
//   label_consistency  the share of path points the classifier labels as one of the two ends is labelled
//                      (TGLML's topological consistency along interpolations; needs a classifier);
//   label_changes      how often the predicted label changes along the path;
//   length_ratio       sum_t |x_{t+1} - x_t| / |x_{T-1} - x_0|: 1 for a straight decoded path, larger when it
//                      wanders (path regularity);
//   step_variation     the coefficient of variation (std / mean) of the steps |x_{t+1} - x_t|: 0 when the decoded
//                      path moves evenly;
//   reencoding_mse     mean over path points of |D(E(x_t)) - x_t|^2 / features: how far decoded path points are
//                      from what the autoencoder reproduces, i.e. from the data manifold it learned.
// A pair whose ends the k-NN graph does not connect is skipped by the geodesic and counted.
#include <cmath>

#include "apps/evaluation/evaluation_context.h"
#include "apps/evaluation/samplers.h"
#include "core/ops.h"

namespace tl::eval {
namespace {

constexpr uint64_t kPairStream = 4;

struct PathScores {
  double label_consistency = 0, label_changes = 0, length_ratio = 0, step_variation = 0, reencoding_mse = 0;
  int64_t paths = 0;

  void add(const EvaluationContext& context, const Tensor& codes) {
    const Tensor x = context.decode(codes);
    const std::vector<float> v = x.to_vector<float>();
    const int64_t t = x.dim(0), width = x.dim(1);
    std::vector<double> steps;
    for (int64_t i = 0; i + 1 < t; ++i) steps.push_back(row_distance(v, width, i, i + 1));
    double length = 0, squares = 0;
    for (double s : steps) length += s, squares += s * s;
    const double mean = length / static_cast<double>(steps.size());
    length_ratio += length / std::max(row_distance(v, width, 0, t - 1), 1e-12);
    step_variation +=
        std::sqrt(std::max(0.0, squares / static_cast<double>(steps.size()) - mean * mean)) / std::max(mean, 1e-12);
    reencoding_mse += mse_loss(context.decode(context.encode(x)), x, Reduction::Mean).item();
    if (context.features().has_classifier()) {
      const std::vector<int32_t> labels = context.features().predicted_labels(x);
      int64_t kept = 0, changes = 0;
      for (int64_t i = 0; i < t; ++i) {
        kept += labels[i] == labels.front() || labels[i] == labels.back();
        if (i > 0) changes += labels[i] != labels[i - 1];
      }
      label_consistency += static_cast<double>(kept) / static_cast<double>(t);
      label_changes += static_cast<double>(changes);
    }
    ++paths;
  }

  // The means over the paths; only the count when there were none (no zeros posing as values).
  nlohmann::json averages(bool labels) const {
    if (paths == 0) return {{"paths", 0}};
    const double n = static_cast<double>(paths);
    nlohmann::json result = {{"paths", paths},
                             {"length_ratio", length_ratio / n},
                             {"step_variation", step_variation / n},
                             {"reencoding_mse", reencoding_mse / n}};
    if (labels) result["label_consistency"] = label_consistency / n, result["label_changes"] = label_changes / n;
    return result;
  }

  static double row_distance(const std::vector<float>& v, int64_t width, int64_t a, int64_t b) {
    double sum = 0;
    for (int64_t j = 0; j < width; ++j) {
      const double d = static_cast<double>(v[a * width + j]) - static_cast<double>(v[b * width + j]);
      sum += d * d;
    }
    return std::sqrt(sum);
  }
};

}  // namespace

nlohmann::json interpolation_group(const EvaluationContext& context) {
  const EvaluationOptions& options = context.options();
  const std::vector<int64_t> order = context.permutation(kPairStream);
  const int64_t pairs = std::min<int64_t>(options.interpolation_pairs, static_cast<int64_t>(order.size()) / 2);
  const Tensor ends = context.encode(take_rows(context.data().inputs, head(order, 2 * pairs)));
  context.note("interpolation", "training codes for the geodesic graph");
  const Tensor training = context.training_codes(options.geodesic_graph_points);
  const KnnGraph& graph = context.geodesic_graph();
  PathScores linear, geodesic;
  int64_t unconnected = 0;
  for (int64_t p = 0; p < pairs; ++p) {
    const Tensor a = slice(ends, 0, 2 * p, 2 * p + 1), b = slice(ends, 0, 2 * p + 1, 2 * p + 2);
    linear.add(context, linear_path(a, b, options.path_points));
    try {
      geodesic.add(context, geodesic_path(graph, training, a, b, options.path_points).points);
    } catch (const UnconnectedEnds&) {
      ++unconnected;  // the graph does not join these ends
    }
  }
  const bool labels = context.features().has_classifier();
  nlohmann::json result = {{"pairs", pairs},
                           {"path_points", options.path_points},
                           {"geodesic_neighbours", options.geodesic_neighbours},
                           {"geodesic_graph_points", training.dim(0)},
                           {"linear", linear.averages(labels)},
                           {"geodesic", geodesic.averages(labels)}};
  result["geodesic"]["unconnected_pairs"] = unconnected;
  return result;
}

}  // namespace tl::eval
