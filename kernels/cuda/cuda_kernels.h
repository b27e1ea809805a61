// Declarations of the CUDA kernels' host entry points that kernels/cuda/backend.cu assembles into the CUDA
// backend table, plus launch helpers. Every entry point runs on the default stream.
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace tl::kernels::cuda {

constexpr int kBlockSize = 256;

// Enough blocks of kBlockSize for n elements, capped: kernels use grid-stride loops.
inline unsigned int grid_size(int64_t n) {
  const int64_t blocks = (n + kBlockSize - 1) / kBlockSize;
  return static_cast<unsigned int>(blocks < 1 ? 1 : (blocks > 65535 * 4 ? 65535 * 4 : blocks));
}

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

// Scratch device memory from the caching allocator, released at scope exit (for CUB and Thrust).
class ScratchBuffer {
 public:
  explicit ScratchBuffer(size_t bytes);
  ~ScratchBuffer();
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  void* data() const { return data_; }

 private:
  void* data_;
};

}  // namespace tl::kernels::cuda
