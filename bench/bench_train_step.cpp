// Training-step benchmark: the reference VAE of pytorch/examples (784-400-20) on Fashion-MNIST, batch 128 by
// default, timed as tl_train runs it (batch gather, forward, loss terms, backward, Adam), without and with a
// TALSR term (W_1 between the H0+H1 diagrams of the input batch and of the latent batch). Prints one CSV row
// per configuration: medians after the warm-up steps. bench/train_step_compare.py times PyTorch beside it.
// --model topogen_conv_vae times TopoGen's convolutional VAE instead (scripts/gpu_check.sh's conv step).
//
//   bench_train_step [--data DIR] [--batch B] [--steps N] [--warmup W] [--device cpu|cuda]
//                    [--model reference_vae|topogen_conv_vae]
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/cli/cli.h"
#include "apps/trainer/progress.h"
#include "apps/trainer/trainer.h"

namespace {

double median_after(const std::vector<double>& values, size_t warmup) {
  return tl::train::median(
      {values.begin() + static_cast<std::ptrdiff_t>(std::min(warmup, values.size())), values.end()});
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Median training-step times of the reference VAE, plain and with TALSR H0 / H0+H1 terms.",
               "bench_train_step"};
  std::string data = "/usr/share/datasets/fashion-mnist", device = "cpu", model = "reference_vae";
  int64_t batch = 128, steps = 60, warmup = 10;
  app.add_option("--data", data, "directory of MNIST-style IDX files")->capture_default_str();
  app.add_option("--batch", batch, "batch size")->check(tl::cli::positive())->capture_default_str();
  app.add_option("--steps", steps, "timed steps")->check(tl::cli::positive())->capture_default_str();
  app.add_option("--warmup", warmup, "untimed steps first")->check(tl::cli::at_least(0))->capture_default_str();
  app.add_option("--device", device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  app.add_option("--model", model, "the model preset")
      ->check(CLI::IsMember({"reference_vae", "topogen_conv_vae"}))
      ->capture_default_str();

  const auto body = [&] {
    struct Variant {
      const char* name;
      const char* topology;
    };
    const Variant variants[] = {
        {"plain", "[]"},
        {"talsr_h0", R"([{"term": "talsr", "dims": [0], "distance": "w1"}])"},
        {"talsr_h0h1", R"([{"term": "talsr", "dims": [0, 1], "distance": "w1"}])"},
    };
    std::printf("model,variant,device,batch,steps_timed,median_step_ms,median_topology_ms\n");
    for (const Variant& v : variants) {
      nlohmann::json config = {
          {"model", model},
          {"data", {{"source", "idx"}, {"path", data}, {"limit", (steps + warmup + 1) * batch}, {"test_limit", 1}}},
          {"topology", nlohmann::json::parse(v.topology)},
          {"max_steps", steps + warmup},
          {"batch_size", batch},
          {"device", device},
          {"progress", false},
          {"output", std::string("/tmp/bench_train_step_") + v.name}};
      tl::train::Trainer trainer(tl::train::parse_config(config), tl::train::EarlierRun::Replace);
      trainer.train();
      std::printf("%s,%s,%s,%lld,%lld,%.3f,%.3f\n", model.c_str(), v.name, device.c_str(),
                  static_cast<long long>(batch), static_cast<long long>(steps),
                  median_after(trainer.step_milliseconds(), warmup),
                  median_after(trainer.topology_milliseconds(), warmup));
      std::fflush(stdout);
    }
    return tl::cli::kExitOk;
  };
  return tl::cli::run_main(app, argc, argv, body);
}
