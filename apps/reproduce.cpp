// tl_reproduce: checks that a config trains reproducibly on this device. It trains N steps from scratch twice,
// and once as N/2 steps, a checkpoint, and a resume to N; the three final states (parameters, buffers, optimiser
// moments) must hash to the same value.
//
//   tl_reproduce CONFIG.json [--steps N] [key.path=value ...]     exit 0: identical, 2: they differ, 1: error
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/trainer/trainer.h"

namespace {

uint64_t run(nlohmann::json document, int64_t steps, const std::string& output, const std::string& resume_from) {
  using namespace tl::train;
  tl::train::apply_override(document, "max_steps=" + std::to_string(steps));
  tl::train::apply_override(document, "progress=false");
  document["output"] = output;
  Trainer trainer(parse_config(document));
  if (!resume_from.empty()) trainer.load_checkpoint(resume_from);
  trainer.train();
  return trainer.state_hash();
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  int64_t steps = 20;
  std::vector<std::string> overrides;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--steps" && i + 1 < argc) {
      steps = std::stoll(argv[++i]);
    } else if (arg.find('=') != std::string::npos) {
      overrides.push_back(arg);
    } else if (config_path.empty()) {
      config_path = arg;
    } else {
      std::fprintf(stderr, "usage: tl_reproduce CONFIG.json [--steps N] [key.path=value ...]\n");
      return 1;
    }
  }
  if (config_path.empty() || steps < 2) {
    std::fprintf(stderr, "usage: tl_reproduce CONFIG.json [--steps N >= 2] [key.path=value ...]\n");
    return 1;
  }
  try {
    nlohmann::json document = tl::train::read_config_file(config_path);
    for (const std::string& o : overrides) tl::train::apply_override(document, o);
    const std::string base =
        (std::filesystem::temp_directory_path() / ("tl_reproduce_" + std::to_string(::getpid()))).string();
    const uint64_t first = run(document, steps, base + "/first", "");
    const uint64_t second = run(document, steps, base + "/second", "");
    run(document, steps / 2, base + "/resumed", "");
    const uint64_t resumed = run(document, steps, base + "/resumed", base + "/resumed/checkpoint.tlc");
    std::filesystem::remove_all(base);
    std::printf("state hash after %lld steps: run 1 %016llx, run 2 %016llx, resumed at step %lld %016llx\n",
                static_cast<long long>(steps), static_cast<unsigned long long>(first),
                static_cast<unsigned long long>(second), static_cast<long long>(steps / 2),
                static_cast<unsigned long long>(resumed));
    const bool same = first == second && first == resumed;
    std::printf("%s\n", same ? "reproducible: all three states are bit-identical" : "NOT reproducible");
    return same ? 0 : 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
