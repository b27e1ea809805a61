// GEMM microbenchmark: GFLOP/s of topolatent's CPU GEMM on the shapes our models use (the MLP VAE's layers
// forward and backward, the thin latent layers among them, and 512^3), with one and two threads, beside OpenBLAS
// timed in the same run, in alternating rounds, when the build found it (a comparison only, never a dependency),
// and beside cuBLAS when a GPU is usable. Names the CPU micro-kernel chosen at run time. Prints a table;
// --csv FILE also writes it as CSV; --filter and --threads narrow the run.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "apps/cli/cli.h"
#include "bench/timing.h"
#include "core/base/memory.h"
#include "core/tensor.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_kernels.h"

#ifdef TL_BENCH_OPENBLAS
#include <cblas.h>
#endif

namespace {

struct GemmShape {
  const char* role;  // where the model meets this shape
  int64_t m, n, k;
  bool trans_a, trans_b;
};

// Layer shapes of the reference MLP VAE (784-400-20) at batch 128, and the cubic reference 512^3. A linear
// layer y = x W^T runs forward as (N, T); its backward as dX = dY W (N, N) and dW = dY^T x (T, N).
const GemmShape kShapes[] = {
    {"encoder fwd  x[128,784] W1[400,784]^T", 128, 400, 784, false, true},
    {"decoder fwd  h[128,400] W4[784,400]^T", 128, 784, 400, false, true},
    {"weight grad  dY[128,784]^T h[128,400]", 784, 400, 128, true, false},
    {"decoder dX   dY[128,784] W4[784,400]", 128, 400, 784, false, false},
    {"square       512 x 512 x 512", 512, 512, 512, false, false},
    // The thin latent layers: 400 -> 20 (mean / log-variance) and 20 -> 400 (decoder input).
    {"latent fwd   h[128,400] W[20,400]^T", 128, 20, 400, false, true},
    {"latent dX    dY[128,20] W[20,400]", 128, 400, 20, false, false},
    {"latent dW    dY[128,20]^T h[128,400]", 20, 400, 128, true, false},
    {"dec-in fwd   z[128,20] W3[400,20]^T", 128, 400, 20, false, true},
    {"dec-in dX    dY[128,400] W3[400,20]", 128, 20, 400, false, false},
    {"dec-in dW    dY[128,400]^T z[128,20]", 400, 20, 128, true, false},
};

double gflops(const GemmShape& s, double seconds) {
  return 2.0 * s.m * s.n * s.k / seconds * 1e-9;
}

// Median seconds per call of two bodies timed in alternating rounds (about 40 ms of calls each per round), so
// that load from other processes on this shared 2-core machine falls on both alike.
template <class First, class Second>
std::pair<double, double> alternating_medians(First&& first, Second&& second, int rounds) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> times[2];
  const auto timed_round = [](auto& body, std::vector<double>& out) {
    const auto start = Clock::now();
    for (int calls = 0; calls < 3 || std::chrono::duration<double>(Clock::now() - start).count() < 0.04; ++calls) {
      const auto t0 = Clock::now();
      body();
      out.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
  };
  for (int i = 0; i < 3; ++i) first(), second();
  for (int round = 0; round < rounds; ++round) {
    timed_round(first, times[0]);
    timed_round(second, times[1]);
  }
  double medians[2];
  for (int i = 0; i < 2; ++i) {
    std::nth_element(times[i].begin(), times[i].begin() + times[i].size() / 2, times[i].end());
    medians[i] = times[i][times[i].size() / 2];
  }
  return {medians[0], medians[1]};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"GFLOP/s of our CPU GEMM beside OpenBLAS and cuBLAS on the models' shapes.", "bench_gemm"};
  std::string csv_path, filter;
  std::vector<int> thread_counts{1, 2};
  int rounds = 8;
  app.add_option("--csv", csv_path, "also write the table as CSV")->type_name("FILE");
  app.add_option("--filter", filter, "only the shapes whose name contains this text")->type_name("TEXT");
  app.add_option("--threads", thread_counts, "thread counts to time (default 1 2)")->type_name("N");
  app.add_option("--rounds", rounds, "alternating rounds of ours and OpenBLAS (default 8)")->check(CLI::PositiveNumber);

  const auto body = [&] {
    const bool have_gpu = tl::cuda_runtime::device_count() > 0;
#ifdef TL_BENCH_OPENBLAS
    const bool have_openblas = true;
#else
    const bool have_openblas = false;
#endif
    std::printf(
        "GEMM GFLOP/s (median of repeated runs after warm-up, ours and OpenBLAS alternating); OpenBLAS %s; GPU %s\n",
        have_openblas ? "timed in this run" : "not found at build time", have_gpu ? "present" : "absent");
    std::printf("CPU micro-kernel: %s (TOPOLATENT_GEMM_KERNEL=avx2|portable asks for a lesser one)\n",
                tl::kernels::cpu::gemm_kernel_name());
    std::printf("%-40s %7s %9s %9s %7s %9s\n", "shape", "threads", "ours", "openblas", "ratio", "cublas");
    std::FILE* csv = csv_path.empty() ? nullptr : std::fopen(csv_path.c_str(), "w");
    if (csv) std::fprintf(csv, "role,m,n,k,threads,ours_gflops,openblas_gflops,ours_over_openblas,cublas_gflops\n");

    tl::Generator generator(1);
    for (const GemmShape& s : kShapes) {
      if (!filter.empty() && std::string(s.role).find(filter) == std::string::npos) continue;
      const tl::Tensor a = tl::Tensor::uniform({s.m * s.k}, generator, -1.0f, 1.0f);
      const tl::Tensor b = tl::Tensor::uniform({s.k * s.n}, generator, -1.0f, 1.0f);
      tl::Tensor c = tl::Tensor::zeros({s.m * s.n});
      double cublas = 0.0;
      if (have_gpu) {
        const tl::Tensor ag = a.to(tl::Device::CUDA), bg = b.to(tl::Device::CUDA);
        tl::Tensor cg = c.to(tl::Device::CUDA);
        cublas = gflops(s, tl::bench::median_seconds([&] {
                          tl::kernels::cuda_backend().gemm(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0f, ag.data<float>(),
                                                           bg.data<float>(), 0.0f, cg.data<float>());
                          tl::cuda_runtime::synchronize();
                        }));
      }
      for (int threads : thread_counts) {
        omp_set_num_threads(threads);
        const auto ours_body = [&] {
          tl::kernels::cpu_backend().gemm(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0f, a.data<float>(), b.data<float>(),
                                          0.0f, c.data<float>());
        };
#ifdef TL_BENCH_OPENBLAS
        openblas_set_num_threads(threads);
        const auto reference_body = [&] {
          cblas_sgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans, s.trans_b ? CblasTrans : CblasNoTrans,
                      static_cast<int>(s.m), static_cast<int>(s.n), static_cast<int>(s.k), 1.0f, a.data<float>(),
                      static_cast<int>(s.trans_a ? s.m : s.k), b.data<float>(), static_cast<int>(s.trans_b ? s.k : s.n),
                      0.0f, c.data<float>(), static_cast<int>(s.n));
        };
        const auto [ours_s, reference_s] = alternating_medians(ours_body, reference_body, rounds);
        const double ours = gflops(s, ours_s), reference = gflops(s, reference_s);
#else
        const double ours = gflops(s, tl::bench::median_seconds(ours_body)), reference = 0.0;
#endif
        char cublas_text[32] = "n/a";
        if (have_gpu) std::snprintf(cublas_text, sizeof(cublas_text), "%.1f", cublas);
        std::printf("%-40s %7d %9.1f %9.1f %7.2f %9s\n", s.role, threads, ours, reference,
                    reference > 0 ? ours / reference : 0.0, cublas_text);
        if (csv)
          std::fprintf(csv, "\"%s\",%lld,%lld,%lld,%d,%.2f,%.2f,%.3f,%s\n", s.role, static_cast<long long>(s.m),
                       static_cast<long long>(s.n), static_cast<long long>(s.k), threads, ours, reference,
                       reference > 0 ? ours / reference : 0.0, have_gpu ? cublas_text : "");
      }
    }
    if (csv) std::fclose(csv);
    return tl::cli::kExitOk;
  };
  return tl::cli::run_main(app, argc, argv, body);
}
