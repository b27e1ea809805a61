// The matrix product of 2-D tensors (backend GEMM) and its backward, two more GEMMs.
#include "core/ops_internal.h"

namespace tl {

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  check_float(a, "matmul");
  check_float(b, "matmul");
  check_same_device(a, b, "matmul");
  TL_CHECK_AS(ShapeError, a.rank() == 2 && b.rank() == 2, "matmul needs 2-D tensors, got ", shape_str(a.shape()),
              " and ", shape_str(b.shape()));
  const int64_t m = transpose_a ? a.dim(1) : a.dim(0);
  const int64_t k = transpose_a ? a.dim(0) : a.dim(1);
  const int64_t kb = transpose_b ? b.dim(1) : b.dim(0);
  const int64_t n = transpose_b ? b.dim(0) : b.dim(1);
  TL_CHECK_AS(ShapeError, k == kb, "matmul: inner dimensions differ: ", shape_str(a.shape()), transpose_a ? "^T" : "",
              " x ", shape_str(b.shape()), transpose_b ? "^T" : "", " (", k, " vs ", kb, ")");
  Tensor out = Tensor::empty({m, n}, a.device());
  detail::backend(a).gemm(transpose_a, transpose_b, m, n, k, 1.0f, a.data<float>(), b.data<float>(), 0.0f,
                          out.data<float>());
  return record(out, "matmul", {a, b}, [a, b, transpose_a, transpose_b, m, n, k](const Tensor& g) {
    const kernels::Backend& be = detail::backend(a);
    Tensor ga, gb;
    if (a.requires_grad()) {
      ga = Tensor::empty(a.shape(), a.device());
      if (!transpose_a) {  // dA = dC op(B)^T
        be.gemm(false, !transpose_b, m, k, n, 1.0f, g.data<float>(), b.data<float>(), 0.0f, ga.data<float>());
      } else {  // A stored [k, m]: dA = op(B) dC^T
        be.gemm(transpose_b, true, k, m, n, 1.0f, b.data<float>(), g.data<float>(), 0.0f, ga.data<float>());
      }
    }
    if (b.requires_grad()) {
      gb = Tensor::empty(b.shape(), b.device());
      if (!transpose_b) {  // dB = op(A)^T dC
        be.gemm(!transpose_a, false, k, n, m, 1.0f, a.data<float>(), g.data<float>(), 0.0f, gb.data<float>());
      } else {  // B stored [n, k]: dB = dC^T op(A)
        be.gemm(true, transpose_a, n, k, m, 1.0f, g.data<float>(), a.data<float>(), 0.0f, gb.data<float>());
      }
    }
    return std::vector<Tensor>{ga, gb};
  });
}

}  // namespace tl
