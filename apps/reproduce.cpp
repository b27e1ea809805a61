// tl_reproduce: checks that a config trains reproducibly on this device. It trains N steps from scratch twice,
// and once stopping at step N/2 with a checkpoint, then resuming to N; the three final states (parameters,
// buffers, optimiser moments) must hash to the same value. The runs write into a fresh temporary directory,
// removed at the end, also when a run fails.
//
//   tl_reproduce CONFIG.json [--steps N] [key.path=value ...]     exit 0: identical, 2: they differ, 1: error
#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "apps/cli/cli.h"
#include "apps/trainer/trainer.h"

namespace {

constexpr int kExitDiffer = 2;

// A fresh directory under the system's temporary path, removed with everything in it when this goes out of scope.
class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tl_reproduce_XXXXXX").string();
    TL_CHECK(::mkdtemp(pattern.data()) != nullptr, "cannot create a temporary directory '", pattern,
             "': ", std::strerror(errno));
    path_ = pattern;
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Trains `document` (a run of max_steps steps) into `output` up to step `until`, from `resume_from` when given.
uint64_t run(nlohmann::json document, int64_t until, const std::string& output, const std::string& resume_from) {
  using namespace tl::train;
  document["output"] = output;
  Trainer trainer(parse_config(document));
  if (!resume_from.empty()) trainer.load_checkpoint(resume_from);
  trainer.train_until(until);
  return trainer.state_hash();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Trains a config twice from scratch and once with a resume; the final states must be bit-identical.",
               "tl_reproduce"};
  tl::cli::ConfigArguments args;
  int64_t steps = 20;
  tl::cli::add_config_arguments(app, args, "the config, then overrides of its keys");
  app.add_option("--steps", steps, "steps of each run; the resume starts at N/2")
      ->check(tl::cli::at_least(2))
      ->capture_default_str();
  app.footer("Exit status: 0 the three states are identical, 2 they differ, 1 error.");

  const auto body = [&] {
    if (args.config.empty()) throw CLI::RequiredError("CONFIG.json");
    nlohmann::json document = tl::train::read_config_file(args.config);
    for (const std::string& o : args.overrides) tl::train::apply_override(document, o);
    tl::train::apply_override(document, "max_steps=" + std::to_string(steps));
    tl::train::apply_override(document, "progress=false");
    const TemporaryDirectory base;
    const uint64_t first = run(document, steps, base.path() + "/first", "");
    const uint64_t second = run(document, steps, base.path() + "/second", "");
    run(document, steps / 2, base.path() + "/resumed", "");
    const uint64_t resumed = run(document, steps, base.path() + "/resumed", base.path() + "/resumed/checkpoint.tlc");
    std::printf("state hash after %lld steps: run 1 %016llx, run 2 %016llx, resumed at step %lld %016llx\n",
                static_cast<long long>(steps), static_cast<unsigned long long>(first),
                static_cast<unsigned long long>(second), static_cast<long long>(steps / 2),
                static_cast<unsigned long long>(resumed));
    const bool same = first == second && first == resumed;
    std::printf("%s\n", same ? "reproducible: all three states are bit-identical" : "NOT reproducible");
    return same ? tl::cli::kExitOk : kExitDiffer;
  };
  return tl::cli::run_main(app, argc, argv, body);
}
