// Persistence microbenchmark: H0 (distances + spanning tree) and H0+H1 (with critical edges) on one core for
// uniform, Gaussian, noisy-circle and torus clouds of n = 128..2048 points, medians after warm-up; then the
// throughput of a batch of clouds on one and two threads. --clouds DIR writes every cloud as .npy and --json
// FILE the figures, so that bench/compare_persistence.py can time ripser and gudhi on the same clouds in the same
// run and print the ratios.
#include <omp.h>

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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"H0 and H0+H1 persistence medians on one thread, and batch throughput on one and two.",
               "bench_persistence"};
  std::string cloud_dir, json_path;
  int64_t max_n = 2048;
  app.add_option("--clouds", cloud_dir, "write every cloud there as .npy")->type_name("DIR");
  app.add_option("--json", json_path, "write the figures as JSON lines")->type_name("FILE");
  app.add_option("--max-n", max_n, "largest cloud size (of 128, 256, ..., 2048)")->capture_default_str();

  const auto body = [&] {
    std::FILE* json = json_path.empty() ? nullptr : std::fopen(json_path.c_str(), "w");
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
