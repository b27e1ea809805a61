// Cost of the differentiable topology on one core: for a TALSR H0+H1 W_1 term between an input batch X [n, 16] and
// latent codes Z [n, m], the median times of Z's persistence alone (the forward reference), of the whole loss
// forward (both diagrams and matchings), and of its backward alone (a fresh forward before each timed backward).
// The target: backward <= 10% of the forward persistence at n = 128.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "apps/cli/cli.h"
#include "bench/timing.h"
#include "nn/data/synthetic.h"
#include "topology/persistence.h"
#include "topology/regularizers.h"

int main(int argc, char** argv) {
  CLI::App app{"Forward and backward cost of a TALSR H0+H1 W_1 term against the persistence of Z alone.",
               "bench_topology_loss"};
  const auto body = [] {
    omp_set_num_threads(1);
    std::printf("TALSR W1 (H0+H1), one thread, medians in ms\n");
    std::printf("%5s %4s %14s %14s %10s %16s\n", "n", "m", "PD(Z) forward", "loss forward", "backward",
                "backward / PD(Z)");
    for (int64_t n : {128, 256, 512}) {
      for (int64_t m : {2, 10}) {
        tl::Generator generator(100 + static_cast<uint64_t>(n) + static_cast<uint64_t>(m));
        const tl::Tensor batch = tl::data::gaussian_cloud(n, 16, generator);
        const tl::Tensor codes = tl::data::gaussian_cloud(n, m, generator);
        const tl::topology::TalsrOptions options;
        const double diagram_only = tl::bench::median_seconds([&] { tl::topology::persistence(codes); });
        const double forward = tl::bench::median_seconds([&] { tl::topology::talsr_loss(batch, codes, options); });
        std::vector<double> backward_times;
        for (int run = 0; run < 15; ++run) {
          tl::Tensor leaf = codes.clone().set_requires_grad(true);
          const tl::Tensor loss = tl::topology::talsr_loss(batch, leaf, options);
          const auto start = std::chrono::steady_clock::now();
          loss.backward();
          backward_times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        }
        std::nth_element(backward_times.begin(), backward_times.begin() + 7, backward_times.end());
        const double backward = backward_times[7];
        std::printf("%5lld %4lld %14.3f %14.3f %10.3f %15.1f%%\n", static_cast<long long>(n), static_cast<long long>(m),
                    diagram_only * 1e3, forward * 1e3, backward * 1e3, 100.0 * backward / diagram_only);
      }
    }
    return tl::cli::kExitOk;
  };
  return tl::cli::run_main(app, argc, argv, body);
}
