// The trainer: config validation names every bad key and value, overrides reach nested keys, repeated loss terms
// get numbered names, checkpoints round trip and refuse corrupt files, a fixed seed reproduces the final state bit for
// bit (and so does a resume from the middle), and a diverging run stops naming the loss term and the step with its last
// checkpoint intact. Run safety: an output directory holding a run is refused unless replaced and is locked while a
// run uses it; no checkpoint with NaN or infinity is written or called good; a resume writes beside its checkpoint,
// keeps a cosine schedule's length and refuses a run with nothing left to do or too many steps; failed writes stop
// the run naming the file and leave no partial file; crafted checkpoints with a valid CRC are refused field by field.
// Data and protocol: the user's own arrays (with labels, a test file or a seeded test share, standardised by the
// training split), one IDX file set split by a seeded share (MNIST's t10k alone), synthetic sets embedded in a higher
// dimension, the spheres as one cloud split 90/10, a validation split with early stopping that keeps, resumes
// and evaluates the best state, and initial weights that depend on the model and init_seed only.
#include <omp.h>
#include <sys/resource.h>
#include <zlib.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <set>

#include "apps/trainer/checkpoint.h"
#include "apps/trainer/evaluation.h"
#include "apps/trainer/thread_tuner.h"
#include "apps/trainer/trainer.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

using nlohmann::json;

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

// The message of the error that making a trainer of `document` raises.
std::string trainer_error(const json& document) {
  return error_message([&] { train::Trainer trainer(train::parse_config(document)); });
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Trains a fresh run of `config` for `steps` steps (all of it when 0); returns the trainer's final state hash.
uint64_t train_fresh(json config, int64_t steps = 0) {
  if (steps > 0) config["max_steps"] = steps;
  train::Trainer trainer(train::parse_config(config));
  trainer.train();
  return trainer.state_hash();
}

// The message of the TrainingDiverged that training `trainer` throws; empty when it does not diverge.
std::string divergence(train::Trainer& trainer) {
  try {
    trainer.train();
  } catch (const train::TrainingDiverged& e) {
    return e.what();
  }
  return "";
}

// A checkpoint file with a valid CRC around whatever header and payload a hostile writer chose; `header_size` is the
// stored header length (the true one when absent).
std::string crafted_checkpoint(const std::string& header, const std::string& payload,
                               std::optional<uint64_t> header_size = std::nullopt) {
  const uint64_t size = header_size.value_or(header.size());
  std::string bytes =
      std::string("TLCKPT1\n") + std::string(reinterpret_cast<const char*>(&size), 8) + header + payload;
  const uint32_t crc =
      static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
  return bytes + std::string(reinterpret_cast<const char*>(&crc), 4);
}

// Limits the size of every file this process writes (RLIMIT_FSIZE) while in scope: a write beyond it fails with
// EFBIG, as on a full disk (SIGXFSZ is ignored meanwhile).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) : previous_handler_(std::signal(SIGXFSZ, SIG_IGN)) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    rlimit limited = saved_;
    limited.rlim_cur = bytes;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &limited) == 0);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, previous_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  void (*previous_handler_)(int);
};

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

TEST_CASE("config files and overrides the fuzzer found crashing are refused with ValueError") {
  // A number beyond double (nlohmann's out_of_range, not a parse_error), in the file and in an override value.
  const std::filesystem::path file = std::filesystem::path(scratch_directory("config_huge_number")) / "config.json";
  std::ofstream(file) << "{\"epochs\": 1e999}";
  CHECK(error_message([&] { train::read_config_file(file.string()); }).find("is not valid JSON") != std::string::npos);
  std::filesystem::remove(file);
  json d = small_config("unused");
  CHECK_NOTHROW(train::apply_override(d, "optimizer.lr=1e999"));       // read as the string "1e999"...
  CHECK(config_error(d).find("'optimizer.lr'") != std::string::npos);  // ...which validation then names
  // An override that is not UTF-8 text (its key could not be quoted in the error message).
  d = small_config("unused");
  CHECK(error_message([&] { train::apply_override(d, "optim\xffizer.lr=1"); }).find("not UTF-8") != std::string::npos);
  // A list index too long for an integer.
  CHECK(error_message([&] {
          train::apply_override(d, "topology.99999999999999999999.weight=1");
        }).find("is not an element of a list") != std::string::npos);
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
  const std::string dir = scratch_directory("trainer_checkpoint");
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
  const std::string dir = scratch_directory("trainer_reproduce");
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
  const std::string dir = scratch_directory("trainer_diverge");
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

TEST_CASE("a fresh run refuses an output directory that holds an earlier run, unless told to replace it") {
  const std::string dir = scratch_directory("trainer_used_directory");
  train_fresh(small_config(dir), 5);
  const std::string checkpoint = file_bytes(dir + "/checkpoint.tlc"), log = file_bytes(dir + "/log.jsonl");
  json other = small_config(dir);
  other["seed"] = 9;
  const std::string message = error_message([&] { train_fresh(other, 3); });
  CHECK(message.find("output directory '" + dir + "' holds an earlier run (log.jsonl, checkpoint.tlc)") !=
        std::string::npos);
  CHECK(message.find("--resume " + dir + "/checkpoint.tlc") != std::string::npos);
  CHECK(message.find("--force") != std::string::npos);
  CHECK(file_bytes(dir + "/checkpoint.tlc") == checkpoint);
  CHECK(file_bytes(dir + "/log.jsonl") == log);

  train::Trainer replacing(train::parse_config(other), train::EarlierRun::Replace);
  replacing.train();
  CHECK(train::read_checkpoint(dir + "/checkpoint.tlc").meta.at("config").at("seed") == 9);
}

TEST_CASE("an output directory in use by a run is locked against a second run") {
  const std::string dir = scratch_directory("trainer_locked_directory");
  json config = small_config(dir);
  config["max_steps"] = 2;
  train::Trainer first(train::parse_config(config));
  first.train();  // the lock is held until the trainer ends (after its report)
  train::Trainer second(train::parse_config(config), train::EarlierRun::Replace);
  const std::string message = error_message([&] { second.train(); });
  CHECK(message.find("output directory '" + dir + "' is in use by another run") != std::string::npos);
  CHECK(message.find("'" + dir + "/run.lock'") != std::string::npos);
}

TEST_CASE("no checkpoint holding NaN or infinity is written, loaded or called the last good one") {
  const std::string dir = scratch_directory("trainer_nonfinite_state");
  for (const char* optimizer : {"sgd", "adam"}) {
    std::filesystem::remove_all(dir);
    json c = small_config(dir);
    c["topology"] = json::array();
    c["optimizer"] = {{"type", optimizer}, {"lr", 3e38}};  // the first update overflows the weights
    c["checkpoint_every"] = 1;
    train::Trainer trainer(train::parse_config(c));
    const std::string message = divergence(trainer);
    CAPTURE(optimizer);
    CHECK(message.find("is not finite after the update") != std::string::npos);
    if (std::filesystem::exists(dir + "/checkpoint.tlc")) {
      for (const auto& named : train::read_checkpoint(dir + "/checkpoint.tlc").tensors)
        CHECK_MESSAGE(train::all_finite(named.second), named.first);
    } else {
      CHECK(message.find("No checkpoint was written yet") != std::string::npos);
    }
  }

  std::filesystem::remove_all(dir);
  train_fresh(small_config(dir), 2);
  train::Checkpoint poisoned = train::read_checkpoint(dir + "/checkpoint.tlc");
  poisoned.tensors.back().second = poisoned.tensors.back().second * std::numeric_limits<float>::infinity();
  train::write_checkpoint_atomically(dir + "/checkpoint.tlc", poisoned);
  train::Trainer trainer(train::parse_config(small_config(dir)));
  const std::string message = error_message([&] { trainer.load_checkpoint(dir + "/checkpoint.tlc"); });
  CHECK(message.find("tensor '" + poisoned.tensors.back().first + "' holds NaN or infinite values") !=
        std::string::npos);
}

TEST_CASE("a resume writes beside its checkpoint, names only checkpoints it wrote, and needs steps left to take") {
  const std::string dir = scratch_directory("trainer_resume_directory");
  json sgd = small_config(dir + "/first");
  sgd["topology"] = json::array();
  sgd["optimizer"] = {{"type", "sgd"}, {"lr", 0.01}};
  train_fresh(sgd, 8);
  std::filesystem::rename(dir + "/first", dir + "/moved");  // the stored output no longer exists

  const json document = train::resume_document(dir + "/moved/checkpoint.tlc", {"max_steps=12"});
  CHECK(document.at("output") == dir + "/moved");
  CHECK(train::resume_document(dir + "/moved/checkpoint.tlc", {"output=elsewhere"}).at("output") == "elsewhere");
  const std::string refused = error_message([&] { train::resume_document(dir + "/moved/checkpoint.tlc", {"seed=3"}); });
  CHECK(refused.find("'seed' cannot change when resuming") != std::string::npos);
  train::Trainer resumed(train::parse_config(document));
  resumed.load_checkpoint(dir + "/moved/checkpoint.tlc");
  resumed.train();
  CHECK(train::read_checkpoint(dir + "/moved/checkpoint.tlc").meta.at("step") == 12);
  CHECK_FALSE(std::filesystem::exists(dir + "/first"));

  // Diverging into a new directory before its first checkpoint: the last good checkpoint is the one resumed from.
  json wild = sgd;
  wild["output"] = dir + "/new";
  wild["optimizer"]["lr"] = 1e30;
  train::Trainer diverging(train::parse_config(wild));
  diverging.load_checkpoint(dir + "/moved/checkpoint.tlc");
  const std::string message = divergence(diverging);
  CHECK(message.find("The last good checkpoint (step 12) is " + dir + "/moved/checkpoint.tlc") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir + "/new/checkpoint.tlc"));

  json ended = sgd;
  ended["output"] = dir + "/moved";
  ended["max_steps"] = 12;
  train::Trainer nothing_left(train::parse_config(ended));
  nothing_left.load_checkpoint(dir + "/moved/checkpoint.tlc");
  CHECK(error_message([&] { nothing_left.train(); }).find("nothing is left to train: the run is at step 12") !=
        std::string::npos);

  json absurd = sgd;
  absurd["epochs"] = std::numeric_limits<int64_t>::max();
  CHECK(trainer_error(absurd).find("epochs=9223372036854775807 of 8 steps each exceeds") != std::string::npos);
  absurd = sgd;
  absurd["max_steps"] = train::kMaxSteps + 1;
  CHECK(trainer_error(absurd).find("max_steps=4294967297 exceeds") != std::string::npos);
}

TEST_CASE("a resume keeps a cosine schedule's length, and stopping early keeps the trajectory") {
  const std::string dir = scratch_directory("trainer_cosine");
  json cosine = small_config(dir + "/a");
  cosine["schedule"] = {{"type", "cosine"}};
  const uint64_t straight = train_fresh(cosine);  // 2 epochs of 8 steps

  json stopped = cosine;
  stopped["output"] = dir + "/b";
  {
    train::Trainer first_half(train::parse_config(stopped));
    first_half.train_until(5);
  }
  train::Trainer second_half(train::parse_config(stopped));
  second_half.load_checkpoint(dir + "/b/checkpoint.tlc");
  second_half.train();
  CHECK(second_half.state_hash() == straight);

  json longer = stopped;
  longer["epochs"] = 3;
  train::Trainer extended(train::parse_config(longer));
  const std::string message = error_message([&] { extended.load_checkpoint(dir + "/b/checkpoint.tlc"); });
  CHECK(message.find("the cosine schedule decays the learning rate over the run's length") != std::string::npos);
  CHECK(message.find("trained toward step 16, this run (epochs=3, max_steps=0) would decay toward step 24") !=
        std::string::npos);
}

TEST_CASE("a failed write stops the run naming the file, and leaves no partial file") {
  const std::string dir = scratch_directory("trainer_failed_writes");
  train::Checkpoint small, large;
  small.tensors.emplace_back("a", Tensor::from_vector(std::vector<float>{1.0f, 2.0f}, {2}));
  large.tensors.emplace_back("a", Tensor::zeros({4096}));
  train::write_checkpoint_atomically(dir + "/c.tlc", small);
  const std::string before = file_bytes(dir + "/c.tlc");
  {
    FileSizeLimit disk(1024);
    const std::string message = error_message([&] { train::write_checkpoint_atomically(dir + "/c.tlc", large); });
    CHECK(message.find("writing '" + dir + "/c.tlc' failed") != std::string::npos);
  }
  CHECK_FALSE(std::filesystem::exists(dir + "/c.tlc.tmp"));
  CHECK(file_bytes(dir + "/c.tlc") == before);

  {
    FileSizeLimit disk(1024);  // the first epoch's log lines (8 of about 250 bytes) do not fit
    train::Trainer trainer(train::parse_config(small_config(dir + "/run")));
    const std::string message = error_message([&] { trainer.train(); });
    CHECK(message.find("writing the log '" + dir + "/run/log.jsonl' failed") != std::string::npos);
    CHECK(message.find("No checkpoint was written yet") != std::string::npos);
  }

  json short_run = small_config(dir + "/report");
  short_run["max_steps"] = 2;
  train::Trainer trainer(train::parse_config(short_run));
  trainer.train();
  std::filesystem::create_directories(dir + "/report/report.md");  // where the report should go
  CHECK(error_message([&] { trainer.write_report(json::object()); }).find("writing '" + dir + "/report/report.md'") !=
        std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir + "/report/report.md.tmp"));
}

TEST_CASE("crafted checkpoints with a valid CRC are refused field by field") {
  const std::string dir = scratch_directory("trainer_hostile");
  const std::string path = dir + "/c.tlc";
  const std::string two_floats(8, '\0');
  const auto header = [](const std::string& tensors) { return R"({"meta": {"step": 1}, "tensors": )" + tensors + "}"; };
  struct Case {
    const char* what;
    std::string bytes;
    const char* expected;
  };
  const Case cases[] = {
      {"a header size that wraps the bounds test", crafted_checkpoint(header("[]"), "", ~uint64_t(0) - 8),
       "header overruns the file"},
      {"an offset that wraps",
       crafted_checkpoint(header(R"([{"name": "a", "shape": [2], "offset": 18446744073709551612}])"), two_floats),
       "starts at byte 18446744073709551612 of the payload, expected 0"},
      {"a negative extent",
       crafted_checkpoint(header(R"([{"name": "a", "shape": [-1, -2], "offset": 0}])"), two_floats),
       "must list integers >= 0"},
      {"a size that overflows",
       crafted_checkpoint(header(R"([{"name": "a", "shape": [4294967296, 4294967296], "offset": 0}])"), two_floats),
       "is too large"},
      {"a tensor past the end", crafted_checkpoint(header(R"([{"name": "a", "shape": [3], "offset": 0}])"), two_floats),
       "tensor 'a' overruns the file"},
      {"aliasing tensors",
       crafted_checkpoint(
           header(R"([{"name": "a", "shape": [2], "offset": 0}, {"name": "b", "shape": [2], "offset": 0}])"),
           two_floats + two_floats),
       "starts at byte 0 of the payload, expected 8"},
      {"a name given twice",
       crafted_checkpoint(
           header(R"([{"name": "a", "shape": [1], "offset": 0}, {"name": "a", "shape": [1], "offset": 4}])"),
           two_floats),
       "holds tensor 'a' twice"},
      {"bytes that belong to no tensor",
       crafted_checkpoint(header(R"([{"name": "a", "shape": [1], "offset": 0}])"), two_floats),
       "4 bytes after the last tensor belong to none"},
      {"a header that is not JSON", crafted_checkpoint("{\"meta\": ", ""), "its header is not valid JSON"},
      {"a table that is not a list", crafted_checkpoint(header("5"), ""),
       "with a \"meta\" object and a \"tensors\" list"},
      {"an entry without a name", crafted_checkpoint(header(R"([{"shape": [2], "offset": 0}])"), two_floats),
       "tensor entry 0 must hold a \"name\" string"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    std::filesystem::create_directories(dir);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << c.bytes;
    CHECK_THROWS_AS(train::read_checkpoint(path), ValueError);
    CHECK(error_message([&] { train::read_checkpoint(path); }).find(c.expected) != std::string::npos);
    const auto* data = reinterpret_cast<const unsigned char*>(c.bytes.data());
    CHECK(error_message([&] { train::parse_checkpoint(data, c.bytes.size(), "memory"); }).find(c.expected) !=
          std::string::npos);
  }

  // The trainer's counters: integers with 0 <= optimizer_steps <= step <= kMaxSteps; a step beyond the run is refused
  // when training starts.
  train_fresh(small_config(dir + "/run"), 4);
  const train::Checkpoint good = train::read_checkpoint(dir + "/run/checkpoint.tlc");
  const std::pair<json, const char*> metas[] = {
      {{{"step", -1}, {"optimizer_steps", 0}}, "\"step\" must be an integer in [0, 4294967296], got -1"},
      {{{"step", "4"}, {"optimizer_steps", 4}}, "\"step\" must be an integer in [0, 4294967296], got \"4\""},
      {{{"step", int64_t(1) << 40}, {"optimizer_steps", 4}}, "\"step\" must be an integer in [0, 4294967296]"},
      {{{"step", 4}, {"optimizer_steps", -7}}, "\"optimizer_steps\" must be an integer in [0, 4], got -7"},
      {{{"step", 4}, {"optimizer_steps", 5}}, "\"optimizer_steps\" must be an integer in [0, 4], got 5"},
      {{{"step", 4}}, "\"optimizer_steps\" must be an integer in [0, 4], got nothing"},
  };
  for (const auto& entry : metas) {  // no structured bindings: clang's doctest macros capture them in lambdas
    const json& meta = entry.first;
    const char* expected = entry.second;
    CAPTURE(meta.dump());
    train::Checkpoint hostile = good;
    hostile.meta = meta;
    train::write_checkpoint_atomically(path, hostile);
    train::Trainer trainer(train::parse_config(small_config(dir + "/resumed")));
    CHECK(error_message([&] { trainer.load_checkpoint(path); }).find(expected) != std::string::npos);
  }
  train::Checkpoint beyond = good;
  beyond.meta["step"] = beyond.meta["optimizer_steps"] = 100;
  train::write_checkpoint_atomically(path, beyond);
  train::Trainer trainer(train::parse_config(small_config(dir + "/resumed")));
  trainer.load_checkpoint(path);
  CHECK(error_message([&] { trainer.train(); }).find("nothing is left to train: the run is at step 100") !=
        std::string::npos);
}

namespace {

const std::string kUserData = std::string(TL_SOURCE_DIR) + "/tests/fixtures/user_data/";

// A 3-4-2 autoencoder on the user-data fixtures: x_train.npy (12 rows, row i = (i, 2 i - 5, 7)) and x_test.npy.
json arrays_config(const std::string& output) {
  json config = json::parse(R"({
    "model": {"preset": "mlp_ae", "input": 3, "hidden": [4], "latent": 2},
    "data": {"source": "arrays"},
    "loss": {"reconstruction": "mse"},
    "optimizer": {"type": "adam", "lr": 0.01},
    "epochs": 1, "batch_size": 4, "seed": 2, "progress": false
  })");
  config["data"]["train"] = kUserData + "x_train.npy";
  config["data"]["train_labels"] = kUserData + "y_train.npy";
  config["data"]["test"] = kUserData + "x_test.npy";
  config["data"]["test_labels"] = kUserData + "y_test.npy";
  config["output"] = output;
  return config;
}

// The validation records {"epoch", "validation_loss"} of a run's log, in order.
std::vector<std::pair<int64_t, double>> validation_records(const std::string& log_path) {
  std::vector<std::pair<int64_t, double>> records;
  std::ifstream log(log_path);
  for (std::string line; std::getline(log, line);) {
    const json record = json::parse(line);
    if (record.contains("validation_loss")) records.emplace_back(record.at("epoch"), record.at("validation_loss"));
  }
  return records;
}

std::vector<std::vector<float>> parameter_values(const train::Trainer& trainer) {
  std::vector<std::vector<float>> values;
  for (const Tensor& p : trainer.parameters()) values.push_back(p.to_vector<float>());
  return values;
}

}  // namespace

TEST_CASE(
    "an arrays source reads the user's .npy and CSV files with their labels, standardised by the training split") {
  json c = arrays_config("unused");
  c["data"]["standardize"] = true;
  const train::Trainer trainer(train::parse_config(c));
  const data::Dataset& train = trainer.train_set();
  const data::Dataset& test = trainer.test_set();
  CHECK(train.name == "x_train");
  CHECK(train.size() == 12);
  CHECK(test.size() == 4);
  CHECK(train.labels == std::vector<int32_t>{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2});
  CHECK(test.labels == std::vector<int32_t>{0, 2, 1, 0});
  const double s0 = std::sqrt(143.0 / 12.0);
  const std::vector<float> x = train.inputs.to_vector<float>(), t = test.inputs.to_vector<float>();
  for (int i = 0; i < 12; ++i) {
    CHECK(x[3 * i] == doctest::Approx((i - 5.5) / s0).epsilon(1e-6));
    CHECK(x[3 * i + 2] == 0.0f);  // a constant feature: minus its mean, divided by 1
  }
  CHECK(t[3] == doctest::Approx(5.5 / s0).epsilon(1e-6));  // the test row (11, 17, 8) by the training statistics
  CHECK(t[4] == doctest::Approx(5.5 / s0).epsilon(1e-6));
  CHECK(t[5] == 1.0f);

  // One CSV file split by a seeded test_fraction; the labels follow their rows; no labels: every label 0.
  json csv = arrays_config("unused");
  csv["data"] = {{"source", "arrays"},
                 {"train", kUserData + "x.csv"},
                 {"train_labels", kUserData + "y.csv"},
                 {"test_fraction", 0.25}};
  const train::Trainer split(train::parse_config(csv));
  CHECK(split.train_set().size() == 9);
  CHECK(split.test_set().size() == 3);
  std::vector<float> first;
  for (const data::Dataset* part : {&split.train_set(), &split.test_set()}) {
    const std::vector<float> v = part->inputs.to_vector<float>();
    for (int64_t i = 0; i < part->size(); ++i) {
      CHECK(part->labels[i] == static_cast<int32_t>(v[3 * i]) % 3);
      CHECK(v[3 * i + 1] == 2.0f * v[3 * i] - 5.0f);
      first.push_back(v[3 * i]);
    }
  }
  std::sort(first.begin(), first.end());
  CHECK(first == std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  json reseeded = csv;
  reseeded["data"]["split_seed"] = 77;
  CHECK(train::Trainer(train::parse_config(reseeded)).test_set().inputs.to_vector<float>() !=
        split.test_set().inputs.to_vector<float>());
  csv["data"].erase("train_labels");
  const train::Trainer unlabelled(train::parse_config(csv));
  CHECK(unlabelled.train_set().labels == std::vector<int32_t>(9, 0));
  CHECK(split.test_set().inputs.to_vector<float>() == unlabelled.test_set().inputs.to_vector<float>());
}

TEST_CASE(
    "an arrays source refuses missing files, mismatched labels or widths and bad fractions, naming key and file") {
  const auto refused = [](const json& c, const std::vector<std::string>& expected) {
    const std::string message = trainer_error(c);
    for (const std::string& part : expected) CHECK_MESSAGE(message.find(part) != std::string::npos, message);
  };
  json c = arrays_config("unused");
  c["data"]["train"] = kUserData + "missing.npy";
  refused(c, {"config key 'data.train' names '" + kUserData + "missing.npy', which does not exist"});
  c = arrays_config("unused");
  c["data"]["train_labels"] = kUserData + "y_test.npy";
  refused(c, {"config key 'data.train_labels'", "y_test.npy' holds 4 labels for the 12 rows of 'data.train'",
              "x_train.npy"});
  c = arrays_config("unused");
  c["data"]["test"] = kUserData + "x_wide.npy";
  c["data"].erase("test_labels");
  c["data"].erase("train_labels");
  refused(c, {"config key 'data.test'", "x_wide.npy' has 4 features per row, 'data.train'", "has 3"});
  c = arrays_config("unused");
  c["data"]["train_labels"] = kUserData + "y_float.npy";
  refused(c, {"config key 'data.train_labels'", "y_float.npy", "is not little-endian int32 or int64"});
  c = arrays_config("unused");
  c["data"]["train"] = kUserData + "y_test.npy";
  refused(c, {"config key 'data.train'", "y_test.npy", "not little-endian float32 or float64"});

  c = arrays_config("unused");
  c["data"].erase("test");
  c["data"].erase("test_labels");
  c["data"]["test_fraction"] = 1.5;
  CHECK(config_error(c).find("config key 'data.test_fraction' must be a number in (0, 1), got 1.5") !=
        std::string::npos);
  c["data"]["test_fraction"] = 0.99;  // ceil(0.99 * 12) = 12 rows held out
  refused(c, {"config key 'data.test_fraction' (0.99) leaves no training rows of the 12", "x_train.npy"});
  c["data"]["test_fraction"] = 0.5;
  c["data"]["test"] = kUserData + "x_test.npy";
  CHECK(config_error(c).find("'data.test' and 'data.test_fraction': give exactly one") != std::string::npos);
  c = arrays_config("unused");
  c["data"]["tset"] = "x.npy";
  CHECK(config_error(c).find("unknown config key 'data.tset'") != std::string::npos);
  c = arrays_config("unused");
  c["data"].erase("test_labels");
  CHECK(config_error(c).find("'data.train_labels' and 'data.test_labels': give both or neither") != std::string::npos);
  c = arrays_config("unused");
  c["data"]["standardize"] = true;
  c["loss"]["reconstruction"] = "bce";
  CHECK(config_error(c).find("'data.standardize' is true, but 'loss.reconstruction' is bce") != std::string::npos);
  c = arrays_config("unused");
  c["validation"] = {{"fraction", 1.0}};
  CHECK(config_error(c).find("'validation.fraction' must be a number in [0, 1)") != std::string::npos);
  c["validation"] = {{"fraction", 0.1}, {"every", "step"}};
  CHECK(config_error(c).find("'validation.every' must be one of epoch") != std::string::npos);
  c["validation"] = {{"fraction", 0.05}};  // ceil(0.6) = 1 row
  refused(c, {"config key 'validation.fraction' (0.05) holds out 1 of the 12 training rows"});
  c["validation"] = {{"fraction", 0.9}};
  refused(c, {"config key 'validation.fraction' (0.9) leaves 1 of the 12 training rows, fewer than batch_size 4"});
}

TEST_CASE("an IDX directory holding one file set is split by split_from and test_fraction, as tl_classify splits it") {
  const std::optional<data::Dataset> whole = shared_mnist_test_split();
  if (!whole) return;
  json c = json::parse(R"({
    "model": {"preset": "mlp_ae", "input": 784, "hidden": [8], "latent": 2},
    "data": {"source": "idx", "split_from": "t10k", "test_fraction": 0.1, "split_seed": 0},
    "loss": {"reconstruction": "bce"}, "batch_size": 16, "seed": 5, "progress": false
  })");
  c["data"]["path"] = TL_MNIST_DIR;
  const train::Trainer trainer(train::parse_config(c));
  CHECK(trainer.train_set().size() == 9000);
  CHECK(trainer.test_set().size() == 1000);
  // The test rows are the t10k rows that tl_classify --split-from t10k --test-fraction 0.1 --split-seed 0 holds out.
  const data::RowSplit rows = data::test_split_rows(10000, 0.1, 0);
  CHECK(trainer.test_set().inputs.to_vector<float>() == data::select_rows(*whole, rows.test).inputs.to_vector<float>());
  // The two splits partition the file set: their class counts add up to the whole's.
  std::vector<int> counts(10, 0), whole_counts(10, 0);
  for (const data::Dataset* part : {&trainer.train_set(), &trainer.test_set()})
    for (int32_t label : part->labels) ++counts[label];
  for (int32_t label : whole->labels) ++whole_counts[label];
  CHECK(counts == whole_counts);
  c["data"]["limit"] = 300;
  CHECK(train::Trainer(train::parse_config(c)).train_set().inputs.to_vector<float>() ==
        data::select_rows(*whole, std::vector<int64_t>(rows.train.begin(), rows.train.begin() + 300))
            .inputs.to_vector<float>());

  c["data"].erase("split_from");
  CHECK(config_error(c).find("config key 'data.test_fraction' needs 'data.split_from'") != std::string::npos);
  c["data"]["split_from"] = "validation";
  CHECK(config_error(c).find("'data.split_from'") != std::string::npos);
}

TEST_CASE("data.embed_dim carries a synthetic set and its held-out sample into R^d by one isometry") {
  json c = json::parse(R"({
    "model": {"preset": "mlp_vae", "input": 10, "hidden": [8], "latent": 2},
    "data": {"source": "synthetic", "name": "torus", "count": 200, "embed_dim": 10},
    "loss": {"reconstruction": "mse"}, "batch_size": 16, "seed": 3, "progress": false
  })");
  const train::Trainer trainer(train::parse_config(c));
  const data::Dataset& train = trainer.train_set();
  const data::Dataset& test = trainer.test_set();
  CHECK(train.inputs.shape() == Shape{200, 10});
  CHECK(test.inputs.shape() == Shape{20, 10});
  // Without noise, the distance from any training point to any held-out point is that of the sets as drawn in R^3:
  // both splits went through the same frame.
  const std::vector<float> x = data::synthetic_dataset("torus", 200, 3).inputs.to_vector<float>();
  const std::vector<float> t = data::synthetic_test_dataset("torus", 20, 3).inputs.to_vector<float>();
  const std::vector<float> ex = train.inputs.to_vector<float>(), et = test.inputs.to_vector<float>();
  for (int64_t i = 0; i < 200; i += 7) {
    for (int64_t j = 0; j < 20; ++j) {
      double native = 0.0, embedded = 0.0;
      for (int k = 0; k < 3; ++k) native += std::pow(double(x[i * 3 + k]) - t[j * 3 + k], 2);
      for (int k = 0; k < 10; ++k) embedded += std::pow(double(ex[i * 10 + k]) - et[j * 10 + k], 2);
      CHECK(std::sqrt(embedded) == doctest::Approx(std::sqrt(native)).epsilon(1e-5));
    }
  }
  c["data"]["embed_dim"] = 2;
  c["model"]["input"] = 2;
  CHECK(trainer_error(c).find("config key 'data.embed_dim' (2) is below the 3 features of the synthetic set 'torus'") !=
        std::string::npos);
}

TEST_CASE("spheres are one cloud split 90/10 and standardised by the training split, as in Moor et al.") {
  json c = json::parse(R"({
    "model": "spheres_ae", "data": {"source": "synthetic", "name": "spheres", "count": 400},
    "loss": {"reconstruction": "mse", "reduction": "mean"}, "batch_size": 16, "seed": 5, "progress": false
  })");
  const train::TrainConfig config = train::parse_config(c);
  CHECK(config.data.test_fraction == 0.1);
  CHECK(config.data.standardize);
  const train::Trainer trainer(config);
  const data::Dataset& train = trainer.train_set();
  const data::Dataset& test = trainer.test_set();
  CHECK(train.size() == 360);
  CHECK(test.size() == 40);
  // The two splits partition one cloud: 20 points on each small sphere, 200 on the large one.
  std::vector<int> counts(11, 0);
  for (const data::Dataset* part : {&train, &test})
    for (int32_t label : part->labels) ++counts[label];
  CHECK(counts == std::vector<int>{20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 200});
  // Every feature of the training split has mean 0 and population std 1.
  const data::Standardization after = data::fit_standardization(train.inputs);
  for (int k = 0; k < 101; ++k) {
    CHECK(std::abs(after.mean[k]) < 1e-5);
    CHECK(after.scale[k] == doctest::Approx(1.0).epsilon(1e-5));
  }
  // A held-out small-sphere point lies on its training sphere: nearer that sphere's training centroid than any other
  // (a test set drawn around new centres, as before, would not be).
  const std::vector<float> x = train.inputs.to_vector<float>(), t = test.inputs.to_vector<float>();
  std::vector<std::vector<double>> centroid(10, std::vector<double>(101, 0.0));
  for (int64_t i = 0; i < train.size(); ++i)
    if (train.labels[i] < 10)
      for (int k = 0; k < 101; ++k) centroid[train.labels[i]][k] += x[i * 101 + k] / counts[train.labels[i]];
  int checked = 0;
  for (int64_t i = 0; i < test.size(); ++i) {
    if (test.labels[i] == 10) continue;
    std::vector<double> d(10, 0.0);
    for (int s = 0; s < 10; ++s)
      for (int k = 0; k < 101; ++k) d[s] += std::pow(t[i * 101 + k] - centroid[s][k], 2);
    CHECK(std::min_element(d.begin(), d.end()) - d.begin() == test.labels[i]);
    ++checked;
  }
  CHECK(checked > 0);
}

TEST_CASE("the initial weights depend on the model and init_seed only, not on the topology terms or the data seed") {
  json plain = small_config("unused");
  plain["topology"] = json::array();
  const std::vector<std::vector<float>> with_talsr =
      parameter_values(train::Trainer(train::parse_config(small_config("unused"))));
  CHECK(parameter_values(train::Trainer(train::parse_config(plain))) == with_talsr);
  json signature = small_config("unused");
  signature["topology"] = json::parse(R"([{"term": "signature", "learnable_latent_scale": true}])");
  CHECK(parameter_values(train::Trainer(train::parse_config(signature))) == with_talsr);

  json pinned = small_config("unused");
  pinned["model"]["init_seed"] = 4;  // the config's seed
  pinned["seed"] = 9;                // a different data draw and shuffle
  CHECK(parameter_values(train::Trainer(train::parse_config(pinned))) == with_talsr);
  pinned["model"]["init_seed"] = 5;
  CHECK(parameter_values(train::Trainer(train::parse_config(pinned))) != with_talsr);
  CHECK(train::parse_config(small_config("unused")).init_seed == 4);
}

TEST_CASE("a validation split is held out of training, logged each epoch, and its best state is kept and evaluated") {
  const std::string dir = scratch_directory("trainer_validation");
  json c = small_config(dir + "/a");
  c["model"]["variational"] = false;
  c["validation"] = {{"fraction", 0.1}, {"patience", 0}};
  c["epochs"] = 4;
  train::Trainer trainer(train::parse_config(c));
  CHECK(trainer.validation_set().size() == 26);  // ceil(0.1 * 256)
  CHECK(trainer.train_set().size() == 230);
  CHECK(trainer.steps_per_epoch() == 7);
  // The held-out rows are not among the training rows.
  const std::vector<float> v = trainer.validation_set().inputs.to_vector<float>();
  const std::vector<float> x = trainer.train_set().inputs.to_vector<float>();
  for (int64_t i = 0; i < 26; ++i)
    for (int64_t j = 0; j < 230; ++j)
      CHECK_FALSE(std::equal(v.begin() + i * 10, v.begin() + (i + 1) * 10, x.begin() + j * 10));

  // With 26 rows (fewer than a batch) the validation loss is the objective on them all in eval mode (here MSE only).
  {
    json plain_config = c;
    plain_config["topology"] = json::array();
    train::Trainer plain(train::parse_config(plain_config));
    const double loss = plain.validation_loss();
    NoGradGuard no_grad;
    plain.model().eval();
    const Tensor out = plain.model()(plain.validation_set().inputs);
    CHECK(loss ==
          doctest::Approx(mse_loss(out, plain.validation_set().inputs, Reduction::BatchMean).item()).epsilon(1e-6));
    CHECK(trainer.validation_loss() > loss);  // the same weights (init_seed), plus a positive TALSR term
  }

  trainer.train();
  const std::vector<std::pair<int64_t, double>> records = validation_records(dir + "/a/log.jsonl");
  REQUIRE(records.size() == 4);
  size_t best = 0;
  for (size_t e = 0; e < records.size(); ++e) {
    CHECK(records[e].first == static_cast<int64_t>(e) + 1);
    if (records[e].second < records[best].second) best = e;
  }
  CHECK(trainer.best_epoch() == records[best].first);
  CHECK(trainer.best_validation_loss() == records[best].second);
  const train::Checkpoint kept = train::read_checkpoint(dir + "/a/best.tlc");
  CHECK(kept.meta.at("step") == 7 * records[best].first);
  CHECK(kept.meta.at("validation").at("best_epoch") == records[best].first);
  CHECK(train::read_checkpoint(dir + "/a/checkpoint.tlc").meta.at("validation").at("epochs_since_best") ==
        4 - records[best].first);

  // The report evaluates the best state: the metrics of a trainer loaded from best.tlc.
  const json evaluation = trainer.evaluate();
  trainer.write_report(evaluation);
  train::Trainer from_best(train::parse_config(c));
  from_best.load_checkpoint(dir + "/a/best.tlc");
  const json direct = train::evaluate_model(from_best.family(), from_best.test_set(), from_best.config());
  CHECK(evaluation.at("mse_per_feature") == direct.at("mse_per_feature"));
  CHECK(evaluation.at("h0_w1_scaled") == direct.at("h0_w1_scaled"));
  std::ifstream report_file(dir + "/a/report.json");
  const json report = json::parse(report_file);
  CHECK(report.at("best_epoch") == records[best].first);
  CHECK(report.at("evaluated") == "best.tlc");
  CHECK(report.at("validation").at("samples") == 26);
  CHECK(report.at("validation").at("stopped_early") == false);

  // A fresh run refuses a directory holding only a best state, and --force removes it too.
  std::filesystem::create_directories(dir + "/b");
  std::filesystem::copy_file(dir + "/a/best.tlc", dir + "/b/best.tlc");
  json other = c;
  other["output"] = dir + "/b";
  CHECK(error_message([&] { train_fresh(other, 2); }).find("holds an earlier run (best.tlc)") != std::string::npos);
}

TEST_CASE("early stopping ends the run after patience epochs without improvement, and a resume keeps the record") {
  const std::string dir = scratch_directory("trainer_early_stopping");
  // A step too small to move any float32 parameter: the validation loss repeats exactly, so epoch 1 stays the best.
  json frozen = small_config(dir + "/frozen");
  frozen["topology"] = json::array();
  frozen["model"]["variational"] = false;
  frozen["optimizer"] = {{"type", "sgd"}, {"lr", 1e-30}};
  frozen["validation"] = {{"fraction", 0.25}, {"patience", 2}};
  frozen["epochs"] = 10;
  train::Trainer stopped(train::parse_config(frozen));
  stopped.train();
  CHECK(stopped.steps_per_epoch() == 6);  // 192 of 256 rows train
  CHECK(stopped.step() == 18);            // epochs 2 and 3 did not improve on epoch 1
  CHECK(stopped.stopped_early());
  CHECK(stopped.best_epoch() == 1);
  CHECK(stopped.epochs_since_best() == 2);
  const std::vector<std::pair<int64_t, double>> records = validation_records(dir + "/frozen/log.jsonl");
  REQUIRE(records.size() == 3);
  CHECK(records[1].second == records[0].second);
  CHECK(records[2].second == records[0].second);
  train::Trainer again(train::parse_config(train::resume_document(dir + "/frozen/checkpoint.tlc", {})));
  again.load_checkpoint(dir + "/frozen/checkpoint.tlc");
  CHECK(error_message([&] { again.train(); }).find("nothing is left to train: the run stopped early after epoch 3") !=
        std::string::npos);

  // A resume from the middle continues bit for bit, with the same validation record, log and best state.
  json learning = small_config(dir + "/straight");
  learning["validation"] = {{"fraction", 0.25}, {"patience", 3}};
  learning["epochs"] = 5;
  train::Trainer straight(train::parse_config(learning));
  straight.train();
  json first_part = learning;
  first_part["output"] = dir + "/resumed";
  first_part["max_steps"] = 12;
  train_fresh(first_part);
  json rest = learning;
  rest["output"] = dir + "/resumed";
  train::Trainer resumed(train::parse_config(rest));
  resumed.load_checkpoint(dir + "/resumed/checkpoint.tlc");
  CHECK(resumed.best_epoch() >= 1);
  resumed.train();
  CHECK(resumed.state_hash() == straight.state_hash());
  CHECK(resumed.best_epoch() == straight.best_epoch());
  CHECK(resumed.best_validation_loss() == straight.best_validation_loss());
  CHECK(validation_records(dir + "/resumed/log.jsonl") == validation_records(dir + "/straight/log.jsonl"));
  const train::Checkpoint best_resumed = train::read_checkpoint(dir + "/resumed/best.tlc");
  const train::Checkpoint best_straight = train::read_checkpoint(dir + "/straight/best.tlc");
  CHECK(best_resumed.meta.at("step") == best_straight.meta.at("step"));
  CHECK(best_resumed.meta.at("validation") == best_straight.meta.at("validation"));
  REQUIRE(best_resumed.tensors.size() == best_straight.tensors.size());
  for (size_t t = 0; t < best_resumed.tensors.size(); ++t)
    CHECK(best_resumed.tensors[t].second.to_vector<float>() == best_straight.tensors[t].second.to_vector<float>());

  // A crafted validation record is refused by name.
  train::Checkpoint crafted = train::read_checkpoint(dir + "/resumed/checkpoint.tlc");
  crafted.meta["validation"]["best_epoch"] = 9;
  train::write_checkpoint_atomically(dir + "/crafted.tlc", crafted);
  train::Trainer refusing(train::parse_config(rest));
  CHECK(error_message([&] {
          refusing.load_checkpoint(dir + "/crafted.tlc");
        }).find("\"validation.best_epoch\" must be an integer in [0, 5], got 9") != std::string::npos);
}

TEST_CASE("the thread tuner warms up, times both teams, keeps the faster by 10 %, and follows a changing load") {
  // The teams the tuner gives `steps` steps whose times `ms(step, team)` returns.
  const auto schedule = [](train::ThreadTuner tuner, int steps, const std::function<double(int, int)>& ms) {
    std::vector<int> teams;
    for (int step = 0; step < steps; ++step) {
      teams.push_back(tuner.threads());
      tuner.record(ms(step, teams.back()));
    }
    return teams;
  };
  // Window 2, stretch 4: steps 0-1 warm up on both threads; 2-3 are timed on both, 4-5 on one (the first step of a
  // window is not counted: here it takes 1000 ms); then 4 steps on the faster, then both windows again, the stretch
  // doubling each time the choice holds.
  const std::set<int> first_of_window = {2, 4, 10, 12, 22, 24};
  const auto steady = [&](double two, double one) {
    return [=, &first_of_window](int step, int team) {
      return first_of_window.count(step) ? 1000.0 : team == 2 ? two : one;
    };
  };
  const std::vector<int> quiet = {2, 2, 2, 2, 1, 1, 2, 2, 2, 2, 2, 2, 1, 1, 2, 2,
                                  2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 2, 2, 2, 2, 2, 2};
  const std::vector<int> busy = {2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 2, 2, 1, 1, 1, 1,
                                 1, 1, 1, 1, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1};
  CHECK(schedule(train::ThreadTuner(2, 2, 4), 32, steady(6.0, 10.0)) == quiet);
  CHECK(schedule(train::ThreadTuner(2, 2, 4), 32, steady(15.0, 10.0)) == busy);
  CHECK(schedule(train::ThreadTuner(2, 2, 4), 32, steady(10.5, 10.0)) == quiet);  // faster by less than 10 %
  // Quiet until step 10, then the other core busy: the second measurement switches, and the stretch starts over.
  const auto turning = [&](int step, int team) {
    return step < 10 ? steady(6.0, 10.0)(step, team) : steady(15.0, 10.0)(step, team);
  };
  CHECK(schedule(train::ThreadTuner(2, 2, 4), 22, turning) ==
        std::vector<int>{2, 2, 2, 2, 1, 1, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 2, 2, 1, 1});
  // Window 4 on a machine where one thread is 8x slower: the one-thread window ends after two counted steps.
  CHECK(schedule(train::ThreadTuner(2, 4, 4), 16, [](int, int team) { return team == 2 ? 1.0 : 8.0; }) ==
        std::vector<int>{2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2});
  CHECK(schedule(train::ThreadTuner(1, 4, 10), 30, steady(1.0, 1.0)) == std::vector<int>(30, 1));
  CHECK(error_message([] { train::ThreadTuner(2, 1, 10); }).find("window 1") != std::string::npos);
}

// Sets OMP_NUM_THREADS (or unsets it, for an empty value) and the OpenMP team while it lives; restores both after.
class OpenMpSettings {
 public:
  OpenMpSettings(const std::string& variable, int team) : had_(std::getenv("OMP_NUM_THREADS") != nullptr) {
    if (had_) saved_ = std::getenv("OMP_NUM_THREADS");
    if (variable.empty()) {
      unsetenv("OMP_NUM_THREADS");
    } else {
      setenv("OMP_NUM_THREADS", variable.c_str(), 1);
    }
    omp_set_num_threads(team);
  }
  ~OpenMpSettings() {
    if (had_) {
      setenv("OMP_NUM_THREADS", saved_.c_str(), 1);
    } else {
      unsetenv("OMP_NUM_THREADS");
    }
    omp_set_num_threads(team_before_);
  }
  OpenMpSettings(const OpenMpSettings&) = delete;
  OpenMpSettings& operator=(const OpenMpSettings&) = delete;

 private:
  bool had_;
  std::string saved_;
  int team_before_ = omp_get_max_threads();
};

TEST_CASE("a run whose team the tuner changes equals a one-thread run bit for bit") {
  // Large enough for the parallel kernels (GEMMs above 64^3 flops, elementwise ops above 2^15 elements). Without
  // OMP_NUM_THREADS and with every core, the trainer tunes the team: 8 steps on every core untimed, 8 timed, then up
  // to 8 on one thread, then the faster. Every CPU kernel sums in an order fixed by the data: the parameters cannot
  // tell.
  const std::string dir = scratch_directory("thread_tuner");
  const auto train_with = [&](const std::string& variable, int team, const std::string& name) {
    const OpenMpSettings settings(variable, team);
    json config = small_config(dir + "/" + name);
    config["model"]["hidden"] = {256};
    config["data"]["count"] = 1024;
    config["batch_size"] = 256;
    config["epochs"] = 8;  // 32 steps
    train::Trainer trainer(train::parse_config(config));
    trainer.train();
    return parameter_values(trainer);
  };
  const int cores = omp_get_num_procs();
  const auto one = train_with("1", 1, "one");
  const auto tuned = train_with("", cores, "tuned");
  REQUIRE(one.size() == tuned.size());
  for (size_t i = 0; i < one.size(); ++i) {
    REQUIRE(one[i].size() == tuned[i].size());
    CHECK(std::memcmp(one[i].data(), tuned[i].data(), one[i].size() * sizeof(float)) == 0);
  }
  std::vector<int> teams;
  std::ifstream log(dir + "/tuned/log.jsonl");
  for (std::string line; std::getline(log, line);) {
    const json record = json::parse(line);
    if (record.contains("threads")) teams.push_back(record.at("threads").get<int>());
  }
  REQUIRE(teams.size() == 32);
  if (cores == 1) {
    MESSAGE("one core: nothing to tune");
    return;
  }
  for (int step = 0; step < 16; ++step) CHECK(teams[static_cast<size_t>(step)] == cores);  // warm-up, timed window
  for (int step = 16; step < 19; ++step) CHECK(teams[static_cast<size_t>(step)] == 1);     // one thread, timed
}

}  // namespace tl::testing
