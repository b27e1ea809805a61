// Training on CUDA against the CPU: the same config and seed give parameters within a stated tolerance of the
// CPU run after a few steps, and the same bits on every CUDA run (an MLP VAE with TALSR, the conv VAE with TopoGen's
// T1, a DCGAN and a U-Net DDPM with TALSR terms); the trainer's topological terms give the CPU's
// losses and gradients; one TALSR step makes no more host round trips than stated; the data-parallel collectives
// (NCCL under mpirun) give the CPU's gathered rows and averaged gradients. Needs a GPU (skipped otherwise).

#include "apps/trainer/data_parallel.h"
#include "apps/trainer/trainer.h"
#include "core/base/memory.h"
#include "nn/data/synthetic.h"
#include "nn/optim.h"
#include "tests/test_support.h"
#include "topology/regularizers.h"

namespace tl::testing {

namespace {

// Trains `config` on the CPU and twice on CUDA (each from scratch); returns the three final parameter vectors (on the
// CPU) and the two CUDA runs' state hashes.
struct DeviceRuns {
  std::vector<Tensor> states;
  std::vector<uint64_t> cuda_hashes;
};
DeviceRuns train_on_devices(nlohmann::json config, const std::string& name) {
  const std::string base = scratch_directory("parity_" + name);
  DeviceRuns runs;
  for (const char* device : {"cpu", "cuda", "cuda"}) {
    config["device"] = device;
    config["output"] = base + "/" + device + std::to_string(runs.states.size());
    train::Trainer trainer(train::parse_config(config), train::EarlierRun::Replace);  // reruns reuse the directory
    trainer.train();
    if (std::string(device) == "cuda") runs.cuda_hashes.push_back(trainer.state_hash());
    std::vector<Tensor> parameters;
    for (const Tensor& p : trainer.parameters()) parameters.push_back(reshape(p.detach().to(Device::CPU), {p.numel()}));
    runs.states.push_back(concat(parameters, 0));
  }
  return runs;
}

}  // namespace

TEST_CASE("a short training run on CUDA stays within tolerance of the CPU run and repeats bit for bit") {
  // An MLP VAE with a TALSR H0 term on clusters: both the model and the topology backends are exercised.
  const nlohmann::json config = nlohmann::json::parse(R"({
    "model": {"preset": "mlp_vae", "input": 10, "hidden": [32], "latent": 2},
    "data": {"source": "synthetic", "name": "clusters", "count": 512},
    "loss": {"reconstruction": "mse"},
    "topology": [{"term": "talsr", "weight": 0.1, "dims": [0]}],
    "optimizer": {"type": "adam", "lr": 0.001},
    "max_steps": 10, "batch_size": 64, "seed": 3, "progress": false
  })");
  const DeviceRuns runs = train_on_devices(config, "trainer");
  // Ten Adam steps of lr 1e-3 from identical weights: float32 rounding differences (GEMM order, reductions) stay
  // far below one step's size.
  check_close(runs.states[1], runs.states[0], 1e-3, 1e-4, "parameters after 10 steps, CUDA vs CPU");
  CHECK(runs.cuda_hashes[0] == runs.cuda_hashes[1]);
}

TEST_CASE("conv VAE training steps on CUDA (cuDNN) stay within tolerance of the CPU and repeat bit for bit") {
  if (!shared_mnist_test_split()) return;
  // TopoGen's conv VAE with its T1 term, three steps of batch 16 on MNIST images: every convolution and transposed
  // convolution forward and backward, on cuDNN's deterministic algorithms.
  nlohmann::json config = nlohmann::json::parse(R"({
    "model": "topogen_conv_vae",
    "data": {"source": "idx", "split_from": "t10k", "test_fraction": 0.1, "limit": 64, "test_limit": 16},
    "loss": {"reconstruction": "bce", "reduction": "sum", "beta": 1.0},
    "topology": [{"term": "topovae", "variant": "T1", "w0": 5, "w1": 5, "divide_by_batch": true}],
    "optimizer": {"type": "adam", "lr": 0.001},
    "max_steps": 3, "batch_size": 16, "seed": 10, "progress": false
  })");
  config["data"]["path"] = TL_MNIST_DIR;
  const DeviceRuns runs = train_on_devices(config, "conv_vae");
  check_close(runs.states[1], runs.states[0], 1e-3, 1e-4, "conv VAE parameters after 3 steps, CUDA vs CPU");
  CHECK(runs.cuda_hashes[0] == runs.cuda_hashes[1]);
}

TEST_CASE("GAN and diffusion training steps (DCGAN and U-Net on images, with topology terms) follow the CPU on CUDA") {
  if (!shared_mnist_test_split()) return;
  // Both phases of a GAN step (batch norm in both nets, the TALSR term on G(z)) and a diffusion step (GroupNorm,
  // upsampling, the time embedding, the term on predicted x_0): five steps of batch 16 on MNIST images.
  const nlohmann::json base = nlohmann::json::parse(R"({
    "data": {"source": "idx", "split_from": "t10k", "test_fraction": 0.1, "limit": 96, "test_limit": 16},
    "topology": [{"term": "talsr", "weight": 0.1, "dims": [0, 1], "normalize": "diameter"}],
    "optimizer": {"type": "sgd", "lr": 0.05},
    "max_steps": 5, "batch_size": 16, "seed": 7, "progress": false
  })");
  // SGD, not Adam: the biases that feed a normalisation have a gradient of rounding noise only (zero in exact
  // arithmetic), which Adam would scale up to steps of lr on either device.
  for (const char* family : {"gan", "diffusion"}) {
    CAPTURE(family);
    nlohmann::json config = base;
    config["data"]["path"] = TL_MNIST_DIR;
    config["family"] = family;
    if (std::string(family) == "gan") {
      config["model"] = {{"preset", "dcgan_28"}, {"channels", 8}, {"noise_dim", 16}};
    } else {
      config["model"] = {{"preset", "unet_28"}, {"channels", 8}};
      config["diffusion"] = {{"steps", 100}, {"topology_max_t", 50}};
    }
    const DeviceRuns runs = train_on_devices(config, std::string("generative_") + family);
    check_close(runs.states[1], runs.states[0], 1e-3, 1e-5, "parameters after 5 steps, CUDA vs CPU");
    CHECK(runs.cuda_hashes[0] == runs.cuda_hashes[1]);
  }
}

namespace {

// The term's loss and its gradient with respect to the codes (and the learnable scale when given) on `device`.
struct TermResult {
  float loss;
  std::vector<float> latent_grad;
};
TermResult term_on(Device device, const Tensor& batch, const Tensor& latent,
                   const std::function<Tensor(const Tensor&, const Tensor&)>& term) {
  const Tensor x = batch.to(device);
  Tensor z = latent.to(device).set_requires_grad(true);
  const Tensor loss = term(x, z);
  loss.backward();
  return {loss.item(), z.grad().defined() ? z.grad().to_vector<float>() : std::vector<float>()};
}

}  // namespace

TEST_CASE("the trainer's topological terms give the CPU's losses and gradients on CUDA") {
  Generator generator(41);
  const Tensor batch = data::gaussian_cloud(48, 12, generator);
  const Tensor latent = data::gaussian_cloud(48, 3, generator);
  std::vector<std::pair<std::string, std::function<Tensor(const Tensor&, const Tensor&)>>> terms;
  for (auto normalisation : {topology::TalsrNormalisation::None, topology::TalsrNormalisation::Diameter,
                             topology::TalsrNormalisation::MeanEdge}) {
    for (auto reference : {topology::TalsrReference::RawBatch, topology::TalsrReference::Pca,
                           topology::TalsrReference::RandomProjection, topology::TalsrReference::Landmarks}) {
      topology::TalsrOptions options;
      options.dims = {0, 1};
      options.weights = {1.0f, 0.5f};
      options.normalisation = normalisation;
      options.reference = reference;
      options.landmarks = 20;
      terms.emplace_back("talsr " + std::to_string(static_cast<int>(normalisation)) + "/" +
                             std::to_string(static_cast<int>(reference)),
                         [options](const Tensor& x, const Tensor& z) { return topology::talsr_loss(x, z, options); });
    }
  }
  for (auto distance : {topology::DiagramDistance::Wasserstein2, topology::DiagramDistance::Bottleneck}) {
    topology::TalsrOptions options;
    options.distance = distance;
    terms.emplace_back("talsr distance " + std::to_string(static_cast<int>(distance)),
                       [options](const Tensor& x, const Tensor& z) { return topology::talsr_loss(x, z, options); });
  }
  terms.emplace_back("talsr learnable", [](const Tensor& x, const Tensor& z) {
    topology::TalsrOptions options;
    options.normalisation = topology::TalsrNormalisation::Learnable;
    return topology::talsr_loss(x, z, options, Tensor::from_vector(std::vector<float>{0.3f}, {1}, z.device()));
  });
  for (auto term : {topology::TopoGenTerm::Push, topology::TopoGenTerm::Reininghaus, topology::TopoGenTerm::Sgde4,
                    topology::TopoGenTerm::Bottleneck, topology::TopoGenTerm::Entropy}) {
    topology::TopoGenOptions options;
    options.term = term;
    terms.emplace_back(
        "topogen " + std::to_string(static_cast<int>(term)),
        [options](const Tensor& x, const Tensor& z) { return topology::topogen_term(z, slice(x, 1, 0, 3), options); });
  }
  terms.emplace_back("topovae", [](const Tensor& x, const Tensor& z) {
    return topology::topovae_loss(z, slice(x, 1, 0, 3), topology::TopoVae::T3);
  });
  terms.emplace_back("homological_ae",
                     [](const Tensor&, const Tensor& z) { return topology::homological_ae_penalty(mul(z, 0.5f)); });
  terms.emplace_back("landscape", [](const Tensor& x, const Tensor& z) { return topology::landscape_loss(x, z); });
  terms.emplace_back("signature",
                     [](const Tensor& x, const Tensor& z) { return topology::topological_signature_loss(x, z); });
  for (const auto& named : terms) {
    const std::string& name = named.first;
    CAPTURE(name);
    const TermResult cpu = term_on(Device::CPU, batch, latent, named.second);
    const TermResult gpu = term_on(Device::CUDA, batch, latent, named.second);
    CHECK(std::abs(gpu.loss - cpu.loss) <= 1e-4 * std::abs(cpu.loss) + 1e-5);
    check_close(gpu.latent_grad, cpu.latent_grad, 1e-3, 1e-4, name + " gradient");
  }
}

TEST_CASE("one TALSR training step on CUDA makes at most the stated host round trips") {
  // The trainer's step without its timing: codes from a linear encoder, the TALSR H0 term (raw reference, W1), the
  // backward, the gradient norm, an Adam step, and the logged loss.
  Generator generator(42);
  const Tensor batch = data::gaussian_cloud(64, 10, generator).to(Device::CUDA);
  Tensor weight = data::gaussian_cloud(10, 2, generator).to(Device::CUDA).set_requires_grad(true);
  Tensor bias = Tensor::zeros({2}, Device::CUDA).set_requires_grad(true);
  nn::Optimizer optimizer({{"weight", &weight}, {"bias", &bias}}, nn::OptimizerOptions{});
  topology::TalsrOptions options;
  options.dims = {0};
  options.weights = {1.0f};
  cuda_runtime::synchronize();
  cuda_runtime::reset_transfer_stats();
  const Tensor loss = topology::talsr_loss(batch, add(matmul(batch, weight), bias), options);
  optimizer.zero_grad();
  loss.backward();
  const double norm = nn::gradient_norm({weight, bias});
  optimizer.step();
  const float logged = loss.item();
  const cuda_runtime::TransferStats stats = cuda_runtime::transfer_stats();
  CHECK(std::isfinite(norm));
  CHECK(std::isfinite(logged));
  // Device-to-host copies, by reading: persistence of the two clouds 2 (the inputs for the checks; the forests with
  // their counts and radii), the W1 matching 2 (each diagram's values) and its backward 1 (the scalar gradient), the
  // latent diagram's backward 1 (its pairs' gradients), the logged loss 1, the gradient norm 1 (one sum over every
  // gradient, kernels/cuda/reduce.cu). No explicit synchronisation.
  CHECK(stats.device_to_host_copies <= 8);
  CHECK(stats.synchronizations == 0);
  MESSAGE("one TALSR step: ", stats.device_to_host_copies, " device-to-host copies, ", stats.host_to_device_copies,
          " host-to-device copies, ", stats.synchronizations, " synchronisations");
}

}  // namespace tl::testing

namespace tl::testing {

// Under `mpirun -np K` (scripts/gpu_check.sh: K = the GPUs) the CUDA collectives run over NCCL and the CPU's over MPI;
// without a launcher both are a group of one's copies. Every process holds different rows, so with two GPUs or
// more the check covers the rank order of the gather and of the sum.
TEST_CASE("data-parallel collectives on CUDA tensors (NCCL) give the CPU's gathered rows and averaged gradients") {
  train::ProcessGroup& group = train::process_group();
  const int rank = group.rank(), processes = group.size();
  const Tensor local = random_tensor({3 + rank, 5}, 40 + static_cast<uint64_t>(rank));  // a different row count each
  const Tensor on_cpu = train::gather_rows(local, group);
  const Tensor on_cuda = train::gather_rows(local.to(Device::CUDA), group);
  CHECK(on_cpu.dim(0) == 3 * processes + processes * (processes - 1) / 2);
  CHECK(on_cuda.to(Device::CPU).to_vector<float>() == on_cpu.to_vector<float>());  // copies: the same bits

  Tensor cpu_parameter = random_tensor({7, 4}, 90).set_requires_grad(true);
  Tensor cuda_parameter = cpu_parameter.detach().to(Device::CUDA).set_requires_grad(true);
  const Tensor weights = random_tensor({7, 4}, 60 + static_cast<uint64_t>(rank));
  sum(cpu_parameter * weights).backward();
  sum(cuda_parameter * weights.to(Device::CUDA)).backward();
  train::average_gradients({cpu_parameter}, group);
  train::average_gradients({cuda_parameter}, group);
  check_close(cuda_parameter.grad().to(Device::CPU), cpu_parameter.grad(), 1e-6, 1e-7,
              "averaged gradients, CUDA vs CPU");
  if (processes == 1) CHECK(cpu_parameter.grad().to_vector<float>() == weights.to_vector<float>());
}

}  // namespace tl::testing
