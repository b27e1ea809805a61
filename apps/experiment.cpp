// tl_experiment: reruns one seed paper's experiment (docs/experiments.md): every arm of an experiment file for
// every seed of a profile, each run trained by tl_train and measured by tl_evaluate as child processes (the tools
// beside this executable), then aggregated over seeds into OUT/summary.json with a verdict on each claim, and
// rendered into OUT/report.html. A finished run (its evaluation.json exists) is never rerun; a run with only a
// checkpoint is resumed; so the command can be interrupted and started again.
//
//   tl_experiment experiments/NAME.json [--profile quick] [--jobs 1] [--out runs/experiments/NAME] [--report-only]
//   exit 0: every run done, 1: bad input (the file, an option) or an error, 2: a run failed (summary and report
//   are written all the same, from the runs that finished)
#include <string>

#include "apps/cli/cli.h"
#include "apps/experiment/runner.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Runs an experiment file (docs/experiments.md): every arm for every seed, tl_train then tl_evaluate, "
      "aggregated into summary.json and report.html.",
      "tl_experiment"};
  std::string file;
  tl::experiment::RunnerOptions options;
  app.add_option("FILE", file, "the experiment file (experiments/NAME.json)")->required();
  app.add_option("--profile", options.profile, "the file's profile to run")->capture_default_str();
  app.add_option("--jobs", options.jobs, "runs at a time")->check(tl::cli::positive())->capture_default_str();
  app.add_option("--out", options.out, "output directory (default: runs/experiments/NAME)")->type_name("DIR");
  app.add_flag("--report-only", options.report_only,
               "run nothing: aggregate the runs that exist and write summary.json and report.html");
  app.footer(
      "Exit status: 0 every run done, 1 bad input or an error, 2 a run failed (the summary and the report "
      "are written all the same).");
  return tl::cli::run_main(app, argc, argv, [&] { return tl::experiment::run_experiment(file, options); });
}
