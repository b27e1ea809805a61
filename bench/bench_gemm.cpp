// GEMM microbenchmark: GFLOP/s of topolatent's CPU GEMM on the shapes our models use, with one and two
// threads, beside OpenBLAS timed in the same run when the build found it (a comparison only, never a
// dependency), and beside cuBLAS when a GPU is usable. Prints a table; --csv FILE also writes it as CSV.
#include <omp.h>

#include <cstdio>
#include <string>
#include <vector>

#include "apps/cli/cli.h"
#include "bench/timing.h"
#include "core/base/memory.h"
#include "core/tensor.h"
#include "kernels/backend.h"

#ifdef TL_BENCH_OPENBLAS
#include <cblas.h>
#endif

namespace {

struct GemmShape {
  const char* role;  // where the model meets this shape
  int64_t m, n, k;
  bool trans_a, trans_b;
};

// Layer shapes of the reference MLP VAE (784-400-20) at batch 128, and the cubic reference 512^3.
const GemmShape kShapes[] = {
    {"encoder fwd  x[128,784] W1[400,784]^T", 128, 400, 784, false, true},
    {"decoder fwd  h[128,400] W4[784,400]^T", 128, 784, 400, false, true},
    {"weight grad  dY[128,784]^T h[128,400]", 784, 400, 128, true, false},
    {"latent fwd   h[128,400] W[20,400]^T", 128, 20, 400, false, true},
    {"square       512 x 512 x 512", 512, 512, 512, false, false},
};

double gflops(const GemmShape& s, double seconds) {
  return 2.0 * s.m * s.n * s.k / seconds * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"GFLOP/s of our CPU GEMM beside OpenBLAS and cuBLAS on the models' shapes.", "bench_gemm"};
  std::string csv_path;
  app.add_option("--csv", csv_path, "also write the table as CSV")->type_name("FILE");

  const auto body = [&] {
    const bool have_gpu = tl::cuda_runtime::device_count() > 0;
#ifdef TL_BENCH_OPENBLAS
    const bool have_openblas = true;
#else
    const bool have_openblas = false;
#endif
    std::printf("GEMM GFLOP/s (median of repeated runs after warm-up); OpenBLAS %s; GPU %s\n",
                have_openblas ? "timed in this run" : "not found at build time", have_gpu ? "present" : "absent");
    std::printf("%-40s %7s %9s %9s %7s %9s\n", "shape", "threads", "ours", "openblas", "ratio", "cublas");
    std::FILE* csv = csv_path.empty() ? nullptr : std::fopen(csv_path.c_str(), "w");
    if (csv) std::fprintf(csv, "role,m,n,k,threads,ours_gflops,openblas_gflops,ours_over_openblas,cublas_gflops\n");

    tl::Generator generator(1);
    for (const GemmShape& s : kShapes) {
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
      for (int threads : {1, 2}) {
        omp_set_num_threads(threads);
        const double ours =
            gflops(s, tl::bench::median_seconds([&] {
                     tl::kernels::cpu_backend().gemm(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0f, a.data<float>(),
                                                     b.data<float>(), 0.0f, c.data<float>());
                   }));
        double reference = 0.0;
#ifdef TL_BENCH_OPENBLAS
        openblas_set_num_threads(threads);
        reference = gflops(
            s, tl::bench::median_seconds([&] {
              cblas_sgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans, s.trans_b ? CblasTrans : CblasNoTrans,
                          static_cast<int>(s.m), static_cast<int>(s.n), static_cast<int>(s.k), 1.0f, a.data<float>(),
                          static_cast<int>(s.trans_a ? s.m : s.k), b.data<float>(),
                          static_cast<int>(s.trans_b ? s.k : s.n), 0.0f, c.data<float>(), static_cast<int>(s.n));
            }));
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
