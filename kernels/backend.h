// The compute interface the tensor ops dispatch to: one table of raw-pointer kernels per device.
// kernels/cpu/ fills the CPU table (the reference), kernels/cuda/ the CUDA one, which lives in the CUDA module and is
// reached through kernels/cuda_module.h; in a CPU-only build asking for it is a DeviceError.
// All buffers are contiguous, row-major, on the table's device.
//
// How to add an op (the model is ggml's test-backend-ops: one table of cases drives every check)
//
// A. An elementwise op (a unary function, or a binary one / a loss's per-element term):
//    1. kernels/elementwise_impl.h: a UnaryOp / BinaryOp value, its forward and derivative(s) in the switches, and
//       its line in with_unary_op / with_binary_op. This is the math for both backends; no kernel changes.
//    2. core/ops.h + core/ops_elementwise.cpp: the public function (unary_op / binary_op / loss_op with the enum).
//    3. tests/op_cases.cpp: a case named after the function ("name" or "name_variant"). The finite-difference
//       check and the CPU-vs-CUDA parity test both run it; the coverage test fails while core/ops.h declares an op
//       without a case.
//    4. tests/test_ops_golden.cpp: hand-derived values where the formula has a convention (kinks, limits).
//
// B. An op with a kernel of its own:
//    1. Here: its signature in `signature::` below and its name in TL_BACKEND_KERNELS. The Backend field and both
//       backends' declarations come from these two lines.
//    2. Math shared by the backends in a host-device header kernels/<topic>_impl.h (TL_HD functions).
//    3. kernels/cpu/<topic>.cpp: the CPU loop (the reference); kernels/cuda/<topic>.cu: the kernel and its host
//       entry point. A missing one fails to link, a wrong signature fails to compile.
//    4. core/ops.h + core/ops_<family>.cpp: argument checks naming shapes/devices, the forward call through
//       detail::backend(x), the backward recorded with record(...).
//    5. tests/op_cases.cpp as in A.3; a kernel-level test (tests/test_<topic>.cpp) for edge cases the op hides.
//    Persistence kernels follow the same steps in kernels/topology_backend.h (TL_TOPOLOGY_KERNELS).
#pragma once

#include <cstdint>

#include "core/base/types.h"
#include "kernels/conv_impl.h"
#include "kernels/elementwise_impl.h"
#include "kernels/optimizer_impl.h"
#include "kernels/softmax_impl.h"

namespace tl::kernels {

// A tensor viewed as [outer, axis, inner] around one axis; copy_block moves `count` slices along the axis.
struct AxisBlock {
  int64_t outer = 1;
  int64_t inner = 1;
  int64_t count = 0;
  int64_t src_axis = 0, src_start = 0;
  int64_t dst_axis = 0, dst_start = 0;
};

// index_select along an axis: x is [outer, src_axis, inner], y is [outer, count, inner].
struct IndexGeometry {
  int64_t outer = 1;
  int64_t src_axis = 0;
  int64_t count = 0;
  int64_t inner = 1;
};

// Calls body with the index buffer typed as const int32_t* or const int64_t*, as index_dtype says (host code).
template <class Body>
void with_index_type(DType index_dtype, const void* index, Body&& body) {
  if (index_dtype == DType::Int32) {
    body(static_cast<const int32_t*>(index));
  } else {
    body(static_cast<const int64_t*>(index));
  }
}

// Every kernel's signature, written once. The Backend table holds a pointer of each type and every backend declares
// its functions with them (kernels/cpu/cpu_kernels.h, kernels/cuda/cuda_kernels.h), so a mismatch is a compile error.
namespace signature {
using fill = void(float* y, int64_t n, float value);
using unary = void(const UnaryParams& p, const float* x, float* y, int64_t n);
// gx = gy * f'(x) given y = f(x).
using unary_backward = void(const UnaryParams& p, const float* x, const float* y, const float* gy, float* gx,
                            int64_t n);
using binary = void(BinaryOp op, const float* a, const float* b, float* out, const BroadcastIndexer& ix);
// ga, gb (either may be null) are output-shaped: ga = gout * df/da, gb = gout * df/db.
using binary_backward = void(BinaryOp op, const float* a, const float* b, const float* gout, float* ga, float* gb,
                             const BroadcastIndexer& ix);
// y[i] = x[offset_b(i)]: materialises a broadcast of x (the indexer's b operand) to the output shape.
using expand = void(const float* x, float* y, const BroadcastIndexer& ix);
// y[o, i] = sum_k x[o, k, i] over x viewed as [outer, len, inner], summed in increasing k.
using sum_axis = void(const float* x, float* y, int64_t outer, int64_t len, int64_t inner);
using sum_all = void(const float* x, float* y, int64_t n);                            // y: one element on the device
using log_softmax_rows = void(const float* x, float* y, int64_t rows, int64_t cols);  // kernels/softmax_impl.h
using sum_squares = double(const float* x, int64_t n);  // accumulated in double, returned to the host
// Row-major C[M,N] = alpha op(A) op(B) + beta C, op(A) = A^T when trans_a (A stored K x M), likewise B.
using gemm = void(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                  const float* b, float beta, float* c);
using transpose = void(const float* x, float* y, int64_t rows, int64_t cols);  // y[c, r] = x[r, c]
using copy_block = void(const float* src, float* dst, const AxisBlock& block);
using index_select = void(const float* x, const void* index, DType index_dtype, float* y, const IndexGeometry& g);
// gx[o, index[k], i] += gy[o, k, i], in increasing k for each target row (deterministic).
using index_add = void(const float* gy, const void* index, DType index_dtype, float* gx, const IndexGeometry& g);
using index_range = void(const void* index, DType index_dtype, int64_t n, int64_t* min_out, int64_t* max_out);
using random_uniform = void(float* y, int64_t n, uint64_t seed, uint64_t offset, float low, float high);
using random_normal = void(float* y, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev);
// Convolution (kernels/conv_impl.h ConvShape) and its two adjoints; outputs are overwritten. CPU: im2col +
// GEMM; CUDA: cuDNN with deterministic algorithms.
using conv_forward = void(const ConvShape& s, const float* x, const float* w, float* y);
using conv_backward_data = void(const ConvShape& s, const float* w, const float* dy, float* dx);
using conv_backward_filter = void(const ConvShape& s, const float* x, const float* dy, float* dw);
// One optimiser step over n parameters in place (kernels/optimizer_impl.h); m, v may be null when unused.
using optimizer_update = void(const OptimizerUpdate& u, float* param, const float* grad, float* m, float* v, int64_t n);
}  // namespace signature

// The kernels of a backend by name, once: X(name) is applied to each. It declares the table's fields and each
// backend's functions, fills each table by name, and lets tests walk every entry.
#define TL_BACKEND_KERNELS(X)                                                                                         \
  X(fill)                                                                                                             \
  X(unary) X(unary_backward) X(binary) X(binary_backward) X(expand) X(sum_axis) X(sum_all) X(log_softmax_rows)        \
      X(sum_squares) X(gemm) X(transpose) X(copy_block) X(index_select) X(index_add) X(index_range) X(random_uniform) \
          X(random_normal) X(conv_forward) X(conv_backward_data) X(conv_backward_filter) X(optimizer_update)

struct Backend {
#define TL_BACKEND_FIELD(name) signature::name* name = nullptr;
  TL_BACKEND_KERNELS(TL_BACKEND_FIELD)
#undef TL_BACKEND_FIELD
};

// A kernel table built once by `fill`, which assigns the entries by name: each backend's table function returns
// kernel_table<Backend>([](Backend& t) { TL_BACKEND_KERNELS(BIND) }), BIND(name) being t.name = ns::name;.
template <class Table, class Fill>
const Table& kernel_table(Fill fill) {
  static const Table table = [&] {
    Table t;
    fill(t);
    return t;
  }();
  return table;
}

const Backend& cpu_backend();
const Backend& cuda_backend();

inline const Backend& backend_for(Device device) {
  return device == Device::CPU ? cpu_backend() : cuda_backend();
}

// Builds the indexer for out = f(a, b) under numpy broadcasting (out must be broadcast_shapes(a, b)).
BroadcastIndexer make_broadcast_indexer(const Shape& out, const Shape& a, const Shape& b);

}  // namespace tl::kernels
