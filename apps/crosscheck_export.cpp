// tl_crosscheck_export: writes what a peer framework needs to replay a few training steps of the reference VAE
// exactly: the initial parameters, each step's batch and reparameterisation noise, our loss terms and gradients,
// and the parameters after the last Adam step (.npy files plus steps.json). scripts/crosscheck_pytorch.py replays
// them in PyTorch and compares.
//
//   tl_crosscheck_export DATA_DIR OUT_DIR [--steps K] [--batch B] [--seed S]
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

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
  if (argc < 3) {
    std::fprintf(stderr, "usage: tl_crosscheck_export DATA_DIR OUT_DIR [--steps K] [--batch B] [--seed S]\n");
    return 1;
  }
  const std::string data_dir = argv[1], out = argv[2];
  int64_t steps = 3, batch = 32;
  uint64_t seed = 0;
  try {
    for (int i = 3; i < argc; i += 2) {
      const std::string flag = argv[i];
      TL_CHECK_AS(ValueError, i + 1 < argc, "option ", flag, " needs a value");
      if (flag == "--steps")
        steps = std::stoll(argv[i + 1]);
      else if (flag == "--batch")
        batch = std::stoll(argv[i + 1]);
      else if (flag == "--seed")
        seed = std::stoull(argv[i + 1]);
      else
        TL_FAIL(ValueError, "unknown option ", flag, " (expected --steps, --batch or --seed)");
    }
    TL_CHECK_AS(ValueError, steps > 0 && batch > 0, "--steps and --batch must be positive");
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
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
