// Data-parallel training as a user launches it: `mpirun -np 2 tl_train` against one process on the same global
// batch (losses and parameters within a float tolerance: the sums run in another order), run to run bit for bit,
// resume with the same process count, the cores shared while training, and an error on one process ending both.
// Skipped with a message in builds without MPI, and in sanitizer builds (Open MPI's own allocations would be reported
// as leaks).
#include <omp.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "apps/trainer/checkpoint.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// mpirun as root needs Open MPI's consent; --oversubscribe lets two processes share this machine's cores.
std::string mpirun(int processes) {
#ifdef TL_MPIEXEC
  return std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 timeout 300 ") +
         TL_MPIEXEC + " -np " + std::to_string(processes) + " --oversubscribe ";
#else
  (void)processes;
  return "";
#endif
}

// tl_train on `config` in `dir` with `processes` processes (1: no mpirun); the run's output is `output`.
ToolRun train(const std::string& dir, const json& config, int processes, const std::string& output,
              const std::string& extra = "") {
  std::ofstream(dir + "/" + output + ".json") << config.dump(2);
  const std::string launcher = processes > 1 ? mpirun(processes) : "OMP_NUM_THREADS=1 ";
  return run_in(dir, launcher + "'" + tool("tl_train") + "' " + output + ".json output=" + output +
                         " progress=false --no-eval " + extra);
}

std::vector<json> log_records(const std::string& path) {
  std::vector<json> records;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) records.push_back(json::parse(line));
  return records;
}

// Every logged loss of every step agrees within rtol (relative to the value, or 1e-6 absolute).
void check_logs_close(const std::string& a, const std::string& b, const std::vector<std::string>& keys, double rtol) {
  const std::vector<json> one = log_records(a), two = log_records(b);
  REQUIRE(one.size() == two.size());
  REQUIRE(!one.empty());
  for (size_t i = 0; i < one.size(); ++i)
    for (const std::string& key : keys) {
      INFO("step ", one[i].at("step"), ", ", key);
      REQUIRE(two[i].contains(key));
      const double x = one[i].at(key).get<double>(), y = two[i].at(key).get<double>();
      CHECK(std::abs(x - y) <= rtol * std::abs(x) + 1e-6);
    }
}

std::map<std::string, std::vector<float>> checkpoint_tensors(const std::string& path) {
  std::map<std::string, std::vector<float>> tensors;
  for (const auto& [name, tensor] : train::read_checkpoint(path).tensors) tensors[name] = tensor.to_vector<float>();
  return tensors;
}

// The model's parameters ("model.*") of two checkpoints agree within rtol / atol.
void check_parameters_close(const std::string& a, const std::string& b, double rtol, double atol) {
  const auto one = checkpoint_tensors(a), two = checkpoint_tensors(b);
  REQUIRE(one.size() == two.size());
  int compared = 0;
  for (const auto& [name, values] : one) {
    if (name.rfind("model.", 0) != 0) continue;
    check_close(two.at(name), values, rtol, atol, name);
    ++compared;
  }
  CHECK(compared > 0);
}

// A VAE on a noisy torus with TALSR's H0 + H1 term (the paper's W1 on diameter-normalised diagrams).
json talsr_vae() {
  return json::parse(R"({
    "model": {"preset": "mlp_vae", "input": 3, "hidden": [32, 32], "latent": 2},
    "data": {"source": "synthetic", "name": "torus", "count": 512, "noise": 0.02},
    "loss": {"reconstruction": "mse", "reduction": "batch_mean", "beta": 0.01},
    "topology": [{"term": "talsr", "weight": 1.0, "dims": [0, 1], "distance": "w1", "normalize": "diameter"}],
    "optimizer": {"type": "adam", "lr": 0.001},
    "max_steps": 4, "batch_size": 64, "seed": 3
  })");
}

bool mpi_available() {
  if (!mpirun(2).empty()) return !tool("tl_train").empty();
  MESSAGE("skipped: this build has no Open MPI (or is a sanitizer build)");
  return false;
}

TEST_CASE("two processes train a TALSR VAE as one process does on the same global batch, and repeat bit for bit") {
  if (!mpi_available()) return;
  const std::string dir = scratch_directory("data_parallel_talsr");
  REQUIRE(train(dir, talsr_vae(), 1, "one").status == 0);
  const ToolRun two = train(dir, talsr_vae(), 2, "two");
  INFO(two.output);
  REQUIRE(two.status == 0);
  REQUIRE(train(dir, talsr_vae(), 2, "again").status == 0);
  check_logs_close(dir + "/one/log.jsonl", dir + "/two/log.jsonl", {"reconstruction", "kl", "talsr", "grad_norm"},
                   1e-4);
  check_parameters_close(dir + "/two/checkpoint.tlc", dir + "/one/checkpoint.tlc", 1e-4, 1e-6);
  CHECK(checkpoint_tensors(dir + "/two/checkpoint.tlc") == checkpoint_tensors(dir + "/again/checkpoint.tlc"));
  CHECK(train::read_checkpoint(dir + "/two/checkpoint.tlc").meta.at("processes") == 2);
}

TEST_CASE("two processes train the reference VAE on MNIST with a sum reduction as one process does") {
  if (!mpi_available()) return;
  const fs::path mnist = fs::absolute(TL_MNIST_DIR);
  if (!fs::exists(mnist / "t10k-images-idx3-ubyte.gz")) {
    MESSAGE("skipped: MNIST's test split is not at ", mnist.string());
    return;
  }
  json config = json::parse(R"({
    "model": "reference_vae",
    "data": {"source": "idx", "split_from": "t10k", "test_fraction": 0.1, "limit": 1024},
    "loss": {"reconstruction": "bce", "reduction": "sum", "beta": 1.0},
    "optimizer": {"type": "adam", "lr": 0.001}, "max_steps": 3, "batch_size": 128, "seed": 0
  })");
  config["data"]["path"] = mnist.string();
  const std::string dir = scratch_directory("data_parallel_reference_vae");
  REQUIRE(train(dir, config, 1, "one").status == 0);
  const ToolRun two = train(dir, config, 2, "two");
  INFO(two.output);
  REQUIRE(two.status == 0);
  check_logs_close(dir + "/one/log.jsonl", dir + "/two/log.jsonl", {"reconstruction", "kl", "grad_norm"}, 1e-5);
  check_parameters_close(dir + "/two/checkpoint.tlc", dir + "/one/checkpoint.tlc", 1e-4, 1e-6);
}

TEST_CASE("two processes train a point GAN and a point diffusion model with topology terms as one process does") {
  if (!mpi_available()) return;
  const std::string dir = scratch_directory("data_parallel_generative");
  json gan = json::parse(R"({
    "family": "gan", "model": {"preset": "point_gan", "input": 2, "noise_dim": 4, "hidden": [32, 32]},
    "data": {"source": "synthetic", "name": "circle", "count": 512, "noise": 0.05},
    "topology": [{"term": "talsr", "weight": 0.5, "dims": [0, 1]}],
    "optimizer": {"type": "adam", "lr": 0.001}, "max_steps": 3, "batch_size": 64, "seed": 1
  })");
  // topology_max_t below T: each process selects a different number of rows, which the gather must handle.
  json diffusion = json::parse(R"({
    "family": "diffusion", "model": {"preset": "point_denoiser", "input": 2, "hidden": [32, 32], "time_dim": 8},
    "data": {"source": "synthetic", "name": "circle", "count": 512, "noise": 0.05},
    "diffusion": {"steps": 100, "topology_max_t": 40},
    "topology": [{"term": "talsr", "weight": 0.5, "dims": [0, 1]}],
    "optimizer": {"type": "adam", "lr": 0.001}, "max_steps": 3, "batch_size": 64, "seed": 2
  })");
  struct Family {
    std::string name;
    json config;
    std::vector<std::string> keys;  // the logged losses compared
  };
  for (const Family& family : {Family{"gan", gan, {"discriminator", "generator", "talsr"}},
                               Family{"diffusion", diffusion, {"denoising", "talsr"}}}) {
    const std::string& name = family.name;
    const json& config = family.config;
    const std::vector<std::string>& keys = family.keys;
    INFO(name);
    const ToolRun one = train(dir, config, 1, name + "_one");
    INFO(one.output);
    REQUIRE(one.status == 0);
    const ToolRun two = train(dir, config, 2, name + "_two");
    INFO(two.output);
    REQUIRE(two.status == 0);
    check_logs_close(dir + "/" + name + "_one/log.jsonl", dir + "/" + name + "_two/log.jsonl", keys, 1e-4);
    check_parameters_close(dir + "/" + name + "_two/checkpoint.tlc", dir + "/" + name + "_one/checkpoint.tlc", 1e-4,
                           1e-6);
  }
}

TEST_CASE("per-rank topology terms are each process's own term, averaged over the processes") {
  if (!mpi_available()) return;
  const std::string dir = scratch_directory("data_parallel_per_rank");
  // A learning rate far below float resolution keeps the weights fixed, so that one process with half the batch
  // sees rank 0's rows at step 1 and rank 1's at step 2 under the same weights (TALSR reads the codes' means, which
  // no noise draw touches).
  json config = talsr_vae();
  config["optimizer"]["lr"] = 1e-30;
  config["max_steps"] = 1;
  config["distributed"] = {{"topology", "per_rank"}};
  const ToolRun two = train(dir, config, 2, "two");
  INFO(two.output);
  REQUIRE(two.status == 0);
  config.erase("distributed");
  config["max_steps"] = 2;
  config["batch_size"] = 32;
  REQUIRE(train(dir, config, 1, "half").status == 0);
  const std::vector<json> halves = log_records(dir + "/half/log.jsonl"), shards = log_records(dir + "/two/log.jsonl");
  REQUIRE(halves.size() == 2);
  REQUIRE(shards.size() == 1);
  const double mean = (halves[0].at("talsr").get<double>() + halves[1].at("talsr").get<double>()) / 2;
  CHECK(shards[0].at("talsr").get<double>() == doctest::Approx(mean).epsilon(1e-6));
}

TEST_CASE("a two-process run resumes bit-identically with two processes and refuses one") {
  if (!mpi_available()) return;
  const std::string dir = scratch_directory("data_parallel_resume");
  json config = talsr_vae();
  config["max_steps"] = 6;
  REQUIRE(train(dir, config, 2, "whole").status == 0);
  config["max_steps"] = 3;
  REQUIRE(train(dir, config, 2, "part").status == 0);
  const std::string resume =
      "'" + tool("tl_train") + "' --resume part/checkpoint.tlc max_steps=6 progress=false --no-eval";
  const ToolRun alone = run_in(dir, "OMP_NUM_THREADS=1 " + resume);
  CHECK(alone.status == 1);
  CHECK(alone.output.find("was trained by 2 process(es); this run has 1") != std::string::npos);
  const ToolRun resumed = run_in(dir, mpirun(2) + resume);
  INFO(resumed.output);
  REQUIRE(resumed.status == 0);
  CHECK(checkpoint_tensors(dir + "/part/checkpoint.tlc") == checkpoint_tensors(dir + "/whole/checkpoint.tlc"));
}

TEST_CASE("processes on one machine share its cores while they train, and rank 0 evaluates with all of them") {
  if (!mpi_available()) return;
  const std::string dir = scratch_directory("data_parallel_cores");
  std::ofstream(dir + "/talsr.json") << talsr_vae().dump(2);
  // Unbound processes without OMP_NUM_THREADS (mpirun() sets it to 1): each trains with half the cores.
  const ToolRun run = run_in(dir, mpirun(2) + "--bind-to none env -u OMP_NUM_THREADS '" + tool("tl_train") +
                                      "' talsr.json output=run progress=false");
  INFO(run.output);
  REQUIRE(run.status == 0);
  const json report = json::parse(std::ifstream(dir + "/run/report.json"));
  // A machine whose cpuset hides some cores is treated as a binding: the process keeps the cores it sees.
  const int cores = omp_get_num_procs();
  const bool sees_every_core = cores >= static_cast<int>(std::thread::hardware_concurrency());
  CHECK(report.at("train").at("processes") == 2);
  CHECK(report.at("train").at("threads_per_process") == (sees_every_core ? std::max(1, cores / 2) : cores));
  CHECK(report.at("evaluation_threads") == cores);
}

TEST_CASE("data-parallel refusals: a batch that does not split, and an error on one process ends both") {
  if (!mpi_available()) return;
  const std::string dir = scratch_directory("data_parallel_refusals");
  json config = talsr_vae();
  config["batch_size"] = 63;
  const ToolRun odd = train(dir, config, 2, "odd");
  CHECK(odd.status == 1);
  CHECK(odd.output.find("batch_size 63 does not split into the 2 processes") != std::string::npos);
  // Rank 0 refuses the output directory of an earlier run; rank 1 must not wait for it forever (timeout: 124).
  REQUIRE(train(dir, talsr_vae(), 2, "used").status == 0);
  const ToolRun again = train(dir, talsr_vae(), 2, "used");
  CHECK(again.status != 0);
  CHECK(again.status != 124);
  CHECK(again.output.find("--force") != std::string::npos);
}

}  // namespace
}  // namespace tl::testing
