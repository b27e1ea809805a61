// Aggregation of an experiment's runs over seeds, and the verdicts on its claims (docs/experiments.md).
#include "apps/experiment/aggregate.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "core/base/error.h"

namespace tl::experiment {
namespace {

using nlohmann::json;

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

std::string interval(double low, double high) {
  return "[" + number(low) + ", " + number(high) + "]";
}

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

json statistics_json(const Statistics& s) {
  return {{"n", s.n}, {"mean", s.mean}, {"std", s.std}, {"ci95", {s.ci_low, s.ci_high}}};
}

}  // namespace

void flatten_numeric(const json& document, const std::string& prefix, RunMetrics& out) {
  if (document.is_number()) {
    const double value = document.get<double>();
    if (!prefix.empty() && std::isfinite(value)) out[prefix] = value;
    return;
  }
  if (!document.is_object()) return;  // arrays, strings, booleans, nulls
  for (const auto& [key, value] : document.items())
    flatten_numeric(value, prefix.empty() ? key : prefix + "." + key, out);
}

RunMetrics log_metrics(const std::string& log_jsonl, const std::vector<int64_t>& steps) {
  const std::set<int64_t> wanted(steps.begin(), steps.end());
  RunMetrics out;
  std::istringstream lines(log_jsonl);
  std::string line;
  while (std::getline(lines, line)) {
    const json record = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object() || !record.contains("step") || !record.at("step").is_number_integer()) continue;
    const int64_t step = record.at("step").get<int64_t>();
    if (wanted.count(step) == 0) continue;
    const std::string suffix = ".step_" + std::to_string(step);
    for (const auto& [key, value] : record.items()) {
      if (key == "step" || key == "epoch") continue;
      RunMetrics leaves;
      flatten_numeric(value, key, leaves);
      for (const auto& [name, v] : leaves) out["log." + name + suffix] = v;
    }
  }
  return out;
}

RunMetrics read_run_metrics(const std::string& run_directory, const std::vector<int64_t>& log_steps) {
  RunMetrics out;
  const std::string evaluation_path = run_directory + "/evaluation.json";
  const std::optional<std::string> evaluation = read_text(evaluation_path);
  if (!evaluation) throw Error("cannot read '" + evaluation_path + "'");
  const json document = json::parse(*evaluation, nullptr, false);
  if (document.is_discarded() || !document.is_object()) throw Error("'" + evaluation_path + "' is not a JSON object");
  flatten_numeric(document, "", out);
  if (const std::optional<std::string> report = read_text(run_directory + "/report.json")) {
    const json parsed = json::parse(*report, nullptr, false);
    if (parsed.is_object() && parsed.contains("train")) flatten_numeric(parsed.at("train"), "train", out);
  }
  if (!log_steps.empty()) {
    if (const std::optional<std::string> log = read_text(run_directory + "/log.jsonl")) {
      for (const auto& [key, value] : log_metrics(*log, log_steps)) out[key] = value;
    }
  }
  return out;
}

double t_quantile_975(int64_t df) {
  if (df < 1) throw ValueError("t_quantile_975: degrees of freedom must be at least 1, got " + std::to_string(df));
  // Student's t, 0.975 quantile, df = 1..30 (e.g. R's qt(0.975, df)).
  static constexpr std::array<double, 30> kTable{
      12.7062047, 4.3026527, 3.1824463, 2.7764451, 2.5705818, 2.4469119, 2.3646243, 2.3060041, 2.2621572, 2.2281389,
      2.2009852,  2.1788128, 2.1603687, 2.1447867, 2.1314495, 2.1199053, 2.1098156, 2.1009220, 2.0930241, 2.0859634,
      2.0796138,  2.0738731, 2.0686576, 2.0638986, 2.0595386, 2.0555294, 2.0518305, 2.0484071, 2.0452296, 2.0422725};
  if (df <= 30) return kTable[static_cast<size_t>(df - 1)];
  // Abramowitz and Stegun 26.7.5: t = z + g1/v + g2/v^2 + g3/v^3 + g4/v^4.
  const double z = 1.959963984540054, v = static_cast<double>(df);
  const double z2 = z * z, z3 = z2 * z, z5 = z3 * z2, z7 = z5 * z2, z9 = z7 * z2;
  const double g1 = (z3 + z) / 4.0;
  const double g2 = (5 * z5 + 16 * z3 + 3 * z) / 96.0;
  const double g3 = (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384.0;
  const double g4 = (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / 92160.0;
  return z + g1 / v + g2 / (v * v) + g3 / (v * v * v) + g4 / (v * v * v * v);
}

Statistics statistics(const std::vector<double>& values) {
  if (values.empty()) throw ValueError("statistics of an empty list");
  Statistics s;
  s.n = static_cast<int64_t>(values.size());
  double sum = 0.0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(s.n);
  s.ci_low = s.ci_high = s.mean;
  if (s.n < 2) return s;
  double squares = 0.0;
  for (double v : values) squares += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(squares / static_cast<double>(s.n - 1));
  const double half = t_quantile_975(s.n - 1) * s.std / std::sqrt(static_cast<double>(s.n));
  s.ci_low = s.mean - half;
  s.ci_high = s.mean + half;
  return s;
}

ClaimResult evaluate_claim(const Claim& claim, const std::map<int64_t, double>& baseline,
                           const std::map<int64_t, double>& treatment) {
  ClaimResult result;
  int64_t zero_baselines = 0;
  for (const auto& [seed, b] : baseline) {
    const auto t = treatment.find(seed);
    if (t == treatment.end()) continue;
    double effect = 0.0;
    if (claim.kind == "difference") {
      effect = t->second - b;
    } else {
      if (b == 0.0) {
        ++zero_baselines;
        continue;
      }
      effect = claim.kind == "relative" ? 100.0 * (b - t->second) / b : t->second / b;
    }
    result.seeds.push_back(seed);
    result.effects.push_back(effect);
  }
  const std::string left_out =
      zero_baselines == 0 ? "" : " (" + std::to_string(zero_baselines) + " pair(s) with a zero baseline left out)";
  const size_t pairs = result.effects.size();
  if (pairs == 0) {
    result.verdict = "inconclusive";
    result.reason = "no seed has both the baseline's '" +
                    (claim.baseline_metric.empty() ? claim.metric : claim.baseline_metric) + "' and the treatment's '" +
                    claim.metric + "'" + left_out;
    return result;
  }
  result.effect = statistics(result.effects);
  const Statistics& e = *result.effect;
  const std::string what = claim.kind == "difference" ? "treatment - baseline"
                           : claim.kind == "relative" ? "100 (baseline - treatment) / baseline"
                                                      : "treatment / baseline";
  if (pairs < 2) {
    result.verdict = "inconclusive";
    result.reason =
        "only 1 per-seed pair (" + what + " = " + number(e.mean) + "): an interval needs at least 2" + left_out;
    return result;
  }
  const std::string of = "the 95% interval " + interval(e.ci_low, e.ci_high) + " of " + what;
  if (claim.kind == "difference") {
    const bool lower = claim.better == "lower";
    const bool claimed_side = lower ? e.ci_high < 0.0 : e.ci_low > 0.0;
    const bool other_side = lower ? e.ci_low > 0.0 : e.ci_high < 0.0;
    if (claimed_side) {
      result.verdict = "reproduced";
      result.reason = of + " lies " + (lower ? "below" : "above") + " 0, as claimed (" + claim.better + " is better)";
    } else if (other_side) {
      result.verdict = "not reproduced";
      result.reason = of + " lies " + (lower ? "above" : "below") + " 0: the treatment is " +
                      (lower ? "higher" : "lower") + ", the claim says " + claim.better;
    } else {
      result.verdict = "inconclusive";
      result.reason = of + " contains 0";
    }
  } else {
    const std::string range = interval(claim.low, claim.high) + (claim.kind == "relative" ? " percent" : "");
    if (e.ci_low >= claim.low && e.ci_high <= claim.high) {
      result.verdict = "reproduced";
      result.reason = of + " lies inside the claimed " + range;
    } else if (e.ci_high < claim.low || e.ci_low > claim.high) {
      result.verdict = "not reproduced";
      result.reason = of + " lies " + (e.ci_high < claim.low ? "below" : "above") + " the claimed " + range;
    } else {
      result.verdict = "inconclusive";
      result.reason = of + " overlaps the claimed " + range + " without lying inside it";
    }
  }
  result.reason += left_out;
  return result;
}

json build_summary(const Experiment& experiment, const Profile& profile, const std::vector<RunRecord>& runs,
                   const std::map<std::pair<std::string, int64_t>, RunMetrics>& metrics) {
  json summary;
  summary["experiment"] = experiment.name;
  summary["title"] = experiment.title;
  summary["description"] = experiment.description;
  summary["profile"] = profile.name;
  summary["profiles"] = json::array();
  for (const Profile& p : experiment.profiles) summary["profiles"].push_back(p.name);
  summary["seeds"] = profile.seeds;
  summary["arms"] = json::array();
  for (const Arm& arm : experiment.arms) {
    summary["arms"].push_back(
        {{"name", arm.name}, {"label", arm.label}, {"config", arm.config}, {"overrides", arm.overrides}});
  }
  summary["runs"] = json::array();
  for (const RunRecord& run : runs) {
    json entry = {{"arm", run.arm}, {"seed", run.seed}, {"directory", run.directory}, {"status", run.status}};
    entry["seconds"] = run.seconds ? json(*run.seconds) : json(nullptr);
    if (!run.error.empty()) entry["error"] = run.error;
    summary["runs"].push_back(entry);
  }

  // values[arm][key][seed], seeds in the profile's order.
  std::map<std::string, std::map<std::string, std::map<int64_t, double>>> values;
  json& metric_json = summary["metrics"] = json::object();
  for (const Arm& arm : experiment.arms) {
    metric_json[arm.name] = json::object();
    for (int64_t seed : profile.seeds) {
      const auto found = metrics.find({arm.name, seed});
      if (found == metrics.end()) continue;
      for (const auto& [key, value] : found->second) values[arm.name][key][seed] = value;
    }
    for (const auto& [key, by_seed] : values[arm.name]) {
      std::vector<double> list;
      std::vector<int64_t> seeds;
      for (int64_t seed : profile.seeds) {
        const auto v = by_seed.find(seed);
        if (v == by_seed.end()) continue;
        list.push_back(v->second);
        seeds.push_back(seed);
      }
      json entry = statistics_json(statistics(list));
      entry["values"] = list;
      entry["seeds"] = seeds;
      metric_json[arm.name][key] = entry;
    }
  }

  summary["claims"] = json::array();
  for (const Claim& claim : experiment.claims) {
    json entry = {{"text", claim.text}, {"source", claim.source},     {"metric", claim.metric},
                  {"kind", claim.kind}, {"baseline", claim.baseline}, {"treatment", claim.treatment}};
    if (!claim.baseline_metric.empty()) entry["baseline_metric"] = claim.baseline_metric;
    if (claim.kind == "difference") {
      entry["better"] = claim.better;
    } else {
      entry["range"] = {claim.low, claim.high};
    }
    // The per-seed pairs among the profile's seeds (evaluate_claim lists them in increasing seed order).
    std::map<int64_t, double> baseline, treatment;
    const auto& b = values[claim.baseline][claim.baseline_metric.empty() ? claim.metric : claim.baseline_metric];
    const auto& t = values[claim.treatment][claim.metric];
    for (int64_t seed : profile.seeds) {
      if (b.count(seed)) baseline[seed] = b.at(seed);
      if (t.count(seed)) treatment[seed] = t.at(seed);
    }
    const ClaimResult result = evaluate_claim(claim, baseline, treatment);
    entry["pairs"] = result.effects.size();
    entry["seeds"] = result.seeds;
    entry["effects"] = result.effects;
    if (result.effect) {
      entry["estimate"] = result.effect->mean;
      entry["std"] = result.effect->std;
      entry["ci95"] = {result.effect->ci_low, result.effect->ci_high};
    } else {
      entry["estimate"] = nullptr;
      entry["std"] = nullptr;
      entry["ci95"] = nullptr;
    }
    entry["verdict"] = result.verdict;
    entry["reason"] = result.reason;
    summary["claims"].push_back(entry);
  }
  return summary;
}

}  // namespace tl::experiment
