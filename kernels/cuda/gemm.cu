// GEMM on the GPU through cuBLAS. cuBLAS is column-major; a row-major C = op(A) op(B) is the column-major
// C^T = op(B)^T op(A)^T, so the operands are passed swapped. The handle is created once per process. When k == 0
// or alpha == 0 the product vanishes and C = beta C is computed here, exactly as the CPU GEMM does it (cuBLAS
// refuses the leading dimension 0 that k == 0 gives for some transpose modes).
#include <climits>

#include "core/base/cuda_check.h"
#include "kernels/cuda/cuda_kernels.h"

namespace tl::kernels::cuda {
namespace {

class CublasHandle {
 public:
  CublasHandle() {
    TL_CUBLAS_CHECK(cublasCreate(&handle_));
    // Full float32 arithmetic (no TF32): the CPU reference is float32.
    TL_CUBLAS_CHECK(cublasSetMathMode(handle_, CUBLAS_DEFAULT_MATH));
  }
  ~CublasHandle() { cublasDestroy(handle_); }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  cublasHandle_t get() const { return handle_; }

 private:
  cublasHandle_t handle_ = nullptr;
};

cublasHandle_t cublas() {
  static CublasHandle handle;
  return handle.get();
}

// C = beta C over count elements with the CPU's conventions: beta == 1 leaves C alone, beta == 0 writes zeros
// (not 0 * C: C may hold NaN or garbage on entry), anything else multiplies each element once.
void scale_output(float* c, int64_t count, float beta) {
  if (beta == 1.0f) return;
  if (beta == 0.0f) {
    fill(c, count, 0.0f);
    return;
  }
  unary(UnaryParams{UnaryOp::Scale, beta}, c, c, count);
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b,
          float beta, float* c) {
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == 0.0f) {
    scale_output(c, m * n, beta);
    return;
  }
  TL_CHECK_AS(LimitError, m <= INT_MAX && n <= INT_MAX && k <= INT_MAX, "gemm on CUDA: cuBLAS takes dimensions up to ",
              INT_MAX, ", got m = ", m, ", n = ", n, ", k = ", k);
  // Row lengths of A and B as stored (never 0 here: k, m, n >= 1).
  const int lda = static_cast<int>(trans_a ? m : k);
  const int ldb = static_cast<int>(trans_b ? k : n);
  TL_CUBLAS_CHECK(cublasSgemm(cublas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                              static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, b, ldb, a, lda,
                              &beta, c, static_cast<int>(n)));
}

}  // namespace tl::kernels::cuda
