// The GAN and diffusion families of the trainer (apps/trainer/model_family.h): their config keys are validated by
// name; the first logged losses of a GAN step (discriminator, then generator after the discriminator's Adam update)
// and of a diffusion step equal the same losses composed by hand from the models, the step's draws and the data;
// checkpoints hold one optimiser per phase and a resumed run (with a topology term) ends bit for bit where an
// uninterrupted one does; a 2-D diffusion model learns a ring (one long H1 bar); tl_evaluate's groups and samplers
// follow the family.
#include <algorithm>
#include <fstream>

#include "apps/evaluation/evaluator.h"
#include "apps/trainer/checkpoint.h"
#include "apps/trainer/trainer.h"
#include "core/autograd.h"
#include "core/ops.h"
#include "nn/diffusion.h"
#include "nn/optim.h"
#include "tests/test_support.h"
#include "topology/persistence.h"
#include "topology/regularizers.h"

namespace tl::testing {
namespace {

using nlohmann::json;

json point_config(const std::string& family, const std::string& output) {
  json config = json::parse(R"({
    "data": {"source": "synthetic", "name": "circle", "count": 256, "noise": 0.05},
    "optimizer": {"type": "adam", "lr": 0.002, "betas": [0.5, 0.999]},
    "epochs": 1, "batch_size": 32, "seed": 3, "progress": false
  })");
  config["family"] = family;
  config["model"] = family == "gan" ? json{{"preset", "point_gan"}, {"hidden", {16, 16}}}
                                    : json{{"preset", "point_denoiser"}, {"hidden", {16, 16}}, {"time_dim", 8}};
  if (family == "diffusion") config["diffusion"] = {{"steps", 50}, {"sampling_steps", 10}};
  config["output"] = output;
  return config;
}

std::string config_error(const json& document) {
  return error_message([&] { train::parse_config(document); });
}

// The records of log.jsonl that are steps.
std::vector<json> step_records(const std::string& directory) {
  std::ifstream log(directory + "/log.jsonl");
  std::vector<json> records;
  for (std::string line; std::getline(log, line);) {
    const json record = json::parse(line);
    if (record.contains("step")) records.push_back(record);
  }
  return records;
}

// The first training batch of a trainer's run: rows of the epoch-0 permutation.
Tensor first_batch(const train::Trainer& trainer) {
  const std::vector<int64_t> order = data::epoch_permutation(trainer.train_set().size(), trainer.config().seed, 0);
  return data::gather_rows(trainer.train_set(), {order.begin(), order.begin() + trainer.config().batch_size},
                           Device::CPU);
}

// Trains the first step of `trainer`'s run; returns its log record.
json first_step(train::Trainer& trainer) {
  trainer.train_until(1);
  return step_records(trainer.config().output).front();
}

Generator step_noise(const train::TrainConfig& config, int64_t step) {
  return Generator(config.seed ^ train::kNoiseSeedKey, static_cast<uint64_t>(step) << 32);
}

}  // namespace

TEST_CASE("the family config keys are checked by name, and a section of another family is refused") {
  const std::string dir = scratch_directory("generative_config");
  json wrong_family = point_config("gan", dir);
  wrong_family["family"] = "vae";
  CHECK(config_error(wrong_family).find("'family'") != std::string::npos);
  json gan_with_loss = point_config("gan", dir);
  gan_with_loss["loss"] = {{"beta", 1.0}};
  CHECK(config_error(gan_with_loss).find("config key 'loss' does not apply to family \"gan\"") != std::string::npos);
  json gan_with_validation = point_config("gan", dir);
  gan_with_validation["validation"] = {{"fraction", 0.1}};
  CHECK(config_error(gan_with_validation).find("'validation' does not apply") != std::string::npos);
  json vae_with_diffusion = point_config("gan", dir);
  vae_with_diffusion["family"] = "autoencoder";
  vae_with_diffusion.erase("model");
  vae_with_diffusion["diffusion"] = {{"steps", 10}};
  CHECK(config_error(vae_with_diffusion).find("'diffusion' does not apply to family \"autoencoder\"") !=
        std::string::npos);
  json bad_preset = point_config("gan", dir);
  bad_preset["model"] = "dcgan";
  CHECK(config_error(bad_preset).find("unknown gan preset 'dcgan'") != std::string::npos);
  json bad_max_t = point_config("diffusion", dir);
  bad_max_t["diffusion"]["topology_max_t"] = 51;
  CHECK(config_error(bad_max_t).find("'diffusion.topology_max_t' must be an integer in [1, steps]") !=
        std::string::npos);
  json bad_channels = point_config("diffusion", dir);
  bad_channels["model"] = {{"preset", "unet_28"}, {"channels", 12}};
  CHECK(config_error(bad_channels).find("'model.channels' must be a positive multiple of 8") != std::string::npos);
  json signature_gan = point_config("gan", dir);
  signature_gan["topology"] = {{{"term", "signature"}}};
  CHECK(config_error(signature_gan).find("'topology.0.term': the signature loss compares distances of row pairs") !=
        std::string::npos);
  json standardized_images = point_config("gan", dir);
  standardized_images["model"] = "dcgan_28";
  standardized_images["data"]["standardize"] = true;
  CHECK(config_error(standardized_images).find("the generator ends in a sigmoid") != std::string::npos);
  json bad_clip = point_config("diffusion", dir);
  bad_clip["diffusion"]["clip_x0"] = {1, 0};
  CHECK(config_error(bad_clip).find("'diffusion.clip_x0' must be [low, high] with low < high") != std::string::npos);
  json high_betas = point_config("diffusion", dir);
  high_betas["diffusion"]["beta_start"] = 0.05;  // beta_end's default follows it up
  CHECK(train::parse_config(high_betas).diffusion.beta_end == doctest::Approx(0.05));
  json wide_data = point_config("gan", dir);
  wide_data["data"]["name"] = "torus";
  CHECK(error_message([&] {
          train::Trainer trainer(train::parse_config(wide_data));
        }).find("has 3 features but the model expects 2") != std::string::npos);
}

TEST_CASE("a GAN step updates the discriminator at its own rate, then the generator through the updated one") {
  const std::string dir = scratch_directory("gan_step");
  json config = point_config("gan", dir);
  config["gan"] = {{"discriminator_lr", 0.01}};
  train::Trainer trainer(train::parse_config(config));
  const json logged = first_step(trainer);

  // The same step composed by hand: equal initial weights, the step's z, PyTorch's DCGAN-example order.
  const train::TrainConfig& c = trainer.config();
  Generator init(c.init_seed);
  nn::Gan gan(c.gan_model, init);
  const Tensor real = first_batch(trainer);
  Generator noise = step_noise(c, 0);
  const Tensor z = Tensor::normal({c.batch_size, c.gan_model.noise_dim}, noise);
  const Tensor ones = Tensor::ones({c.batch_size, 1}), zeros = Tensor::zeros({c.batch_size, 1});
  const Tensor fake = gan.generate(z);
  const Tensor d_loss = bce_with_logits(gan.discriminate(real), ones, Reduction::Mean) +
                        bce_with_logits(gan.discriminate(fake.detach()), zeros, Reduction::Mean);
  CHECK(logged.at("discriminator").get<double>() == doctest::Approx(d_loss.item()).epsilon(1e-6));
  nn::OptimizerOptions d_options = c.optimizer;
  d_options.lr = 0.01f;  // gan.discriminator_lr
  nn::Optimizer d_optimizer(gan.discriminator().named_parameters(), d_options);
  d_optimizer.zero_grad();
  d_loss.backward();
  d_optimizer.step();
  const Tensor g_loss = bce_with_logits(gan.discriminate(fake), ones, Reduction::Mean);
  CHECK(logged.at("generator").get<double>() == doctest::Approx(g_loss.item()).epsilon(1e-6));
  nn::Optimizer g_optimizer(gan.generator().named_parameters(), c.optimizer);
  g_optimizer.zero_grad();
  g_loss.backward();
  g_optimizer.step();
  // Every parameter after the step: the discriminator's moved at 0.01, the generator's at optimizer.lr.
  const auto trained = trainer.family().module().named_parameters();
  const auto by_hand = gan.named_parameters();
  REQUIRE(trained.size() == by_hand.size());
  for (size_t i = 0; i < trained.size(); ++i)
    check_close(*trained[i].second, *by_hand[i].second, 1e-5, 1e-7, trained[i].first + " after one step");
  CHECK(logged.contains("grad_norm_discriminator"));
  CHECK(logged.at("total").get<double>() == doctest::Approx(d_loss.item() + g_loss.item()).epsilon(1e-6));
}

TEST_CASE("a diffusion step's loss is the epsilon MSE at the step's timesteps, its topology term on predicted x0") {
  const std::string dir = scratch_directory("diffusion_step");
  json config = point_config("diffusion", dir);
  config["topology"] = {{{"term", "talsr"}, {"weight", 0.5}, {"dims", {0, 1}}}};
  config["diffusion"]["topology_max_t"] = 25;
  train::Trainer trainer(train::parse_config(config));
  const json logged = first_step(trainer);

  const train::TrainConfig& c = trainer.config();
  Generator init(c.init_seed);
  nn::Denoiser denoiser(c.denoiser, init);
  const nn::NoiseSchedule schedule = nn::linear_noise_schedule(50);
  const Tensor x0 = first_batch(trainer);
  Generator noise = step_noise(c, 0);
  const std::vector<int64_t> t = nn::random_timesteps(schedule, c.batch_size, noise);
  const Tensor eps = Tensor::normal(x0.shape(), noise);
  const Tensor x_t = nn::q_sample(schedule, x0, t, eps);
  const Tensor predicted = denoiser.predict(x_t, t);
  CHECK(logged.at("denoising").get<double>() == doctest::Approx(mse_loss(predicted, eps).item()).epsilon(1e-6));

  // The term sees the rows with t < 25 only: their predicted x0 against the same real rows.
  std::vector<int32_t> rows;
  for (size_t r = 0; r < t.size(); ++r)
    if (t[r] < 25) rows.push_back(static_cast<int32_t>(r));
  REQUIRE(rows.size() >= 3);
  REQUIRE(rows.size() < t.size());
  const Tensor index = Tensor::from_vector(rows, {static_cast<int64_t>(rows.size())});
  const Tensor x0_hat = nn::predict_x0(schedule, x_t, t, predicted);
  topology::TalsrOptions talsr;
  const double expected =
      0.5 * topology::talsr_loss(index_select(x0, 0, index), index_select(x0_hat, 0, index), talsr).item();
  CHECK(logged.at("talsr").get<double>() == doctest::Approx(expected).epsilon(1e-5));
}

TEST_CASE("an autoencoder's checkpoint keeps the names it had before the model families") {
  const std::string dir = scratch_directory("autoencoder_checkpoint_names");
  json config = point_config("gan", dir);
  config.erase("family");
  config["model"] = {{"preset", "mlp_vae"}, {"input", 2}, {"hidden", {8}}, {"latent", 2}};
  config["loss"] = {{"reconstruction", "mse"}};
  config["max_steps"] = 1;
  train::Trainer trainer(train::parse_config(config));
  trainer.train();
  const train::Checkpoint checkpoint = train::read_checkpoint(dir + "/checkpoint.tlc");
  std::vector<std::string> names;
  for (const auto& [name, tensor] : checkpoint.tensors) names.push_back(name);
  for (const char* expected : {"model.encoder.0.weight", "model.mu.bias", "model.logvar.weight",
                               "optimizer.exp_avg.encoder.0.weight", "optimizer.exp_avg_sq.decoder.2.bias"})
    CHECK_MESSAGE(std::find(names.begin(), names.end(), expected) != names.end(), expected);
  CHECK(checkpoint.meta.at("optimizer_steps") == 1);
}

TEST_CASE("GAN and diffusion runs with a topology term resume bit for bit, one optimiser per phase") {
  for (const std::string family : {"gan", "diffusion"}) {
    CAPTURE(family);
    const std::string dir = scratch_directory("generative_resume_" + family);
    const auto train_steps = [&](const std::string& output, int64_t steps, const std::string& resume) {
      json config = point_config(family, output);
      config["topology"] = {{{"term", "talsr"}, {"weight", 0.1}, {"dims", {0, 1}}, {"normalize", "learnable"}}};
      config["max_steps"] = steps;
      config["epochs"] = 2;
      train::Trainer trainer(train::parse_config(config));
      if (!resume.empty()) trainer.load_checkpoint(resume);
      trainer.train();
      return trainer.state_hash();
    };
    const uint64_t straight = train_steps(dir + "/a", 12, "");
    train_steps(dir + "/b", 5, "");
    CHECK(train_steps(dir + "/b", 12, dir + "/b/checkpoint.tlc") == straight);

    std::vector<std::string> optimizer_prefixes;
    for (const auto& [name, tensor] : train::read_checkpoint(dir + "/a/checkpoint.tlc").tensors) {
      if (name.rfind("optimizer.", 0) != 0) continue;
      const std::string prefix = name.substr(0, name.find('.', 10));
      if (std::find(optimizer_prefixes.begin(), optimizer_prefixes.end(), prefix) == optimizer_prefixes.end())
        optimizer_prefixes.push_back(prefix);
    }
    if (family == "gan") {
      CHECK(optimizer_prefixes == std::vector<std::string>{"optimizer.discriminator", "optimizer.generator"});
    } else {
      CHECK(optimizer_prefixes == std::vector<std::string>{"optimizer.exp_avg", "optimizer.exp_avg_sq"});
    }
  }
}

TEST_CASE("a 2-D diffusion model learns a ring: its samples have one long H1 bar") {
  const std::string dir = scratch_directory("diffusion_ring");
  json config = point_config("diffusion", dir);
  config["data"] = {{"source", "synthetic"}, {"name", "circle"}, {"count", 2048}, {"noise", 0.05}};
  config["model"] = {{"preset", "point_denoiser"}, {"hidden", {64, 64, 64}}, {"time_dim", 16}};
  config["diffusion"] = {{"steps", 100}, {"beta_end", 0.1}};
  config["optimizer"] = {{"type", "adam"}, {"lr", 0.002}};
  config["batch_size"] = 128;
  config["epochs"] = 300;  // 4,800 steps: about 3 s on one core
  train::Trainer trainer(train::parse_config(config));
  trainer.train();
  Generator generator(11);
  const Tensor samples = trainer.family().sample("ddpm", 400, generator);
  const topology::PersistenceResult diagrams = topology::persistence(samples);
  std::vector<float> lifetimes;
  for (const auto& pair : diagrams.diagrams[1].pairs) lifetimes.push_back(pair.death - pair.birth);
  std::sort(lifetimes.rbegin(), lifetimes.rend());
  REQUIRE(!lifetimes.empty());
  // The unit circle's Rips loop lives from the sampling gap (~0.1) to sqrt(3) r (~1.7); noise loops die young. With
  // half the steps (2,400) and two hidden layers the samples still filled part of the disk: longest bar 0.3-0.6.
  CHECK(lifetimes[0] > 0.6f);
  CHECK((lifetimes.size() < 2 || lifetimes[1] < 0.25f));
}

TEST_CASE("tl_evaluate scores a GAN's samples, leaves out the groups that need an encoder, refuses other samplers") {
  const std::string dir = scratch_directory("gan_evaluate");
  json config = point_config("gan", dir);
  train::Trainer trainer(train::parse_config(config));
  trainer.train();
  eval::TrainedRun run(dir + "/checkpoint.tlc", {});
  eval::EvaluationOptions options;
  options.progress = false;
  options.topology_batch = 16;
  const eval::FeatureSpace features(2);
  const json evaluation = eval::evaluate_run(run, features, options, dir);
  CHECK(evaluation.at("family") == "gan");
  CHECK(evaluation.at("not_applicable") == json{"reconstruction", "interpolation", "robustness", "embedding"});
  CHECK(evaluation.at("generation").at("samplers").contains("generator"));
  CHECK(evaluation.at("topology").contains("real_vs_generated"));
  CHECK(!evaluation.at("topology").contains("data_vs_latent"));
  CHECK(evaluation.at("plots") == json{"samples_generator.png"});
  options.samplers = {eval::Sampler::Ddpm, eval::Sampler::Ddim};
  CHECK(error_message([&] { eval::evaluate_run(run, features, options); })
            .find("none of the samplers asked for (ddpm, ddim) applies to a run of family \"gan\" (its samplers: "
                  "generator)") != std::string::npos);
  options.samplers = {eval::Sampler::Ddim, eval::Sampler::Generator};  // an experiment's list for both families
  options.groups = {eval::MetricGroup::Generation};
  CHECK(eval::evaluate_run(run, features, options).at("generation").at("samplers").size() == 1);

  // Samples are fixed by the generator's seed.
  Generator a(5), b(5), c(6);
  const std::vector<float> first = run.trainer().family().sample("generator", 7, a).to_vector<float>();
  CHECK(first == run.trainer().family().sample("generator", 7, b).to_vector<float>());
  CHECK(first != run.trainer().family().sample("generator", 7, c).to_vector<float>());
}

}  // namespace tl::testing
