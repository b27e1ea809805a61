// Persistence microbenchmark: H0 (distances + spanning tree) and H0+H1 (with critical edges) on one core for
// uniform, Gaussian, noisy-circle and torus clouds of n = 128..2048 points, medians after warm-up; then the
// throughput of a batch of clouds on one and two threads. --clouds DIR writes every cloud as .npy and --json
// FILE the figures, so that bench/compare_persistence.py can time ripser and gudhi on the same clouds in the same
// run and print the ratios. --gpu-batch times only a batch of 64 Gaussian clouds (d = 16, n = 512) on CUDA against the
// same batch on one CPU core (scripts/gpu_check.sh), with the largest birth/death difference between the two.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/cli/cli.h"
#include "bench/timing.h"
#include "nn/data/point_cloud_io.h"
#include "nn/data/synthetic.h"
#include "topology/persistence.h"

namespace {

struct CloudSpec {
  std::string kind;  // uniform | gaussian | circle | torus
  int64_t dim;
};

tl::Tensor make_cloud(const CloudSpec& spec, int64_t n, uint64_t seed) {
  tl::Generator generator(seed);
  if (spec.kind == "uniform") return tl::data::uniform_cube(n, spec.dim, generator);
  if (spec.kind == "gaussian") return tl::data::gaussian_cloud(n, spec.dim, generator);
  if (spec.kind == "circle") return tl::data::noisy_circle(n, 1.0f, 0.1f, generator);
  return tl::data::torus(n, 2.0f, 0.7f, 0.02f, generator);
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
  CLI::App app{"H0 and H0+H1 persistence medians on one thread, and batch throughput on one and two.",
               "bench_persistence"};
  std::string cloud_dir, json_path;
  int64_t max_n = 2048;
  app.add_option("--clouds", cloud_dir, "write every cloud there as .npy")->type_name("DIR");
  app.add_option("--json", json_path, "write the figures as JSON lines")->type_name("FILE");
  app.add_option("--max-n", max_n, "largest cloud size (of 128, 256, ..., 2048)")->capture_default_str();
  bool gpu_batch = false;
  app.add_flag("--gpu-batch", gpu_batch, "only 64 clouds (Gaussian, d = 16, n = 512) on CUDA against one CPU core");

  const auto body = [&] {
    std::FILE* json = json_path.empty() ? nullptr : std::fopen(json_path.c_str(), "w");
    TL_CHECK_AS(ValueError, json_path.empty() || json != nullptr, "--json: cannot write '", json_path, "'");
    if (gpu_batch) {
      gpu_batch_comparison(json);
      if (json) std::fclose(json);
      return tl::cli::kExitOk;
    }
    const std::vector<CloudSpec> specs{{"uniform", 2},  {"uniform", 3},  {"uniform", 16},  {"uniform", 784},
                                       {"gaussian", 2}, {"gaussian", 3}, {"gaussian", 16}, {"gaussian", 784},
                                       {"circle", 2},   {"torus", 3}};
    omp_set_num_threads(1);
    std::printf("Persistence, one thread, medians in ms (H0: distances + spanning tree; H0+H1: with critical edges)\n");
    std::printf("%-10s %5s %5s %10s %10s %9s\n", "cloud", "dim", "n", "H0", "H0+H1", "H1 pairs");
    tl::topology::PersistenceOptions h0_only;
    h0_only.max_dim = 0;
    for (int64_t n : {128, 256, 512, 1024, 2048}) {
      if (n > max_n) break;
      for (const CloudSpec& spec : specs) {
        const tl::Tensor points = make_cloud(spec, n, 1000 + static_cast<uint64_t>(n));
        const std::string name = spec.kind + "_d" + std::to_string(spec.dim) + "_n" + std::to_string(n);
        if (!cloud_dir.empty()) tl::data::write_npy_points(cloud_dir + "/" + name + ".npy", points);
        const double h0 = tl::bench::median_seconds([&] { tl::topology::persistence(points, h0_only); });
        size_t pairs = 0;
        const bool slow = n >= 1024;
        const double h01 = tl::bench::median_seconds([&] { pairs = h1_pairs(tl::topology::persistence(points)); },
                                                     slow ? 1 : 2, slow ? 3 : 5, 0.3);
        std::printf("%-10s %5lld %5lld %10.3f %10.2f %9zu\n", spec.kind.c_str(), static_cast<long long>(spec.dim),
                    static_cast<long long>(n), h0 * 1e3, h01 * 1e3, pairs);
        std::fflush(stdout);
        if (json)
          std::fprintf(json,
                       "{\"name\": \"%s\", \"cloud\": \"%s\", \"dim\": %lld, \"n\": %lld, \"h0_s\": %.6g, "
                       "\"h01_s\": %.6g, \"h1_pairs\": %zu}\n",
                       name.c_str(), spec.kind.c_str(), static_cast<long long>(spec.dim), static_cast<long long>(n), h0,
                       h01, pairs);
      }
    }

    // Batch throughput: 32 Gaussian clouds, n = 512, d = 16, on one and two threads.
    std::vector<tl::Tensor> batch;
    for (uint64_t c = 0; c < 32; ++c) batch.push_back(make_cloud({"gaussian", 16}, 512, 77 + c));
    double seconds[2];
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      seconds[threads - 1] = tl::bench::median_seconds([&] { tl::topology::persistence_batch(batch); }, 1, 3, 0.5);
    }
    std::printf("batch of 32 clouds (gaussian, d = 16, n = 512), H0+H1: %.1f clouds/s on 1 thread, %.1f on 2 (%.2fx)\n",
                32 / seconds[0], 32 / seconds[1], seconds[0] / seconds[1]);
    if (json)
      std::fprintf(json, "{\"name\": \"batch32_gaussian_d16_n512\", \"one_thread_s\": %.6g, \"two_threads_s\": %.6g}\n",
                   seconds[0], seconds[1]);
    if (json) std::fclose(json);
    return tl::cli::kExitOk;
  };
  return tl::cli::run_main(app, argc, argv, body);
}
