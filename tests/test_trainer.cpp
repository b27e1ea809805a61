// The trainer: config validation names every bad key and value, overrides reach nested keys, repeated loss terms
// get numbered names, checkpoints round trip and refuse corrupt files, a fixed seed reproduces the final state bit for
// bit (and so does a resume from the middle), and a diverging run stops naming the loss term and the step with its last
// checkpoint intact.
#include <filesystem>
#include <fstream>

#include "apps/trainer/checkpoint.h"
#include "apps/trainer/trainer.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

using nlohmann::json;

std::string scratch(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("topolatent_trainer_" + name);
  std::filesystem::remove_all(dir);
  return dir.string();
}

// A small run: clusters in 10-D, a 10-16-2 VAE, a TALSR H0+H1 term, batch 32.
json small_config(const std::string& output) {
  json config = json::parse(R"({
    "model": {"preset": "mlp_vae", "input": 10, "hidden": [16], "latent": 2},
    "data": {"source": "synthetic", "name": "clusters", "count": 256},
    "loss": {"reconstruction": "mse"},
    "topology": [{"term": "talsr", "weight": 0.1, "dims": [0, 1]}],
    "optimizer": {"type": "adam", "lr": 0.01},
    "epochs": 2, "batch_size": 32, "seed": 4, "progress": false
  })");
  config["output"] = output;
  return config;
}

std::string config_error(json document) {
  return error_message([&] { train::parse_config(document); });
}

}  // namespace

TEST_CASE("config validation rejects unknown keys and bad values by their full name") {
  json c = small_config("unused");
  c["optimizer"]["lrr"] = 0.1;
  CHECK(config_error(c).find("unknown config key 'optimizer.lrr'") != std::string::npos);
  c = small_config("unused");
  c["epochs"] = "five";
  CHECK(config_error(c).find("'epochs' must be an integer, got \"five\"") != std::string::npos);
  c = small_config("unused");
  c["optimizer"]["lr"] = -1;
  CHECK(config_error(c).find("'optimizer.lr' must be a positive number") != std::string::npos);
  c = small_config("unused");
  c["topology"][0]["dims"] = {0, 2};
  CHECK(config_error(c).find("'topology.0.dims' holds degree 2") != std::string::npos);
  c = small_config("unused");
  c["topology"][0]["distance"] = "w3";
  CHECK(config_error(c).find("'topology.0.distance' must be one of w1, w2, bottleneck") != std::string::npos);
  c = small_config("unused");
  c["topology"][0]["landmarks_count"] = 3;
  CHECK(config_error(c).find("unknown config key 'topology.0.landmarks_count'") != std::string::npos);
  c = small_config("unused");
  c["batch_size"] = 1;
  CHECK(config_error(c).find("'batch_size' must be an integer >= 2") != std::string::npos);

  json d = small_config("unused");
  train::apply_override(d, "optimizer.lr=0.5");
  train::apply_override(d, "topology.0.dims=[1]");
  train::apply_override(d, "model.activation=elu");
  const train::TrainConfig parsed = train::parse_config(d);
  CHECK(parsed.optimizer.lr == 0.5f);
  CHECK(parsed.source.at("topology").at(0).at("dims") == json::array({1}));
  CHECK(parsed.model.activation == nn::ActivationKind::Elu);
  CHECK(error_message([&] { train::apply_override(d, "topology.3.weight=1"); }).find("'topology.3'") !=
        std::string::npos);
  CHECK(error_message([&] { train::apply_override(d, "no_equals_sign"); }).find("key.path=value") != std::string::npos);
}

TEST_CASE("repeated loss terms are numbered in logs by their exact config name") {
  json c = small_config("unused");
  c["topology"] = json::parse(R"([{"term": "topovae_z1"}, {"term": "topovae"}, {"term": "topovae_z1"},
                                  {"term": "talsr"}, {"term": "talsr"}, {"term": "talsr"}])");
  std::vector<std::string> names;
  for (const train::TopologyTermConfig& term : train::parse_config(c).topology) names.push_back(term.name);
  CHECK(names == std::vector<std::string>{"topovae_z1", "topovae", "topovae_z1_2", "talsr", "talsr_2", "talsr_3"});
}

TEST_CASE("checkpoints round-trip and corrupt or truncated files are refused") {
  const std::string dir = scratch("checkpoint");
  const std::string path = dir + "/c.tlc";
  train::Checkpoint written;
  written.meta = {{"step", 7}};
  written.tensors.emplace_back("a", Tensor::from_vector(std::vector<float>{1.5f, -2.0f, 3.25f}, {3}));
  written.tensors.emplace_back("b", Tensor::from_vector(std::vector<float>{4.0f, 5.0f}, {2, 1}));
  train::write_checkpoint_atomically(path, written);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
  const train::Checkpoint read = train::read_checkpoint(path);
  CHECK(read.meta.at("step") == 7);
  REQUIRE(read.tensors.size() == 2);
  CHECK(read.tensors[1].first == "b");
  CHECK(read.tensors[1].second.shape() == Shape{2, 1});
  CHECK(read.tensors[0].second.to_vector<float>() == std::vector<float>{1.5f, -2.0f, 3.25f});

  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::string flipped = bytes;
  flipped[bytes.size() - 8] ^= 0x10;  // a bit of tensor b
  std::ofstream(path, std::ios::binary | std::ios::trunc) << flipped;
  CHECK(error_message([&] { train::read_checkpoint(path); }).find("fails its CRC-32 check") != std::string::npos);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);
  CHECK(error_message([&] { train::read_checkpoint(path); }).find("c.tlc") != std::string::npos);
}

TEST_CASE("a fixed seed reproduces the trained state bit for bit, also across a resume") {
  auto train_steps = [](const json& config, int64_t steps, const std::string& resume) {
    json c = config;
    c["max_steps"] = steps;
    train::Trainer trainer(train::parse_config(c));
    if (!resume.empty()) trainer.load_checkpoint(resume);
    trainer.train();
    CHECK(trainer.step() == steps);
    return trainer.state_hash();
  };
  const std::string dir = scratch("reproduce");
  const uint64_t first = train_steps(small_config(dir + "/a"), 12, "");
  const uint64_t second = train_steps(small_config(dir + "/b"), 12, "");
  CHECK(first == second);
  train_steps(small_config(dir + "/c"), 5, "");
  CHECK(train_steps(small_config(dir + "/c"), 12, dir + "/c/checkpoint.tlc") == first);
  json other_seed = small_config(dir + "/d");
  other_seed["seed"] = 5;
  CHECK(train_steps(other_seed, 12, "") != first);

  // The log holds one line per step, the resumed run's lines replacing nothing twice.
  std::ifstream log(dir + "/c/log.jsonl");
  int64_t lines = 0, last_step = 0;
  for (std::string line; std::getline(log, line); ++lines) last_step = json::parse(line).at("step");
  CHECK(lines == 12);
  CHECK(last_step == 12);
}

TEST_CASE("a diverging run stops naming the loss term and the step, keeping its last checkpoint") {
  const std::string dir = scratch("diverge");
  json c = small_config(dir);
  c["topology"] = json::array();
  c["optimizer"] = {{"type", "sgd"}, {"lr", 1e30}};
  c["checkpoint_every"] = 1;
  train::Trainer trainer(train::parse_config(c));
  std::string message;
  try {
    trainer.train();
  } catch (const train::TrainingDiverged& e) {
    message = e.what();
  }
  REQUIRE_MESSAGE(!message.empty(), "training with lr 1e30 did not diverge");
  CHECK(message.find("loss term 'reconstruction'") != std::string::npos);
  CHECK(message.find("step " + std::to_string(trainer.step() + 1)) != std::string::npos);
  const train::Checkpoint last = train::read_checkpoint(dir + "/checkpoint.tlc");
  CHECK(last.meta.at("step") == trainer.step());
  CHECK(message.find("(step " + std::to_string(trainer.step()) + ")") != std::string::npos);
}

}  // namespace tl::testing
