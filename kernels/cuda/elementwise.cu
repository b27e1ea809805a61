// CUDA elementwise kernels: grid-stride loops over the shared math of kernels/elementwise_impl.h, one
// instantiation per op so the op is a compile-time constant, as in the CPU loops.
#include "core/base/cuda_check.h"
#include "kernels/cuda/cuda_kernels.h"

namespace tl::kernels::cuda {
namespace {

__global__ void fill_kernel(float* y, int64_t n, float value) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = value;
}

template <UnaryOp Op>
__global__ void unary_kernel(UnaryParams p, const float* x, float* y, int64_t n) {
  p.op = Op;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = unary_forward(p, x[i]);
}

template <UnaryOp Op>
__global__ void unary_backward_kernel(UnaryParams p, const float* x, const float* y, const float* gy, float* gx,
                                      int64_t n) {
  p.op = Op;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    gx[i] = gy[i] * unary_derivative(p, x[i], y[i]);
}

template <BinaryOp Op>
__global__ void binary_kernel(const float* a, const float* b, float* out, BroadcastIndexer ix) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < ix.numel; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t oa, ob;
    ix.offsets(i, oa, ob);
    out[i] = binary_forward(Op, a[oa], b[ob]);
  }
}

template <BinaryOp Op>
__global__ void binary_backward_kernel(const float* a, const float* b, const float* gout, float* ga, float* gb,
                                       BroadcastIndexer ix) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < ix.numel; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t oa, ob;
    ix.offsets(i, oa, ob);
    if (ga != nullptr) ga[i] = gout[i] * binary_derivative_a(Op, a[oa], b[ob]);
    if (gb != nullptr) gb[i] = gout[i] * binary_derivative_b(Op, a[oa], b[ob]);
  }
}

__global__ void expand_kernel(const float* x, float* y, BroadcastIndexer ix) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < ix.numel; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t oa, ob;
    ix.offsets(i, oa, ob);
    y[i] = x[ob];
  }
}

template <OptimizerRule Rule>
__global__ void optimizer_update_kernel(OptimizerUpdate u, float* param, const float* grad, float* m, float* v,
                                        int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    optimizer_update_at<Rule>(u, param, grad, m, v, i);
}

}  // namespace

void fill(float* y, int64_t n, float value) {
  if (n == 0) return;
  fill_kernel<<<grid_size(n), kBlockSize>>>(y, n, value);
  TL_CUDA_CHECK_LAUNCH();
}

void unary(const UnaryParams& p, const float* x, float* y, int64_t n) {
  if (n == 0) return;
  with_unary_op(p.op, [&](auto op) { unary_kernel<decltype(op)::value><<<grid_size(n), kBlockSize>>>(p, x, y, n); });
  TL_CUDA_CHECK_LAUNCH();
}

void unary_backward(const UnaryParams& p, const float* x, const float* y, const float* gy, float* gx, int64_t n) {
  if (n == 0) return;
  with_unary_op(p.op, [&](auto op) {
    unary_backward_kernel<decltype(op)::value><<<grid_size(n), kBlockSize>>>(p, x, y, gy, gx, n);
  });
  TL_CUDA_CHECK_LAUNCH();
}

void binary(BinaryOp op, const float* a, const float* b, float* out, const BroadcastIndexer& ix) {
  if (ix.numel == 0) return;
  with_binary_op(
      op, [&](auto tag) { binary_kernel<decltype(tag)::value><<<grid_size(ix.numel), kBlockSize>>>(a, b, out, ix); });
  TL_CUDA_CHECK_LAUNCH();
}

void binary_backward(BinaryOp op, const float* a, const float* b, const float* gout, float* ga, float* gb,
                     const BroadcastIndexer& ix) {
  if (ix.numel == 0) return;
  with_binary_op(op, [&](auto tag) {
    binary_backward_kernel<decltype(tag)::value><<<grid_size(ix.numel), kBlockSize>>>(a, b, gout, ga, gb, ix);
  });
  TL_CUDA_CHECK_LAUNCH();
}

void expand(const float* x, float* y, const BroadcastIndexer& ix) {
  if (ix.numel == 0) return;
  expand_kernel<<<grid_size(ix.numel), kBlockSize>>>(x, y, ix);
  TL_CUDA_CHECK_LAUNCH();
}

void optimizer_update(const OptimizerUpdate& u, float* param, const float* grad, float* m, float* v, int64_t n) {
  if (n == 0) return;
  with_optimizer_rule(u.rule, [&](auto rule) {
    optimizer_update_kernel<decltype(rule)::value><<<grid_size(n), kBlockSize>>>(u, param, grad, m, v, n);
  });
  TL_CUDA_CHECK_LAUNCH();
}

}  // namespace tl::kernels::cuda
