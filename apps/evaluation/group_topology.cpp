// The topology group (apps/evaluation/topology_metrics.h for the metrics): diagram distances, Betti numbers,
// Betti-curve distance and topological accuracy between
//   data and latent (models with an encoder): batches of the split and their codes, each diagram divided by its
//     cloud's diameter (input and latent scales differ);
//   real and generated (TGLML's PDD): real batches against batches of the first sampler's samples, in the
//     data space and its units; beside it the real-vs-real floor, real batches against other real batches.
// Batches are disjoint slices of a seeded shuffle of the split; when the split is too small for the asked number
// of batches (twice that, for the floor), fewer are used, and the count is reported.
#include <algorithm>

#include "apps/evaluation/evaluation_context.h"
#include "apps/evaluation/topology_metrics.h"
#include "core/ops.h"

namespace tl::eval {
namespace {

constexpr uint64_t kBatchStream = 3;

std::vector<Tensor> batches_of(const Tensor& rows, int64_t batch, int64_t count, int64_t first) {
  std::vector<Tensor> batches;
  for (int64_t b = 0; b < count; ++b) batches.push_back(slice(rows, 0, (first + b) * batch, (first + b + 1) * batch));
  return batches;
}

}  // namespace

nlohmann::json topology_group(const EvaluationContext& context) {
  const EvaluationOptions& options = context.options();
  const int64_t n = context.data().size();
  TL_CHECK_AS(ValueError, n >= 4, "the topology metrics need at least 4 points (two batches of 2); the split has ", n);
  const int64_t batch = std::min(options.topology_batch, n / 2);
  const int64_t count = std::max<int64_t>(1, std::min(options.topology_batches, n / (2 * batch)));
  const Tensor shuffled = take_rows(context.data().inputs, head(context.permutation(kBatchStream), 2 * count * batch));
  const std::vector<Tensor> real = batches_of(shuffled, batch, count, 0);
  const std::vector<Tensor> other_real = batches_of(shuffled, batch, count, count);

  nlohmann::json result = {{"batch_points", batch}, {"batches", count}};
  TopologyComparisonOptions latent_options;
  latent_options.scale = DiagramScale::Diameter;
  latent_options.betti_scale = options.betti_scale;
  if (context.has_encoder()) {
    context.note("topology", "data vs latent diagrams");
    std::vector<Tensor> codes;
    for (const Tensor& x : real) codes.push_back(context.encode(x));
    result["data_vs_latent"] = to_json(compare_topology(real, codes, latent_options), "data", "latent");
  }

  TopologyComparisonOptions sample_options = latent_options;
  sample_options.scale = DiagramScale::Raw;
  context.note("topology", "real vs real diagrams (floor)");
  result["real_vs_real_floor"] = to_json(compare_topology(real, other_real, sample_options), "real", "other_real");
  if (!context.samplers().empty()) {
    const Sampler sampler = context.samplers().front();
    context.note("topology", std::string("real vs generated diagrams (") + sampler_name(sampler) + ")");
    const Tensor generated = generated_samples(context, sampler, count * batch);
    result["real_vs_generated"] =
        to_json(compare_topology(real, batches_of(generated, batch, count, 0), sample_options), "real", "generated");
    result["real_vs_generated"]["sampler"] = sampler_name(sampler);
  }
  return result;
}

}  // namespace tl::eval
