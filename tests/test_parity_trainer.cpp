// Training on CUDA against the CPU: the same config and seed give parameters within a stated tolerance of the
// CPU run after a few steps, and the same bits on every CUDA run. Needs a GPU (skipped otherwise).
#include <filesystem>

#include "apps/trainer/trainer.h"
#include "tests/test_support.h"

namespace tl::testing {

TEST_CASE("a short training run on CUDA stays within tolerance of the CPU run and repeats bit for bit") {
  // An MLP VAE with a TALSR H0 term on clusters: both the model and the topology backends are exercised.
  nlohmann::json config = nlohmann::json::parse(R"({
    "model": {"preset": "mlp_vae", "input": 10, "hidden": [32], "latent": 2},
    "data": {"source": "synthetic", "name": "clusters", "count": 512},
    "loss": {"reconstruction": "mse"},
    "topology": [{"term": "talsr", "weight": 0.1, "dims": [0]}],
    "optimizer": {"type": "adam", "lr": 0.001},
    "max_steps": 10, "batch_size": 64, "seed": 3, "progress": false
  })");
  const std::string base = (std::filesystem::temp_directory_path() / "topolatent_parity_trainer").string();
  std::vector<Tensor> states;
  std::vector<uint64_t> cuda_hashes;
  for (const char* device : {"cpu", "cuda", "cuda"}) {
    config["device"] = device;
    config["output"] = base + "/" + device + std::to_string(states.size());
    train::Trainer trainer(train::parse_config(config), train::EarlierRun::Replace);  // reruns reuse the directory
    trainer.train();
    if (std::string(device) == "cuda") cuda_hashes.push_back(trainer.state_hash());
    std::vector<Tensor> parameters;
    for (const Tensor& p : trainer.parameters()) parameters.push_back(reshape(p.detach().to(Device::CPU), {p.numel()}));
    states.push_back(concat(parameters, 0));
  }
  // Ten Adam steps of lr 1e-3 from identical weights: float32 rounding differences (GEMM order, reductions) stay
  // far below one step's size.
  check_close(states[1], states[0], 1e-3, 1e-4, "parameters after 10 steps, CUDA vs CPU");
  CHECK(cuda_hashes[0] == cuda_hashes[1]);
}

}  // namespace tl::testing
