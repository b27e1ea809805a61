// Training-step benchmark, timed as tl_train runs a step (the Trainer: batch gather, the family's phases, each its
// forward, loss terms, backward, gradient norm and Adam step). Prints one CSV row per model and variant: medians
// after the warm-up steps. bench/train_step_compare.py times PyTorch beside it (bench/train_step_torch.py).
//
// Models (--model, a comma-separated list):
//   reference_vae     the reference VAE of pytorch/examples (784-400-20) on Fashion-MNIST, batch 128;
//   topogen_conv_vae  TopoGen's convolutional VAE (scripts/gpu_check.sh's conv step), batch 128;
//   dcgan_28          the gan family's DCGAN-style nets (channels 64, noise 64) on Fashion-MNIST, batch 64; one step
//                     is both phases (the discriminator's update, then the generator's), each with its own Adam;
//   unet_28           the diffusion family's two-level U-Net (channels 32) on Fashion-MNIST, batch 64, T = 1000;
//   point_gan         the gan family's MLPs (noise 2, 128-128) on a synthetic circle in R^2, batch 128;
//   point_denoiser    the diffusion family's MLP denoiser (128 x 3, time embedding 32) on the same circle, batch 128.
// Variants (--variants; by default plain, talsr_h0 and talsr_h0h1 for the autoencoders, plain and talsr_h0h1 for the
// generative models): a TALSR term, W_1 between H0 (+ H1) diagrams of the input batch and of the latent batch (the
// autoencoders: the codes; a GAN: G(z), in the generator's loss; a diffusion model: the predicted x_0 of the rows
// whose timestep is below diffusion.topology_max_t = T / 5, against the same rows of the real batch).
//
//   bench_train_step [--data DIR] [--batch B] [--steps N] [--warmup W] [--device cpu|cuda]
//                    [--model M[,M...]] [--variants V[,V...]]
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/cli/cli.h"
#include "apps/trainer/progress.h"
#include "apps/trainer/trainer.h"

namespace {

using nlohmann::json;

double median_after(const std::vector<double>& values, size_t warmup) {
  return tl::train::median(
      {values.begin() + static_cast<std::ptrdiff_t>(std::min(warmup, values.size())), values.end()});
}

bool is_gan(const std::string& model) {
  return model == "dcgan_28" || model == "point_gan";
}
bool is_diffusion(const std::string& model) {
  return model == "unet_28" || model == "point_denoiser";
}
bool is_image_generative(const std::string& model) {
  return model == "dcgan_28" || model == "unet_28";
}

const char* topology_of(const std::string& variant) {
  if (variant == "talsr_h0") return R"([{"term": "talsr", "dims": [0], "distance": "w1"}])";
  if (variant == "talsr_h0h1") return R"([{"term": "talsr", "dims": [0, 1], "distance": "w1"}])";
  return "[]";
}

// The run of `model` with `variant`'s topology term: a single epoch of warmup + steps steps.
json bench_config(const std::string& model, const std::string& variant, const std::string& data, int64_t batch,
                  int64_t steps, const std::string& device) {
  const int64_t rows = (steps + 1) * batch;
  json config = {{"model", model},
                 {"topology", json::parse(topology_of(variant))},
                 {"max_steps", steps},
                 {"batch_size", batch},
                 {"device", device},
                 {"progress", false},
                 {"output", "/tmp/bench_train_step_" + model + "_" + variant}};
  if (model == "point_gan" || model == "point_denoiser")
    config["data"] = {{"source", "synthetic"}, {"name", "circle"}, {"count", rows}, {"noise", 0.05}};
  else
    config["data"] = {{"source", "idx"}, {"path", data}, {"limit", rows}, {"test_limit", 1}};
  if (is_gan(model)) {
    config["family"] = "gan";
    config["optimizer"] = {{"type", "adam"}, {"lr", 2e-4}, {"betas", {0.5, 0.999}}};  // PyTorch's DCGAN example
  } else if (is_diffusion(model)) {
    config["family"] = "diffusion";
    config["diffusion"] = {{"steps", 1000}, {"topology_max_t", 200}};
  }
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Median training-step times of the trainer's models, plain and with TALSR H0 / H0+H1 terms.",
               "bench_train_step"};
  std::string data = "/usr/share/datasets/fashion-mnist", device = "cpu";
  std::vector<std::string> models{"reference_vae"}, variants;
  int64_t batch = 0, steps = 60, warmup = 10;
  app.add_option("--data", data, "directory of MNIST-style IDX files")->capture_default_str();
  app.add_option("--batch", batch, "batch size (0: the model's, 64 for dcgan_28 and unet_28, 128 otherwise)")
      ->check(tl::cli::at_least(0))
      ->capture_default_str();
  app.add_option("--steps", steps, "timed steps")->check(tl::cli::positive())->capture_default_str();
  app.add_option("--warmup", warmup, "untimed steps first")->check(tl::cli::at_least(0))->capture_default_str();
  app.add_option("--device", device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  app.add_option("--model", models, "the model presets, comma-separated")
      ->delimiter(',')
      ->check(
          CLI::IsMember({"reference_vae", "topogen_conv_vae", "dcgan_28", "unet_28", "point_gan", "point_denoiser"}))
      ->capture_default_str();
  app.add_option("--variants", variants, "plain, talsr_h0, talsr_h0h1, comma-separated (default: by model)")
      ->delimiter(',')
      ->check(CLI::IsMember({"plain", "talsr_h0", "talsr_h0h1"}));

  const auto body = [&] {
    std::printf("model,variant,device,batch,steps_timed,median_step_ms,median_topology_ms\n");
    for (const std::string& model : models) {
      const bool generative = is_gan(model) || is_diffusion(model);
      const int64_t b = batch > 0 ? batch : is_image_generative(model) ? 64 : 128;
      std::vector<std::string> chosen = variants;
      if (chosen.empty())
        chosen = generative ? std::vector<std::string>{"plain", "talsr_h0h1"}
                            : std::vector<std::string>{"plain", "talsr_h0", "talsr_h0h1"};
      for (const std::string& variant : chosen) {
        tl::train::Trainer trainer(
            tl::train::parse_config(bench_config(model, variant, data, b, steps + warmup, device)),
            tl::train::EarlierRun::Replace);
        trainer.train();
        std::printf("%s,%s,%s,%lld,%lld,%.3f,%.3f\n", model.c_str(), variant.c_str(), device.c_str(),
                    static_cast<long long>(b), static_cast<long long>(steps),
                    median_after(trainer.step_milliseconds(), warmup),
                    median_after(trainer.topology_milliseconds(), warmup));
        std::fflush(stdout);
      }
    }
    return tl::cli::kExitOk;
  };
  return tl::cli::run_main(app, argc, argv, body);
}
