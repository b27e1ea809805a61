// tl_train: trains a model from a JSON config and evaluates it, writing log.jsonl, checkpoint.tlc, report.json
// and report.md into the config's output directory.
//
//   tl_train CONFIG.json [key.path=value ...] [--no-eval]
//   tl_train --resume OUTPUT/checkpoint.tlc [epochs=N | max_steps=N | output=DIR | progress=false | ...]
//
// Exit status: 0 done, 1 bad input (config, data, checkpoint), 3 training diverged (NaN/Inf; the message names
// the loss term and the step, and the last good checkpoint is kept).
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "apps/trainer/checkpoint.h"
#include "apps/trainer/trainer.h"

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: tl_train CONFIG.json [key.path=value ...] [--no-eval]\n"
               "       tl_train --resume CHECKPOINT [epochs=N max_steps=N output=DIR progress=false "
               "checkpoint_every=N] [--no-eval]\n");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tl::train;
  std::string config_path, resume_path;
  std::vector<std::string> overrides;
  bool evaluate = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--resume" && i + 1 < argc) {
      resume_path = argv[++i];
    } else if (arg == "--no-eval") {
      evaluate = false;
    } else if (arg == "-h" || arg == "--help") {
      usage();
      return 0;
    } else if (arg.find('=') != std::string::npos) {
      overrides.push_back(arg);
    } else if (config_path.empty() && arg.rfind("--", 0) != 0) {
      config_path = arg;
    } else {
      usage();
      return 1;
    }
  }
  if (config_path.empty() == resume_path.empty()) {
    usage();
    return 1;
  }
  try {
    nlohmann::json document;
    if (!resume_path.empty()) {
      // A resumed run keeps its trajectory: only keys that do not change it may be overridden.
      static const std::set<std::string> kResumable{"epochs", "max_steps", "output", "progress", "checkpoint_every"};
      for (const std::string& o : overrides) {
        const std::string key = o.substr(0, o.find('='));
        if (kResumable.count(key) == 0) {
          std::string allowed;
          for (const std::string& k : kResumable) allowed += (allowed.empty() ? "" : ", ") + k;
          std::fprintf(stderr, "error: '%s' cannot change when resuming (allowed: %s)\n", key.c_str(), allowed.c_str());
          return 1;
        }
      }
      document = read_checkpoint(resume_path).meta.at("config");
    } else {
      document = read_config_file(config_path);
    }
    for (const std::string& o : overrides) apply_override(document, o);
    Trainer trainer(parse_config(document));
    if (!resume_path.empty()) trainer.load_checkpoint(resume_path);
    trainer.train();
    std::fprintf(stderr, "trained %lld steps; checkpoint %s\n", static_cast<long long>(trainer.step()),
                 trainer.checkpoint_path().c_str());
    if (evaluate) {
      const nlohmann::json evaluation = trainer.evaluate();
      trainer.write_report(evaluation);
      std::printf("%s\n", evaluation.dump(2).c_str());
      std::fprintf(stderr, "report: %s/report.md\n", trainer.config().output.c_str());
    }
  } catch (const TrainingDiverged& e) {
    std::fprintf(stderr, "training diverged: %s\n", e.what());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
