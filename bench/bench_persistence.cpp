// Persistence microbenchmark: H0 (distances + spanning tree) and H0+H1 (with critical edges) of single clouds on one
// thread, and H0+H1 of the same cloud on two threads (its reduction columns listed and reduced in parallel), medians
// after warm-up, for the clouds of issue 15: uniform in [0,1]^3 and [0,1]^16, Gaussian 16-D and 64-D, a torus, a noisy
// circle and Fashion-MNIST images (784-D, the first n test images scaled to [0, 1], when the dataset is installed),
// n = 128..2048; then the throughput of a batch of clouds on one and two threads. --cloud and --n pick rows;
// --clouds DIR writes every cloud as .npy and .csv (float32 values printed to 9 digits, which read back exactly) and
// --json FILE the figures, so that bench/compare_persistence.py can time native ripser and giotto-ph on the same
// clouds in the same run and print the ratios. --gpu-batch times only a batch of 64 Gaussian clouds (d = 16,
// n = 512) on CUDA against the same batch on one CPU core (scripts/gpu_check.sh), with the largest birth/death
// difference between the two.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "apps/cli/cli.h"
#include "bench/timing.h"
#include "nn/data/idx.h"
#include "nn/data/point_cloud_io.h"
#include "nn/data/synthetic.h"
#include "topology/persistence.h"

namespace {

struct CloudSpec {
  std::string kind;  // uniform | gaussian | circle | torus | fashion
  int64_t dim;
  std::string name() const { return kind + "_d" + std::to_string(dim); }
};

const char* const kDefaultFashion = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";

// The cloud of a spec: synthetic ones from a Philox seed, Fashion-MNIST's first n test images from `fashion`.
tl::Tensor make_cloud(const CloudSpec& spec, int64_t n, uint64_t seed, const tl::data::IdxArray* fashion = nullptr) {
  tl::Generator generator(seed);
  if (spec.kind == "uniform") return tl::data::uniform_cube(n, spec.dim, generator);
  if (spec.kind == "gaussian") return tl::data::gaussian_cloud(n, spec.dim, generator);
  if (spec.kind == "circle") return tl::data::noisy_circle(n, 1.0f, 0.1f, generator);
  if (spec.kind == "fashion") return tl::data::idx_images_as_points(*fashion, n);
  return tl::data::torus(n, 2.0f, 0.7f, 0.02f, generator);
}

// The cloud as CSV, one point a line, each float32 printed to 9 significant digits (which reads back exactly), for
// tools that read text (native ripser).
void write_csv(const std::string& path, const tl::Tensor& points) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  TL_CHECK_AS(ValueError, f != nullptr, "--clouds: cannot write '", path, "'");
  const float* x = points.data<float>();
  const int64_t n = points.dim(0), dim = points.dim(1);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < dim; ++k) std::fprintf(f, k + 1 < dim ? "%.9g," : "%.9g\n", x[i * dim + k]);
  std::fclose(f);
}

size_t h1_pairs(const tl::topology::PersistenceResult& r) {
  return r.diagrams[1].pairs.size();
}

// The largest |birth| or |death| difference between matching pairs of two results of the same clouds; infinity
// when any diagram's pair count differs.
double largest_difference(const std::vector<tl::topology::PersistenceResult>& a,
                          const std::vector<tl::topology::PersistenceResult>& b) {
  double largest = 0.0;
  for (size_t c = 0; c < a.size(); ++c) {
    for (size_t k = 0; k < a[c].diagrams.size(); ++k) {
      const auto& pa = a[c].diagrams[k].pairs;
      const auto& pb = b[c].diagrams[k].pairs;
      if (pa.size() != pb.size()) return INFINITY;
      for (size_t i = 0; i < pa.size(); ++i)
        largest = std::max(
            {largest, std::fabs(double(pa[i].birth) - pb[i].birth), std::fabs(double(pa[i].death) - pb[i].death)});
    }
  }
  return largest;
}

// The GPU check's figure: H0 and H0+H1 of 64 clouds on CUDA against one CPU core, medians after warm-up.
void gpu_batch_comparison(std::FILE* json) {
  std::vector<tl::Tensor> cpu_batch, gpu_batch;
  for (uint64_t c = 0; c < 64; ++c) {
    cpu_batch.push_back(make_cloud({"gaussian", 16}, 512, 77 + c));
    gpu_batch.push_back(cpu_batch.back().to(tl::Device::CUDA));
  }
  omp_set_num_threads(1);
  std::printf("batch of 64 clouds (gaussian, d = 16, n = 512): CUDA against one CPU core\n");
  std::printf("%-6s %12s %12s %8s %14s\n", "dims", "CPU ms", "CUDA ms", "speedup", "max |diff|");
  for (int max_dim : {0, 1}) {
    tl::topology::PersistenceOptions options;
    options.max_dim = max_dim;
    std::vector<tl::topology::PersistenceResult> on_cpu, on_gpu;
    const double cpu =
        tl::bench::median_seconds([&] { on_cpu = tl::topology::persistence_batch(cpu_batch, options); }, 1, 3, 0.5);
    const double gpu =
        tl::bench::median_seconds([&] { on_gpu = tl::topology::persistence_batch(gpu_batch, options); }, 3, 7, 0.5);
    const double difference = largest_difference(on_cpu, on_gpu);
    const char* name = max_dim == 0 ? "H0" : "H0+H1";
    std::printf("%-6s %12.2f %12.2f %7.1fx %14.3g\n", name, cpu * 1e3, gpu * 1e3, cpu / gpu, difference);
    std::fflush(stdout);
    if (json)
      std::fprintf(json,
                   "{\"name\": \"gpu_batch64_gaussian_d16_n512_%s\", \"cpu_one_thread_s\": %.6g, \"cuda_s\": %.6g, "
                   "\"max_abs_difference\": %.6g}\n",
                   max_dim == 0 ? "h0" : "h01", cpu, gpu, difference);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "H0 and H0+H1 persistence medians of single clouds on one thread (H0+H1 on two too), and batch "
      "throughput on one and two.",
      "bench_persistence"};
  std::string cloud_dir, json_path, fashion_path = kDefaultFashion;
  int64_t max_n = 2048;
  std::vector<int64_t> sizes;
  std::vector<std::string> only;
  bool gpu_batch = false, no_batch = false, one_thread = false;
  app.add_option("--clouds", cloud_dir, "write every cloud there as .npy and .csv")->type_name("DIR");
  app.add_option("--json", json_path, "write the figures as JSON lines")->type_name("FILE");
  app.add_option("--max-n", max_n, "largest cloud size (of 128, 256, ..., 2048)")->capture_default_str();
  app.add_option("--n", sizes, "only these cloud sizes (repeatable)")->type_name("N");
  app.add_option("--cloud", only,
                 "only these clouds (repeatable): uniform_d3, uniform_d16, gaussian_d16, gaussian_d64, torus_d3, "
                 "circle_d2, fashion_d784")
      ->type_name("NAME");
  app.add_option("--fashion", fashion_path, "Fashion-MNIST images (IDX); the cloud is skipped when absent")
      ->capture_default_str();
  app.add_flag("--no-batch", no_batch, "skip the batch throughput");
  app.add_flag("--one-thread", one_thread, "skip the two-thread timing of single clouds");
  app.add_flag("--gpu-batch", gpu_batch, "only 64 clouds (Gaussian, d = 16, n = 512) on CUDA against one CPU core");

  const auto body = [&] {
    std::FILE* json = json_path.empty() ? nullptr : std::fopen(json_path.c_str(), "w");
    TL_CHECK_AS(ValueError, json_path.empty() || json != nullptr, "--json: cannot write '", json_path, "'");
    if (gpu_batch) {
      gpu_batch_comparison(json);
      if (json) std::fclose(json);
      return tl::cli::kExitOk;
    }
    std::vector<CloudSpec> specs{{"uniform", 3}, {"uniform", 16}, {"gaussian", 16}, {"gaussian", 64},
                                 {"torus", 3},   {"circle", 2},   {"fashion", 784}};
    if (!only.empty()) {
      std::vector<CloudSpec> picked;
      for (const std::string& name : only) {
        const auto found =
            std::find_if(specs.begin(), specs.end(), [&](const CloudSpec& c) { return c.name() == name; });
        TL_CHECK_AS(ValueError, found != specs.end(), "--cloud: unknown cloud '", name, "'");
        picked.push_back(*found);
      }
      specs = picked;
    }
    tl::data::IdxArray fashion;
    const bool has_fashion = std::ifstream(fashion_path).good();
    if (has_fashion) {
      fashion = tl::data::read_idx(fashion_path);
    } else {
      std::printf("(Fashion-MNIST not found at %s: its cloud is skipped)\n", fashion_path.c_str());
    }
    if (sizes.empty()) sizes = {128, 256, 512, 1024, 2048};
    std::printf(
        "Persistence medians in ms (H0: distances + spanning tree, one thread; H0+H1: with critical edges, "
        "on one thread and on two)\n");
    std::printf("%-10s %5s %5s %10s %10s %10s %8s %9s\n", "cloud", "dim", "n", "H0", "H0+H1", "2 threads", "speedup",
                "H1 pairs");
    tl::topology::PersistenceOptions h0_only;
    h0_only.max_dim = 0;
    for (int64_t n : sizes) {
      if (n > max_n) continue;
      for (const CloudSpec& spec : specs) {
        if (spec.kind == "fashion" && !has_fashion) continue;
        const tl::Tensor points = make_cloud(spec, n, 1000 + static_cast<uint64_t>(n), &fashion);
        const std::string name = spec.name() + "_n" + std::to_string(n);
        if (!cloud_dir.empty()) {
          tl::data::write_npy_points(cloud_dir + "/" + name + ".npy", points);
          write_csv(cloud_dir + "/" + name + ".csv", points);
        }
        omp_set_num_threads(1);
        const double h0 = tl::bench::median_seconds([&] { tl::topology::persistence(points, h0_only); });
        size_t pairs = 0;
        const bool slow = n >= 1024;
        const auto h01_on = [&](int threads) {
          omp_set_num_threads(threads);
          return tl::bench::median_seconds([&] { pairs = h1_pairs(tl::topology::persistence(points)); }, slow ? 1 : 2,
                                           slow ? 3 : 5, 0.3);
        };
        const double h01 = h01_on(1);
        const double h01_two = one_thread ? NAN : h01_on(2);
        std::printf("%-10s %5lld %5lld %10.3f %10.2f %10.2f %7.2fx %9zu\n", spec.kind.c_str(),
                    static_cast<long long>(spec.dim), static_cast<long long>(n), h0 * 1e3, h01 * 1e3, h01_two * 1e3,
                    h01 / h01_two, pairs);
        std::fflush(stdout);
        if (json)
          std::fprintf(json,
                       "{\"name\": \"%s\", \"cloud\": \"%s\", \"dim\": %lld, \"n\": %lld, \"h0_s\": %.6g, "
                       "\"h01_s\": %.6g, \"h01_two_threads_s\": %.6g, \"h1_pairs\": %zu}\n",
                       name.c_str(), spec.kind.c_str(), static_cast<long long>(spec.dim), static_cast<long long>(n), h0,
                       h01, one_thread ? 0.0 : h01_two, pairs);
      }
    }
    omp_set_num_threads(1);

    // Batch throughput: 32 Gaussian clouds, n = 512, d = 16, on one and two threads.
    if (!no_batch) {
      std::vector<tl::Tensor> batch;
      for (uint64_t c = 0; c < 32; ++c) batch.push_back(make_cloud({"gaussian", 16}, 512, 77 + c));
      double seconds[2];
      for (int threads : {1, 2}) {
        omp_set_num_threads(threads);
        seconds[threads - 1] = tl::bench::median_seconds([&] { tl::topology::persistence_batch(batch); }, 1, 3, 0.5);
      }
      std::printf(
          "batch of 32 clouds (gaussian, d = 16, n = 512), H0+H1: %.1f clouds/s on 1 thread, %.1f on 2 (%.2fx)\n",
          32 / seconds[0], 32 / seconds[1], seconds[0] / seconds[1]);
      if (json)
        std::fprintf(json,
                     "{\"name\": \"batch32_gaussian_d16_n512\", \"one_thread_s\": %.6g, \"two_threads_s\": %.6g}\n",
                     seconds[0], seconds[1]);
    }
    if (json) std::fclose(json);
    return tl::cli::kExitOk;
  };
  return tl::cli::run_main(app, argc, argv, body);
}
