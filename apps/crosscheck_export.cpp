// tl_crosscheck_export: writes what a peer framework needs to replay a few training steps exactly: the initial
// parameters (and batch-norm buffers), each step's batch and random draws, our loss values and gradients, and the
// parameters after the last Adam step (.npy files plus steps.json). scripts/crosscheck_pytorch.py replays them in
// PyTorch and compares.
//
//   tl_crosscheck_export DATA_DIR OUT_DIR [--model M] [--steps K] [--batch B] [--seed S] [--channels C]
//                                                                               exit 0: written, 1: error
//
// --model vae (the default): the reference VAE (784-400-20) on the first K * B MNIST test images, its
// reparameterisation noise eps per step.
// --model gan | dcgan | diffusion | unet: a model family of the trainer (apps/trainer/model_family.h) made from a
// config document by make_model_family, stepped exactly as Trainer::run_step steps it: every draw of a step from
// Generator(seed ^ kNoiseSeedKey, step << 32), each phase's losses (no topology terms) summed and backpropagated,
// then that phase's Adam step at the schedule's learning rate. gan: point_gan on the synthetic circle; dcgan:
// dcgan_28 (C channels) on MNIST; diffusion: point_denoiser on the circle; unet: unet_28 (C channels) on MNIST.
// The batches are consecutive rows of the data (the trainer's shuffle is not replayed: it does not enter the step).
// The draws (z of a GAN; t and eps of a diffusion model) are reproduced with an identical Generator before the
// family's phase runs; the tool then checks that the family consumed exactly as many Philox blocks as the replayed
// draws and that the phase's loss recomputed from the replayed draws (batch-norm buffers restored afterwards) equals
// the family's, so the exported draws are the ones the family used.
//
// Files: initial.NAME / final.NAME (parameters), initial.buffer.NAME / final.buffer.NAME (buffers), stepK.x, stepK.z
// or stepK.t (int32) and stepK.eps, stepK.PHASE.grad.NAME (the gradients of that phase's parameters after its
// backward), stepK.PHASE.updated.NAME (those parameters after its Adam step), stepK.buffer.NAME (buffers after the
// step); tensors of rank other than 2 are written flattened to one row. steps.json names the phases, their parameters
// and learning rates, the model's spec and the loss values.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "apps/cli/cli.h"
#include "apps/trainer/config.h"
#include "apps/trainer/model_family.h"
#include "core/autograd.h"
#include "core/ops.h"
#include "nn/data/dataset.h"
#include "nn/data/point_cloud_io.h"
#include "nn/diffusion.h"
#include "nn/generative_models.h"
#include "nn/models.h"
#include "nn/optim.h"

namespace {

using nlohmann::json;

// .npy of any float tensor as 2-D: vectors become one row.
void write_npy(const std::string& path, const tl::Tensor& t) {
  tl::data::write_npy_points(path, t.rank() == 2 ? t : tl::reshape(t.detach(), {1, t.numel()}));
}

void write_parameters(const std::string& directory, const std::string& prefix, tl::nn::Module& model) {
  for (auto& [name, tensor] : model.named_parameters()) write_npy(directory + "/" + prefix + name + ".npy", *tensor);
}

void write_buffers(const std::string& directory, const std::string& prefix, tl::nn::Module& model) {
  for (auto& [name, tensor] : model.named_buffers())
    write_npy(directory + "/" + prefix + "buffer." + name + ".npy", *tensor);
}

// The reference VAE (--model vae).
int export_vae(const std::string& data_dir, const std::string& out, int64_t steps, int64_t batch, uint64_t seed) {
  const tl::data::Dataset data = tl::data::load_idx_dataset(data_dir, tl::data::Split::Test, steps * batch);
  TL_CHECK_AS(ValueError, data.size() == steps * batch, "'", data_dir, "' holds fewer than ", steps * batch,
              " test images");
  tl::Generator init(seed);
  tl::nn::Autoencoder model(tl::nn::autoencoder_preset("reference_vae"), init);
  tl::nn::Optimizer optimizer(model.named_parameters(), tl::nn::OptimizerOptions{});
  write_parameters(out, "initial.", model);
  json record = {{"steps", steps}, {"batch", batch}, {"lr", optimizer.lr()}, {"losses", json::array()}};
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
}

// The config document of a family model: `model` is gan, dcgan, diffusion or unet.
json family_document(const std::string& model, const std::string& data_dir, int64_t steps, int64_t batch, uint64_t seed,
                     int64_t channels) {
  const bool gan = model == "gan" || model == "dcgan", images = model == "dcgan" || model == "unet";
  json document = {{"family", gan ? "gan" : "diffusion"},
                   {"batch_size", batch},
                   {"seed", seed},
                   {"max_steps", steps},
                   {"progress", false}};
  if (model == "gan") document["model"] = "point_gan";
  if (model == "diffusion") document["model"] = "point_denoiser";
  if (model == "dcgan") document["model"] = {{"preset", "dcgan_28"}, {"channels", channels}};
  if (model == "unet") document["model"] = {{"preset", "unet_28"}, {"channels", channels}};
  document["data"] = images
                         ? json{{"source", "idx"}, {"path", data_dir}}
                         : json{{"source", "synthetic"}, {"name", "circle"}, {"count", steps * batch}, {"noise", 0.05}};
  if (gan) {
    // Radford et al.'s Adam (lr 2e-4, beta1 0.5), the discriminator at its own rate to exercise gan.discriminator_lr.
    document["optimizer"] = {{"lr", 2e-4}, {"betas", {0.5, 0.999}}};
    document["gan"] = {{"discriminator_lr", 4e-4}};
  }
  return document;
}

const char* activation_name(tl::nn::ActivationKind kind) {
  switch (kind) {
    case tl::nn::ActivationKind::Identity:
      return "identity";
    case tl::nn::ActivationKind::Sigmoid:
      return "sigmoid";
    case tl::nn::ActivationKind::Tanh:
      return "tanh";
    default:
      TL_FAIL(ValueError, "tl_crosscheck_export: the PyTorch replica knows no such GAN output activation");
  }
}

const char* architecture_name(tl::nn::GenerativeArchitecture architecture) {
  return architecture == tl::nn::GenerativeArchitecture::Mlp ? "mlp" : "conv28";
}

// The spec of the family's networks, for the replica to build them.
json spec_record(const tl::train::TrainConfig& config) {
  if (config.family == tl::train::Family::Gan) {
    const tl::nn::GanSpec& s = config.gan_model;
    return {{"architecture", architecture_name(s.architecture)},
            {"data_dim", s.data_dim},
            {"noise_dim", s.noise_dim},
            {"hidden", s.hidden},
            {"channels", s.channels},
            {"output", activation_name(s.output)}};
  }
  const tl::nn::DenoiserSpec& s = config.denoiser;
  return {{"architecture", architecture_name(s.architecture)},
          {"data_dim", s.data_dim},
          {"hidden", s.hidden},
          {"time_dim", s.time_dim},
          {"channels", s.channels}};
}

// The random draws of one phase, reproduced from a copy of the step's generator taken before the phase.
struct Draws {
  tl::Tensor z;               // GAN, discriminator phase
  std::vector<int64_t> t;     // diffusion
  tl::Tensor eps;             // diffusion
  tl::Generator after{0, 0};  // the copy's state after the replayed draws
};

Draws replay_draws(const tl::train::TrainConfig& config, size_t phase, const tl::Tensor& x,
                   const tl::nn::NoiseSchedule& schedule, tl::Generator replay) {
  Draws draws;
  if (config.family == tl::train::Family::Gan) {
    if (phase == 0) draws.z = tl::Tensor::normal({x.dim(0), config.gan_model.noise_dim}, replay);
  } else {
    draws.t = tl::nn::random_timesteps(schedule, x.dim(0), replay);
    draws.eps = tl::Tensor::normal(x.shape(), replay);
  }
  draws.after = replay;
  return draws;
}

// The phase's summed loss computed again from the replayed draws, without gradients and with every buffer (the
// batch-norm running statistics a training-mode forward updates) restored afterwards. In training mode batch norm
// normalises by the batch's statistics, so the running statistics do not enter the value.
double replayed_loss(tl::train::ModelFamily& family, const tl::train::TrainConfig& config, size_t phase,
                     const tl::Tensor& x, const Draws& draws, const tl::Tensor& z,
                     const tl::nn::NoiseSchedule& schedule) {
  tl::NoGradGuard no_grad;
  std::vector<tl::Tensor> saved;
  for (auto& [name, buffer] : family.module().named_buffers()) saved.push_back(buffer->clone());
  double value = 0.0;
  if (config.family == tl::train::Family::Gan) {
    auto& gan = dynamic_cast<tl::nn::Gan&>(family.module());
    const tl::Tensor ones = tl::Tensor::ones({x.dim(0), 1}), zeros = tl::Tensor::zeros({x.dim(0), 1});
    if (phase == 0) {
      const tl::Tensor fake = gan.generate(z);
      value = (tl::bce_with_logits(gan.discriminate(x), ones, tl::Reduction::Mean) +
               tl::bce_with_logits(gan.discriminate(fake), zeros, tl::Reduction::Mean))
                  .item();
    } else {
      value = tl::bce_with_logits(gan.discriminate(gan.generate(z)), ones, tl::Reduction::Mean).item();
    }
  } else {
    auto& denoiser = dynamic_cast<tl::nn::Denoiser&>(family.module());
    const tl::Tensor x_t = tl::nn::q_sample(schedule, x, draws.t, draws.eps);
    value = tl::mse_loss(denoiser.predict(x_t, draws.t), draws.eps, tl::Reduction::Mean).item();
  }
  size_t i = 0;
  for (auto& [name, buffer] : family.module().named_buffers()) *buffer = saved[i++];
  return value;
}

// The names in `module` of `parameters` (a phase's, named relative to a sub-module: a GAN's "0.weight" is the
// module's "generator.0.weight" or "discriminator.0.weight").
std::vector<std::string> module_names(tl::nn::Module& module,
                                      const std::vector<std::pair<std::string, tl::Tensor*>>& parameters) {
  const auto named = module.named_parameters();
  std::vector<std::string> names;
  for (const auto& parameter : parameters) {
    const auto found =
        std::find_if(named.begin(), named.end(), [&](const auto& entry) { return entry.second == parameter.second; });
    TL_CHECK(found != named.end(), "the phase parameter '", parameter.first,
             "' is not a parameter of the family's module");
    names.push_back(found->first);
  }
  return names;
}

// A model family of the trainer (--model gan | dcgan | diffusion | unet).
int export_family(const std::string& model, const std::string& data_dir, const std::string& out, int64_t steps,
                  int64_t batch, uint64_t seed, int64_t channels) {
  using namespace tl::train;
  const TrainConfig config = parse_config(family_document(model, data_dir, steps, batch, seed, channels));
  const tl::data::Dataset data =
      config.data.source == DataSource::Synthetic
          ? tl::data::synthetic_dataset(config.data.name, config.data.count, config.seed, config.data.noise)
          : tl::data::load_idx_dataset(config.data.path, tl::data::Split::Test, steps * batch);
  TL_CHECK_AS(ValueError, data.size() == steps * batch, "'", data_dir, "' holds fewer than ", steps * batch,
              " test images");
  TL_CHECK_AS(ValueError, data.inputs.dim(1) == data_width(config), "the data has ", data.inputs.dim(1),
              " features, the model takes ", data_width(config));
  TL_CHECK_AS(ValueError, config.clip_grad_norm == 0.0, "the replica does not clip gradients");
  TL_CHECK_AS(ValueError, config.optimizer.rule == tl::kernels::OptimizerRule::Adam, "the replica runs Adam");

  // As the Trainer builds them: the family from Generator(init_seed), one optimiser per phase.
  tl::Generator init(config.init_seed);
  std::unique_ptr<ModelFamily> family = make_model_family(config, init);
  const std::vector<std::string> phases = family->phases();
  std::vector<std::vector<std::pair<std::string, tl::Tensor*>>> trained;
  std::vector<std::unique_ptr<tl::nn::Optimizer>> optimizers;
  std::vector<float> base_lr;
  std::vector<std::vector<std::string>> names;  // the phases' parameters by their names in the family's module
  for (size_t phase = 0; phase < phases.size(); ++phase) {
    trained.push_back(family->phase_parameters(phase));
    names.push_back(module_names(family->module(), trained.back()));
    tl::nn::OptimizerOptions options = config.optimizer;
    if (config.family == Family::Gan && phase == 0 && config.gan.discriminator_lr > 0.0f)
      options.lr = config.gan.discriminator_lr;
    base_lr.push_back(options.lr);
    optimizers.push_back(std::make_unique<tl::nn::Optimizer>(trained.back(), options));
  }
  const TopologyTerms no_topology{[](const tl::train::LossTermBatch&) { return std::vector<NamedLoss>{}; }, false};
  const tl::nn::NoiseSchedule schedule =
      tl::nn::linear_noise_schedule(config.diffusion.steps, config.diffusion.beta_start, config.diffusion.beta_end);

  tl::nn::Module& module = family->module();
  write_parameters(out, "initial.", module);
  write_buffers(out, "initial.", module);
  json record = {{"model", model},
                 {"family", family_name(config.family)},
                 {"config", config.source},
                 {"spec", spec_record(config)},
                 {"steps", steps},
                 {"batch", batch},
                 {"optimizer",
                  {{"type", "adam"},
                   {"betas", {config.optimizer.beta1, config.optimizer.beta2}},
                   {"eps", config.optimizer.eps},
                   {"weight_decay", config.optimizer.weight_decay}}},
                 {"phases", json::array()},
                 {"buffers", json::array()},
                 {"records", json::array()}};
  if (config.family == Family::Diffusion) {
    record["diffusion"] = {{"steps", config.diffusion.steps},
                           {"beta_start", config.diffusion.beta_start},
                           {"beta_end", config.diffusion.beta_end}};
  }
  for (size_t phase = 0; phase < phases.size(); ++phase) {
    record["phases"].push_back({{"name", phases[phase]}, {"lr", base_lr[phase]}, {"parameters", names[phase]}});
  }
  for (const auto& [name, tensor] : module.named_buffers()) record["buffers"].push_back(name);

  for (int64_t step = 0; step < steps; ++step) {
    const std::string tag = "step" + std::to_string(step) + ".";
    const tl::Tensor x = tl::slice(data.inputs, 0, step * batch, (step + 1) * batch);
    write_npy(out + "/" + tag + "x.npy", x);
    json step_record = {{"losses", json::object()}, {"phase_losses", json::object()}, {"lr", json::object()}};
    tl::Generator noise(config.seed ^ kNoiseSeedKey, static_cast<uint64_t>(step) << 32);  // Trainer::run_step's
    tl::Tensor z;  // a GAN's z of this step, drawn in the discriminator phase
    for (size_t phase = 0; phase < phases.size(); ++phase) {
      const Draws draws = replay_draws(config, phase, x, schedule, noise);
      if (draws.z.defined()) {
        z = draws.z;
        write_npy(out + "/" + tag + "z.npy", z);
      }
      if (draws.eps.defined()) {
        std::vector<int32_t> t(draws.t.begin(), draws.t.end());
        tl::data::write_npy_labels(out + "/" + tag + "t.npy", t);
        write_npy(out + "/" + tag + "eps.npy", draws.eps);
      }
      const std::vector<NamedLoss> losses = family->phase_losses(phase, {x, noise, no_topology});
      TL_CHECK(noise.seed() == draws.after.seed() && noise.offset() == draws.after.offset(), "step ", step, ", phase '",
               phases[phase], "': the family drew up to Philox offset ", noise.offset(), ", the replayed draws up to ",
               draws.after.offset());
      tl::Tensor total = losses.front().value;
      for (size_t i = 1; i < losses.size(); ++i) total = total + losses[i].value;
      const double value = total.item(), replayed = replayed_loss(*family, config, phase, x, draws, z, schedule);
      // The same computation on the same inputs: equal to the bit on the CPU; a few float32 ulps allowed.
      TL_CHECK(std::abs(value - replayed) <= 1e-6 * std::max(1.0, std::abs(value)), "step ", step, ", phase '",
               phases[phase], "': the family's loss ", value, " is not the loss of the replayed draws, ", replayed);
      for (const NamedLoss& loss : losses) step_record["losses"][loss.name] = loss.value.item();
      step_record["phase_losses"][phases[phase]] = value;

      tl::nn::Optimizer& optimizer = *optimizers[phase];
      optimizer.zero_grad();
      total.backward();
      for (size_t i = 0; i < trained[phase].size(); ++i) {
        const tl::Tensor& tensor = *trained[phase][i].second;
        TL_CHECK(tensor.grad().defined(), "'", names[phase][i], "' got no gradient in phase '", phases[phase], "'");
        write_npy(out + "/" + tag + phases[phase] + ".grad." + names[phase][i] + ".npy", tensor.grad());
      }
      optimizer.set_lr(config.schedule.lr_at(base_lr[phase], step));
      step_record["lr"][phases[phase]] = optimizer.lr();
      optimizer.step();
      for (size_t i = 0; i < trained[phase].size(); ++i)
        write_npy(out + "/" + tag + phases[phase] + ".updated." + names[phase][i] + ".npy", *trained[phase][i].second);
    }
    write_buffers(out, tag, module);
    record["records"].push_back(step_record);
  }
  write_parameters(out, "final.", module);
  write_buffers(out, "final.", module);
  std::ofstream(out + "/steps.json") << record.dump(2) << "\n";
  return tl::cli::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Writes a few training steps of the reference VAE, a GAN or a diffusion model for "
      "scripts/crosscheck_pytorch.py to replay.",
      "tl_crosscheck_export"};
  std::string data_dir, out, model = "vae";
  int64_t steps = 3, batch = 32, channels = 8;
  uint64_t seed = 0;
  app.add_option("DATA_DIR", data_dir,
                 "directory of MNIST-style IDX files (the test split is read; not by gan and diffusion)")
      ->required();
  app.add_option("OUT_DIR", out, "where the .npy files and steps.json go")->required();
  app.add_option("--model", model,
                 "vae (the reference VAE), gan (point_gan), dcgan (dcgan_28), diffusion "
                 "(point_denoiser) or unet (unet_28); the point models train on a synthetic circle")
      ->check(CLI::IsMember({"vae", "gan", "dcgan", "diffusion", "unet"}))
      ->capture_default_str();
  app.add_option("--steps", steps, "Adam steps")->check(tl::cli::positive())->capture_default_str();
  app.add_option("--batch", batch, "batch size")->check(tl::cli::positive())->capture_default_str();
  app.add_option("--seed", seed, "seed of the initial weights and the noise")->capture_default_str();
  app.add_option("--channels", channels, "dcgan and unet: the nets' base width (unet: a multiple of 8)")
      ->check(tl::cli::positive())
      ->capture_default_str();

  const auto body = [&] {
    std::filesystem::create_directories(out);
    if (model == "vae") return export_vae(data_dir, out, steps, batch, seed);
    return export_family(model, data_dir, out, steps, batch, seed, channels);
  };
  return tl::cli::run_main(app, argc, argv, body);
}
