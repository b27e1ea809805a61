// Declarations of the CPU kernels that kernels/cpu/backend.cpp assembles into the CPU backend table,
// and the shared loop helpers of the CPU elementwise code.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/backend.h"

namespace tl::kernels::cpu {

// Work below this many elements runs on one thread: forking costs more than it saves.
constexpr int64_t kParallelGrain = 1 << 15;

void fill(float* y, int64_t n, float value);
void unary(const UnaryParams& p, const float* x, float* y, int64_t n);
void unary_backward(const UnaryParams& p, const float* x, const float* y, const float* gy, float* gx, int64_t n);
void binary(BinaryOp op, const float* a, const float* b, float* out, const BroadcastIndexer& ix);
void binary_backward(BinaryOp op, const float* a, const float* b, const float* gout, float* ga, float* gb,
                     const BroadcastIndexer& ix);
void expand(const float* x, float* y, const BroadcastIndexer& ix);
void sum_axis(const float* x, float* y, int64_t outer, int64_t len, int64_t inner);
void sum_all(const float* x, float* y, int64_t n);
void log_softmax_rows(const float* x, float* y, int64_t rows, int64_t cols);
double sum_squares(const float* x, int64_t n);
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b,
          float beta, float* c);
void transpose(const float* x, float* y, int64_t rows, int64_t cols);
void copy_block(const float* src, float* dst, const AxisBlock& block);
void index_select(const float* x, const void* index, DType index_dtype, float* y, const IndexGeometry& g);
void index_add(const float* gy, const void* index, DType index_dtype, float* gx, const IndexGeometry& g);
void index_range(const void* index, DType index_dtype, int64_t n, int64_t* min_out, int64_t* max_out);
void random_uniform(float* y, int64_t n, uint64_t seed, uint64_t offset, float low, float high);
void random_normal(float* y, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev);
void conv_forward(const ConvShape& s, const float* x, const float* w, float* y);
void conv_backward_data(const ConvShape& s, const float* w, const float* dy, float* dx);
void conv_backward_filter(const ConvShape& s, const float* x, const float* dy, float* dw);
void optimizer_update(const OptimizerUpdate& u, float* param, const float* grad, float* m, float* v, int64_t n);

// Walks the output of a broadcast in runs along its last (merged) dimension, in parallel chunks:
// body(offset_a, offset_b, out_offset, length, stride_a, stride_b) handles one run.
template <class Body>
void for_each_broadcast_run(const BroadcastIndexer& ix, Body&& body) {
  const int64_t inner = ix.dims[ix.rank - 1];
  const int64_t stride_a = ix.a_strides[ix.rank - 1];
  const int64_t stride_b = ix.b_strides[ix.rank - 1];
  const int64_t chunk = std::max<int64_t>(kParallelGrain / 4, 1);
  const int64_t chunks = (ix.numel + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (ix.numel >= kParallelGrain)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t end = std::min(ix.numel, (c + 1) * chunk);
    for (int64_t pos = c * chunk; pos < end;) {
      const int64_t length = std::min(inner - pos % inner, end - pos);
      int64_t offset_a, offset_b;
      ix.offsets(pos, offset_a, offset_b);
      body(offset_a, offset_b, pos, length, stride_a, stride_b);
      pos += length;
    }
  }
}

}  // namespace tl::kernels::cpu
