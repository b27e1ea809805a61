// The experiment's data and its aggregation over seeds (docs/experiments.md): the parsed experiment file, the
// metrics of one run (every numeric leaf of evaluation.json, train.* of report.json, log.<key>.step_<s> of
// log.jsonl), the per-arm statistics (n, mean, sample std, 95 % t interval) and the verdicts on the claims. Pure
// functions of values and texts, so that they are tested without running a process; summary.json is assembled
// by build_summary and written by runner.cpp.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tl::experiment {

struct Arm {
  std::string name, label, config;
  std::vector<std::string> overrides;
};

struct Profile {
  std::string name;
  std::vector<int64_t> seeds;
  std::vector<std::string> overrides, evaluate;
};

struct Claim {
  std::string text, source, metric;
  std::string baseline_metric;   // the baseline's metric when it is another (e.g. two samplers of one arm); else metric
  std::string kind;              // difference | relative | ratio
  std::string better;            // difference: lower | higher
  double low = 0.0, high = 0.0;  // relative (percent) and ratio: the claimed range
  std::string baseline, treatment;
};

struct ClassifierRequest {
  std::string data;
  int64_t epochs = 2;
  std::string split_from;      // "train" | "t10k": tl_classify --split-from (a directory with one file set); empty: none
  double test_fraction = 0.1;  // with split_from: --test-fraction
};

struct Experiment {
  std::string name, title, description;
  std::vector<Arm> arms;
  std::vector<Profile> profiles;  // in file order
  std::vector<std::string> evaluate;
  std::optional<ClassifierRequest> classifier;
  std::vector<int64_t> log_steps;
  std::vector<Claim> claims;
};

// One (arm, seed) run as the summary lists it. status: done, failed, or missing (not run yet: --report-only, or
// a run that could not start because an earlier step failed).
struct RunRecord {
  std::string arm;
  int64_t seed = 0;
  std::string directory;  // relative to the output directory: ARM/seed_S
  std::string status = "missing";
  std::optional<double> seconds;
  std::string error;
};

// Metric key -> value of one run.
using RunMetrics = std::map<std::string, double>;

// The numeric leaves of `document` (numbers only: booleans, strings, nulls and arrays are skipped), nested keys
// joined by dots after `prefix` (e.g. prefix "train" gives "train.median_step_ms"; an empty prefix none).
void flatten_numeric(const nlohmann::json& document, const std::string& prefix, RunMetrics& out);

// log.<key>.step_<s> for each s of `steps`: the numeric fields (but "step" and "epoch") of the log.jsonl record
// whose "step" equals s (the last such record); lines that are not JSON objects (a torn last line) are skipped.
RunMetrics log_metrics(const std::string& log_jsonl, const std::vector<int64_t>& steps);

// The metrics of one finished run directory: evaluation.json (required; throws naming it when it is not
// readable JSON), report.json's "train" object (when present) and log.jsonl at `log_steps` (when present).
RunMetrics read_run_metrics(const std::string& run_directory, const std::vector<int64_t>& log_steps);

// t(0.975, df): the two-sided 95 % quantile of Student's t with df degrees of freedom. df 1..30 are tabulated
// (to 7 digits); above, the Cornish-Fisher expansion of Abramowitz and Stegun 26.7.5 in powers of 1/df around
// z = 1.959964 (error below 1e-6 there). df must be at least 1.
double t_quantile_975(int64_t df);

struct Statistics {
  int64_t n = 0;
  double mean = 0.0, std = 0.0;        // std: the sample standard deviation (divisor n - 1), 0 for n = 1
  double ci_low = 0.0, ci_high = 0.0;  // mean -+ t(0.975, n - 1) std / sqrt(n); [mean, mean] for n = 1
};
// Of a non-empty list of values.
Statistics statistics(const std::vector<double>& values);

// A claim's verdict on per-seed pairs of its metric (baseline and treatment values by seed).
struct ClaimResult {
  std::vector<int64_t> seeds;        // the paired seeds, in order
  std::vector<double> effects;       // d_s per pair
  std::optional<Statistics> effect;  // none without pairs
  std::string verdict;               // reproduced | not reproduced | inconclusive
  std::string reason;                // one sentence
};
ClaimResult evaluate_claim(const Claim& claim, const std::map<int64_t, double>& baseline,
                           const std::map<int64_t, double>& treatment);

// summary.json (docs/experiments.md) from the runs and, per (arm, seed), the metrics of the runs that finished.
nlohmann::json build_summary(const Experiment& experiment, const Profile& profile, const std::vector<RunRecord>& runs,
                             const std::map<std::pair<std::string, int64_t>, RunMetrics>& metrics);

}  // namespace tl::experiment
