// The generation group: samples of each sampler (decoded codes, or a GAN's or diffusion model's samples), scored in the
// feature space (apps/evaluation/feature_space.h) against real points of the evaluated split. The split is shuffled
// (seeded) and cut into two disjoint halves A and B; every generated set has |A| points and is compared with A, and B
// against A is the real-vs-real floor reported beside it (the value a perfect generator would reach with this
// many points). Metrics and sources in apps/evaluation/generation_metrics.h.
#include "apps/evaluation/evaluation_context.h"
#include "apps/evaluation/generation_metrics.h"

#include <algorithm>

#include "core/ops.h"

namespace tl::eval {
namespace {

constexpr uint64_t kHalvesStream = 1;
constexpr uint64_t kSamplerSeedKey = 0x5A3B1E5ull;

// The scores of one set of samples (its features and, with a classifier, its class probabilities) against A.
nlohmann::json score(const EvaluationContext& context, const Tensor& real_features, const Tensor& samples) {
  const EvaluationOptions& options = context.options();
  const Tensor features = context.features().features(samples);
  nlohmann::json result = {{"frechet_distance", frechet_distance(real_features, features)}};
  result.update(to_json(manifold_metrics(real_features, features, options.neighbours)));
  // Both sets are already in random order: their first rows are random subsets.
  const int64_t two_sample = std::min(options.two_sample_points, real_features.dim(0));
  result.update(to_json(one_nn_accuracy(slice(real_features, 0, 0, two_sample), slice(features, 0, 0, two_sample))));
  if (context.features().has_classifier())
    result.update(to_json(label_metrics(context.features().probabilities(samples))));
  return result;
}

}  // namespace

Tensor generated_samples(const EvaluationContext& context, Sampler sampler, int64_t n) {
  return context.generate(sampler, n, context.options().seed ^ kSamplerSeedKey);
}

nlohmann::json generation_group(const EvaluationContext& context) {
  const std::vector<int64_t> order = context.permutation(kHalvesStream);
  const int64_t half = static_cast<int64_t>(order.size()) / 2;
  const Tensor inputs = context.data().inputs;
  const Tensor half_a = take_rows(inputs, {order.begin(), order.begin() + half});
  const Tensor half_b = take_rows(inputs, {order.begin() + half, order.begin() + 2 * half});
  const Tensor real_features = context.features().features(half_a);
  nlohmann::json result = {{"feature_space", context.features().description()},
                           {"points_per_set", half},
                           {"neighbours", context.options().neighbours}};
  context.note("generation", "real-vs-real floor");
  result["real_vs_real_floor"] = score(context, real_features, half_b);
  for (Sampler sampler : context.samplers()) {
    context.note("generation", std::string("sampler ") + sampler_name(sampler));
    result["samplers"][sampler_name(sampler)] =
        score(context, real_features, generated_samples(context, sampler, half));
  }
  return result;
}

}  // namespace tl::eval
