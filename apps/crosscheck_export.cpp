// tl_crosscheck_export: writes what a peer framework needs to replay a few training steps of the reference VAE
// exactly: the initial parameters, each step's batch and reparameterisation noise, our loss terms and gradients,
// and the parameters after the last Adam step (.npy files plus steps.json). scripts/crosscheck_pytorch.py replays
// them in PyTorch and compares.
//
//   tl_crosscheck_export DATA_DIR OUT_DIR [--steps K] [--batch B] [--seed S]     exit 0: written, 1: error
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "apps/cli/cli.h"
#include "core/ops.h"
#include "nn/data/dataset.h"
#include "nn/data/point_cloud_io.h"
#include "nn/models.h"
#include "nn/optim.h"

namespace {

// .npy of any float tensor as 2-D: vectors become one row.
void write_npy(const std::string& path, const tl::Tensor& t) {
  tl::data::write_npy_points(path, t.rank() == 2 ? t : tl::reshape(t.detach(), {1, t.numel()}));
}

void write_parameters(const std::string& directory, const std::string& prefix, tl::nn::Module& model) {
  for (auto& [name, tensor] : model.named_parameters()) write_npy(directory + "/" + prefix + name + ".npy", *tensor);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Writes a few reference-VAE training steps for scripts/crosscheck_pytorch.py to replay.",
               "tl_crosscheck_export"};
  std::string data_dir, out;
  int64_t steps = 3, batch = 32;
  uint64_t seed = 0;
  app.add_option("DATA_DIR", data_dir, "directory of MNIST-style IDX files (the test split is read)")->required();
  app.add_option("OUT_DIR", out, "where the .npy files and steps.json go")->required();
  app.add_option("--steps", steps, "Adam steps")->check(tl::cli::positive())->capture_default_str();
  app.add_option("--batch", batch, "batch size")->check(tl::cli::positive())->capture_default_str();
  app.add_option("--seed", seed, "seed of the initial weights and the noise")->capture_default_str();

  const auto body = [&] {
    std::filesystem::create_directories(out);
    const tl::data::Dataset data = tl::data::load_idx_dataset(data_dir, tl::data::Split::Test, steps * batch);
    TL_CHECK_AS(ValueError, data.size() == steps * batch, "'", data_dir, "' holds fewer than ", steps * batch,
                " test images");
    tl::Generator init(seed);
    tl::nn::Autoencoder model(tl::nn::autoencoder_preset("reference_vae"), init);
    tl::nn::Optimizer optimizer(model.named_parameters(), tl::nn::OptimizerOptions{});
    write_parameters(out, "initial.", model);
    nlohmann::json record = {
        {"steps", steps}, {"batch", batch}, {"lr", optimizer.lr()}, {"losses", nlohmann::json::array()}};
    for (int64_t step = 0; step < steps; ++step) {
      const tl::Tensor x = tl::slice(data.inputs, 0, step * batch, (step + 1) * batch);
      tl::Generator noise(seed + 1, static_cast<uint64_t>(step) << 32);
      tl::Generator replay = noise;  // the eps that run() draws first
      const tl::Tensor eps = tl::Tensor::normal({batch, 20}, replay);
      const tl::nn::AutoencoderOutput output = model.run(x, noise);
      const tl::Tensor reconstruction = tl::bce_with_logits(output.reconstruction, x, tl::Reduction::BatchMean);
      const tl::Tensor kl = tl::gaussian_kl(output.mu, output.logvar, tl::Reduction::BatchMean);
      optimizer.zero_grad();
      (reconstruction + kl).backward();
      const std::string tag = "step" + std::to_string(step) + ".";
      write_npy(out + "/" + tag + "x.npy", x);
      write_npy(out + "/" + tag + "eps.npy", eps);
      for (auto& [name, tensor] : model.named_parameters())
        write_npy(out + "/" + tag + "grad." + name + ".npy", tensor->grad());
      record["losses"].push_back({{"reconstruction", reconstruction.item()}, {"kl", kl.item()}});
      optimizer.step();
    }
    write_parameters(out, "final.", model);
    std::ofstream(out + "/steps.json") << record.dump(2) << "\n";
    return tl::cli::kExitOk;
  };
  return tl::cli::run_main(app, argc, argv, body);
}
