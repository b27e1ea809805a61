// The embedding group: the topological-autoencoder paper's measures of how well the codes keep the geometry of
// the inputs (Moor et al. 2020; formulas in apps/evaluation/embedding_metrics.h), on a seeded subset of the split
// of at most `embedding_points` points (all of a 10,000-point test split by default, as the paper evaluates),
// with k = 10, 20, ..., 200 as far as k < n / 2.
#include <algorithm>

#include "apps/evaluation/embedding_metrics.h"
#include "apps/evaluation/evaluation_context.h"

namespace tl::eval {
namespace {

constexpr uint64_t kSubsetStream = 6;

}  // namespace

nlohmann::json embedding_group(const EvaluationContext& context) {
  std::vector<int64_t> rows = head(context.permutation(kSubsetStream), context.options().embedding_points);
  std::sort(rows.begin(), rows.end());
  const Tensor x = take_rows(context.data().inputs, rows);
  // The paper's k = 10, 20, ..., 200, less those a small split cannot hold (k < n / 2).
  EmbeddingOptions embedding;
  const int64_t n = static_cast<int64_t>(rows.size());
  embedding.neighbourhoods.erase(std::remove_if(embedding.neighbourhoods.begin(), embedding.neighbourhoods.end(),
                                                [&](int k) { return 2 * static_cast<int64_t>(k) >= n; }),
                                 embedding.neighbourhoods.end());
  TL_CHECK_AS(ValueError, !embedding.neighbourhoods.empty(), "the embedding metrics need at least ", 2 * 10 + 1,
              " points (k = 10 < n / 2); the split has ", n);
  context.note("embedding", "distances, ranks and densities of " + std::to_string(n) + " points");
  nlohmann::json result = to_json(embedding_metrics(x, context.encode(x), embedding));
  result["points"] = n;
  return result;
}

}  // namespace tl::eval
