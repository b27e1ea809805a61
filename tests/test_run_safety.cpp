// The tools' run safety, checked as a user runs them (the binaries built beside this suite; each test is skipped
// with a message where its tool was not built): tl_train refuses a used output directory unless --force, resumes
// beside its checkpoint from any directory and refuses a resume with nothing to do; tl_classify refuses a batch larger
// than its data and saves nothing after a NaN loss; tl_reproduce leaves no temporary directory behind, also when a
// run fails.
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <utility>

#include "apps/trainer/checkpoint.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A one-epoch run of an MLP VAE on 256 clustered points in 10-D (8 steps of 32), into runs/a.
json tiny_run() {
  return json::parse(R"({
    "model": {"preset": "mlp_vae", "input": 10, "hidden": [16], "latent": 2},
    "data": {"source": "synthetic", "name": "clusters", "count": 256},
    "loss": {"reconstruction": "mse"}, "optimizer": {"type": "adam", "lr": 0.01},
    "epochs": 1, "batch_size": 32, "seed": 4, "progress": false, "output": "runs/a"
  })");
}

void write_json(const std::string& path, const json& document) {
  std::ofstream(path) << document.dump(2);
}

// An uncompressed IDX file of unsigned bytes.
void write_idx(const std::string& path, const std::vector<uint32_t>& extents, const std::vector<uint8_t>& values) {
  std::string bytes{'\0', '\0', '\x08', static_cast<char>(extents.size())};
  for (uint32_t extent : extents)
    for (int shift = 24; shift >= 0; shift -= 8) bytes += static_cast<char>(extent >> shift & 0xFF);
  bytes.append(values.begin(), values.end());
  std::ofstream(path, std::ios::binary) << bytes;
}

// A tiny MNIST-shaped data set in `directory`: `train` and `test` images of 28 x 28 pixels, labels 0..9.
void write_tiny_mnist(const std::string& directory, uint32_t train, uint32_t test) {
  for (const auto& [prefix, count] : {std::pair{"train", train}, std::pair{"t10k", test}}) {
    std::vector<uint8_t> pixels(count * 784u), labels(count);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 37 % 256);
    for (uint32_t i = 0; i < count; ++i) labels[i] = static_cast<uint8_t>(i % 10);
    write_idx(directory + "/" + prefix + "-images-idx3-ubyte", {count, 28, 28}, pixels);
    write_idx(directory + "/" + prefix + "-labels-idx1-ubyte", {count}, labels);
  }
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("tl_train refuses a used output directory unless --force, and a resume writes beside its checkpoint") {
  const std::string train = tool("tl_train");
  if (train.empty()) return;
  const std::string dir = scratch_directory("tools_tl_train");
  write_json(dir + "/run.json", tiny_run());
  REQUIRE(run_in(dir, train + " run.json --no-eval").status == 0);
  const std::string checkpoint = dir + "/runs/a/checkpoint.tlc";
  const auto first = fs::last_write_time(checkpoint);

  const ToolRun again = run_in(dir, train + " run.json --no-eval");
  CHECK(again.status == 1);
  CHECK(contains(again.output, "output directory 'runs/a' holds an earlier run"));
  CHECK(contains(again.output, "--force"));
  CHECK(fs::last_write_time(checkpoint) == first);
  const ToolRun forced = run_in(dir, train + " run.json --no-eval --force");
  CHECK(forced.status == 0);
  CHECK(contains(forced.output, "replacing the earlier run in 'runs/a'"));

  // From another directory: the run continues in runs/a, not in a runs/a beside the current directory.
  fs::create_directories(dir + "/elsewhere");
  CHECK(run_in(dir + "/elsewhere", train + " --resume ../runs/a/checkpoint.tlc epochs=2 --no-eval").status == 0);
  CHECK(train::read_checkpoint(checkpoint).meta.at("step") == 16);
  CHECK_FALSE(fs::exists(dir + "/elsewhere/runs"));

  const ToolRun done = run_in(dir, train + " --resume runs/a/checkpoint.tlc epochs=2 --no-eval");
  CHECK(done.status == 1);
  CHECK(contains(done.output, "nothing is left to train: the run is at step 16"));
  const ToolRun absurd = run_in(dir, train + " --resume runs/a/checkpoint.tlc epochs=9223372036854775807 --no-eval");
  CHECK(absurd.status == 1);
  CHECK(contains(absurd.output, "exceeds the 4294967296 steps a run may take"));
}

TEST_CASE("tl_classify refuses a batch larger than its data, and saves nothing after a NaN loss") {
  const std::string classify = tool("tl_classify");
  if (classify.empty()) return;
  const std::string dir = scratch_directory("tools_tl_classify");
  write_tiny_mnist(dir, 16, 4);
  const ToolRun huge = run_in(dir, classify + " . --batch 100000 --out out");
  CHECK(huge.status == 1);
  CHECK(contains(huge.output, "--batch 100000 exceeds the 16 training images"));
  const ToolRun wild = run_in(dir, classify + " . --batch 4 --epochs 1 --lr 1e38 --out out");
  CHECK(wild.status == 3);
  CHECK(contains(wild.output, "training diverged"));
  CHECK_FALSE(fs::exists(dir + "/out/lenet.tlc"));
  CHECK(run_in(dir, classify + " . --batch 4 --epochs 1 --out out").status == 0);
  CHECK(fs::exists(dir + "/out/lenet.tlc"));
}

TEST_CASE("tl_reproduce leaves no temporary directory behind, also when a run fails") {
  const std::string reproduce = tool("tl_reproduce");
  if (reproduce.empty()) return;
  const std::string dir = scratch_directory("tools_tl_reproduce");
  fs::create_directories(dir + "/tmp");
  json wild = tiny_run();
  wild["optimizer"] = {{"type", "sgd"}, {"lr", 1e30}};
  write_json(dir + "/wild.json", wild);
  write_json(dir + "/tame.json", tiny_run());
  const ToolRun failed = run_in(dir, "TMPDIR=" + dir + "/tmp " + reproduce + " wild.json --steps 6");
  CHECK(failed.status == 1);
  CHECK(contains(failed.output, "training stopped"));
  CHECK(fs::is_empty(dir + "/tmp"));
  const ToolRun passed = run_in(dir, "TMPDIR=" + dir + "/tmp " + reproduce + " tame.json --steps 6");
  CHECK(passed.status == 0);
  CHECK(contains(passed.output, "bit-identical"));
  CHECK(fs::is_empty(dir + "/tmp"));
}

}  // namespace tl::testing
