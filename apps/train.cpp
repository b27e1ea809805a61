// tl_train: trains a model from a JSON config and evaluates it, writing log.jsonl, checkpoint.tlc, report.json
// and report.md into the config's output directory.
//
//   tl_train CONFIG.json [key.path=value ...] [--no-eval]
//   tl_train --resume OUTPUT/checkpoint.tlc [epochs=N | max_steps=N | output=DIR | progress=false | ...]
//
// Exit status: 0 done, 1 bad input (arguments, config, data, checkpoint), 3 training diverged (NaN/Inf; the
// message names the loss term and the step, and the last good checkpoint is kept).
#include <cstdio>
#include <set>
#include <string>

#include "apps/cli/cli.h"
#include "apps/trainer/checkpoint.h"
#include "apps/trainer/trainer.h"

int main(int argc, char** argv) {
  using namespace tl::train;
  // A resumed run keeps its trajectory: only keys that do not change it may be overridden.
  static const std::set<std::string> kResumable{"epochs", "max_steps", "output", "progress", "checkpoint_every"};
  std::string resumable;
  for (const std::string& k : kResumable) resumable += (resumable.empty() ? "" : ", ") + k;

  CLI::App app{"Trains a model from a JSON config (configs/) and evaluates it on the test split.", "tl_train"};
  tl::cli::ConfigArguments args;
  std::string resume_path;
  bool no_eval = false;
  tl::cli::add_config_arguments(app, args, "the config (not with --resume), then overrides of its keys");
  app.add_option("--resume", resume_path, "continue from a checkpoint; overrides limited to " + resumable)
      ->type_name("CHECKPOINT");
  app.add_flag("--no-eval", no_eval, "skip the test-set evaluation and the report");
  app.footer("Exit status: 0 done, 1 bad input (arguments, config, data, checkpoint), 3 training diverged.");

  const auto body = [&] {
    if (args.config.empty() == resume_path.empty())
      throw CLI::ValidationError("give either CONFIG.json or --resume CHECKPOINT");
    nlohmann::json document;
    if (!resume_path.empty()) {
      for (const std::string& o : args.overrides) {
        const std::string key = o.substr(0, o.find('='));
        if (kResumable.count(key) == 0)
          throw CLI::ValidationError("'" + key + "' cannot change when resuming (allowed: " + resumable + ")");
      }
      document = read_checkpoint(resume_path).meta.at("config");
    } else {
      document = read_config_file(args.config);
    }
    for (const std::string& o : args.overrides) apply_override(document, o);
    Trainer trainer(parse_config(document));
    if (!resume_path.empty()) trainer.load_checkpoint(resume_path);
    trainer.train();
    std::fprintf(stderr, "trained %lld steps; checkpoint %s\n", static_cast<long long>(trainer.step()),
                 trainer.checkpoint_path().c_str());
    if (!no_eval) {
      const nlohmann::json evaluation = trainer.evaluate();
      trainer.write_report(evaluation);
      std::printf("%s\n", evaluation.dump(2).c_str());
      std::fprintf(stderr, "report: %s/report.md\n", trainer.config().output.c_str());
    }
    return tl::cli::kExitOk;
  };
  return tl::cli::run_main(app, argc, argv, body, {tl::cli::exit_on<TrainingDiverged>(3, "training diverged")});
}
