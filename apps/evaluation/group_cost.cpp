// The cost group: what a training step of the evaluated run cost, from the JSONL log beside its checkpoint (one
// record per step with "model_ms" and "topology_ms", apps/trainer/trainer.cpp): the median step time, the median
// time of the topology terms' forward, and their share of the total step time.
#include <fstream>

#include "apps/evaluation/evaluation_context.h"
#include "apps/trainer/progress.h"

namespace tl::eval {

nlohmann::json cost_group(const EvaluationContext& context) {
  const std::string path = context.run_directory() + "/log.jsonl";
  std::ifstream log(path);
  if (!log) return {{"available", false}, {"reason", "no training log at '" + path + "'"}};
  std::vector<double> step_ms, topology_ms;
  double total = 0.0, topology = 0.0;
  std::string line;
  int64_t line_number = 0;
  while (std::getline(log, line)) {
    ++line_number;
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    TL_CHECK_AS(ValueError, !record.is_discarded(), "'", path, "' line ", line_number, " is not JSON");
    if (!record.contains("model_ms")) continue;  // not a step record
    TL_CHECK_AS(ValueError, record["model_ms"].is_number() && record.value("topology_ms", nlohmann::json()).is_number(),
                "'", path, "' line ", line_number, ": model_ms and topology_ms must be numbers");
    const double model = record["model_ms"].get<double>(), topo = record["topology_ms"].get<double>();
    step_ms.push_back(model + topo);
    topology_ms.push_back(topo);
    total += model + topo;
    topology += topo;
  }
  if (step_ms.empty()) return {{"available", false}, {"reason", "'" + path + "' holds no step records"}};
  return {{"available", true},
          {"steps_logged", step_ms.size()},
          {"median_step_ms", train::median(step_ms)},
          {"median_topology_ms", train::median(topology_ms)},
          {"topology_share", topology / std::max(total, 1e-12)}};
}

}  // namespace tl::eval
