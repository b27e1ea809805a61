// tl_train: trains a model from a JSON config and evaluates it, writing log.jsonl, checkpoint.tlc, report.json
// and report.md into the config's output directory.
//
//   tl_train CONFIG.json [key.path=value ...] [--no-eval] [--force]
//   tl_train --resume DIR/checkpoint.tlc [epochs=N | max_steps=N | output=DIR | progress=false | ...]
//
// A fresh run refuses an output directory that holds an earlier run unless --force; a resumed run writes beside its
// checkpoint unless output=DIR is given. Exit status: 0 done, 1 bad input (arguments, config, data, checkpoint) or
// a failed write, 3 training diverged (NaN/Inf; the message names the loss term and the step, and the last good
// checkpoint is kept).
//
//   mpirun -np K tl_train CONFIG.json ...   data-parallel: K processes, each with batch_size / K rows of every batch
//
// (apps/trainer/process_group.h). Rank 0 writes the files and evaluates; an error on any process ends them all.
#include <cstdio>
#include <string>

#include "apps/cli/cli.h"
#include "apps/trainer/config_section.h"
#include "apps/trainer/trainer.h"

int main(int argc, char** argv) {
  using namespace tl::train;
  const std::string resumable = joined(resumable_keys());

  CLI::App app{"Trains a model from a JSON config (configs/) and evaluates it on the test split.", "tl_train"};
  tl::cli::ConfigArguments args;
  std::string resume_path;
  bool no_eval = false, force = false;
  ProcessGroup* group = nullptr;  // started in body (a build without MPI refuses there, under mpirun)
  tl::cli::add_config_arguments(app, args, "the config (not with --resume), then overrides of its keys");
  app.add_option("--resume", resume_path,
                 "continue from a checkpoint, writing beside it unless output=DIR; overrides limited to " + resumable)
      ->type_name("CHECKPOINT");
  app.add_flag("--no-eval", no_eval, "skip the test-set evaluation and the report");
  app.add_flag("--force", force, "replace an earlier run in the output directory (its log, checkpoint and report)");
  app.footer("Exit status: 0 done, 1 bad input or a failed write, 3 training diverged.");

  const auto body = [&] {
    if (args.config.empty() == resume_path.empty())
      throw CLI::ValidationError("give either CONFIG.json or --resume CHECKPOINT");
    nlohmann::json document;
    if (resume_path.empty()) {
      document = read_config_file(args.config);
      for (const std::string& o : args.overrides) apply_override(document, o);
    } else {
      document = resume_document(resume_path, args.overrides);
    }
    group = &process_group();
    Trainer trainer(parse_config(document), force ? EarlierRun::Replace : EarlierRun::Refuse);
    if (!resume_path.empty()) trainer.load_checkpoint(resume_path);
    trainer.train();
    if (group->rank() != 0) return tl::cli::kExitOk;  // rank 0 reports and evaluates
    std::fprintf(stderr, "trained %lld steps; checkpoint %s\n", static_cast<long long>(trainer.step()),
                 trainer.checkpoint_path().c_str());
    if (!no_eval) {
      const nlohmann::json evaluation = trainer.evaluate();
      trainer.write_report(evaluation);
      std::printf("%s\n", evaluation.dump(2).c_str());
      if (std::fflush(stdout) != 0) throw tl::Error("writing the evaluation to standard output failed");
      std::fprintf(stderr, "report: %s/report.md\n", trainer.config().output.c_str());
    }
    return tl::cli::kExitOk;
  };
  const ProcessGroupScope mpi;
  const int status =
      tl::cli::run_main(app, argc, argv, body, {tl::cli::exit_on<TrainingDiverged>(3, "training diverged")});
  // A process that stops alone would leave the others of a data-parallel run waiting for it.
  if (status != tl::cli::kExitOk && group != nullptr && group->size() > 1) group->abort(status);
  return status;
}
