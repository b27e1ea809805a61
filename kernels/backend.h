// The compute interface the tensor ops dispatch to: one table of raw-pointer kernels per device.
// kernels/cpu/ fills the CPU table (the reference), kernels/cuda/ the CUDA one; a CPU-only build gets a
// CUDA table whose entries are never reached, because CUDA tensors cannot be created there.
// All buffers are contiguous, row-major, on the table's device.
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

struct Backend {
  void (*fill)(float* y, int64_t n, float value);
  void (*unary)(const UnaryParams& p, const float* x, float* y, int64_t n);
  // gx = gy * f'(x) given y = f(x).
  void (*unary_backward)(const UnaryParams& p, const float* x, const float* y, const float* gy, float* gx, int64_t n);
  void (*binary)(BinaryOp op, const float* a, const float* b, float* out, const BroadcastIndexer& ix);
  // ga, gb (either may be null) are output-shaped: ga = gout * df/da, gb = gout * df/db.
  void (*binary_backward)(BinaryOp op, const float* a, const float* b, const float* gout, float* ga, float* gb,
                          const BroadcastIndexer& ix);
  // y[i] = x[offset_b(i)]: materialises a broadcast of x (the indexer's b operand) to the output shape.
  void (*expand)(const float* x, float* y, const BroadcastIndexer& ix);
  // y[o, i] = sum_k x[o, k, i] over x viewed as [outer, len, inner], summed in increasing k.
  void (*sum_axis)(const float* x, float* y, int64_t outer, int64_t len, int64_t inner);
  void (*sum_all)(const float* x, float* y, int64_t n);                            // y: one element on the device
  void (*log_softmax_rows)(const float* x, float* y, int64_t rows, int64_t cols);  // kernels/softmax_impl.h
  double (*sum_squares)(const float* x, int64_t n);  // accumulated in double, returned to the host
  // Row-major C[M,N] = alpha op(A) op(B) + beta C, op(A) = A^T when trans_a (A stored K x M), likewise B.
  void (*gemm)(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b,
               float beta, float* c);
  void (*transpose)(const float* x, float* y, int64_t rows, int64_t cols);  // y[c, r] = x[r, c]
  void (*copy_block)(const float* src, float* dst, const AxisBlock& block);
  void (*index_select)(const float* x, const void* index, DType index_dtype, float* y, const IndexGeometry& g);
  // gx[o, index[k], i] += gy[o, k, i], in increasing k for each target row (deterministic).
  void (*index_add)(const float* gy, const void* index, DType index_dtype, float* gx, const IndexGeometry& g);
  void (*index_range)(const void* index, DType index_dtype, int64_t n, int64_t* min_out, int64_t* max_out);
  void (*random_uniform)(float* y, int64_t n, uint64_t seed, uint64_t offset, float low, float high);
  void (*random_normal)(float* y, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev);
  // Convolution (kernels/conv_impl.h ConvShape) and its two adjoints; outputs are overwritten. CPU: im2col +
  // GEMM; CUDA: cuDNN with deterministic algorithms.
  void (*conv_forward)(const ConvShape& s, const float* x, const float* w, float* y);
  void (*conv_backward_data)(const ConvShape& s, const float* w, const float* dy, float* dx);
  void (*conv_backward_filter)(const ConvShape& s, const float* x, const float* dy, float* dw);
  // One optimiser step over n parameters in place (kernels/optimizer_impl.h); m, v may be null when unused.
  void (*optimizer_update)(const OptimizerUpdate& u, float* param, const float* grad, float* m, float* v, int64_t n);
};

const Backend& cpu_backend();
const Backend& cuda_backend();

inline const Backend& backend_for(Device device) {
  return device == Device::CPU ? cpu_backend() : cuda_backend();
}

// Builds the indexer for out = f(a, b) under numpy broadcasting (out must be broadcast_shapes(a, b)).
BroadcastIndexer make_broadcast_indexer(const Shape& out, const Shape& a, const Shape& b);

}  // namespace tl::kernels
