// tl_experiment's runner (docs/experiments.md): reads and validates an experiment file, runs every (arm, seed) of a
// profile as tl_train then tl_evaluate child processes (N at a time, each logging into its run.log, resumable:
// a run with evaluation.json is never rerun, one with only a checkpoint is resumed), aggregates the runs into
// summary.json (aggregate.h) and renders report.html (html_report.h).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "apps/experiment/aggregate.h"

namespace tl::experiment {

// The experiment of a parsed file. Throws tl::ValueError naming the key of the first problem
// ("claims.0.kind: must be one of difference, relative, ratio"): an unknown key, a missing or mistyped value, a
// config file that is not there (relative to the working directory), duplicate arm names or seeds, a claim naming
// an unknown arm, an empty seed list, an override or evaluate argument the runner sets itself.
Experiment parse_experiment(const nlohmann::json& document);

// The same from a file; messages start with its path ("experiments/x.json: arms.1.name: ...").
Experiment read_experiment_file(const std::string& path);

// The profile named `name`; throws tl::ValueError listing the file's profiles when there is none.
const Profile& select_profile(const Experiment& experiment, const std::string& name);

struct RunnerOptions {
  std::string profile = "quick";
  int jobs = 1;
  std::string out;              // empty: runs/experiments/NAME
  bool report_only = false;     // aggregate what exists, run nothing
  std::string tools_directory;  // empty: the directory of the running executable
};

// The exit status of tl_experiment for an experiment file: 0 when every run finished, 2 when a run failed (the
// summary and the report are written all the same). Bad input throws (tl_experiment then exits with 1).
int run_experiment(const std::string& file, const RunnerOptions& options);

// The directory of /proc/self/exe.
std::string executable_directory();

}  // namespace tl::experiment
