// CPU elementwise kernels: fills, unary ops and their backward, broadcast binary ops and their backward.
// The per-element math is kernels/elementwise_impl.h, shared with the CUDA kernels.
#include <cmath>

// glibc's libmvec holds AVX2 versions of these functions (within 4 ulp of the exact result, glibc manual);
// declared `omp declare simd`, the loops below call them eight elements at a time instead of once per element
// (the BCE loss and softplus spend most of their time in log1pf and expf). Without libmvec the scalar ones run.
#if defined(TL_HAVE_LIBMVEC)
extern "C" {
#pragma omp declare simd notinbranch
float expf(float) noexcept;
#pragma omp declare simd notinbranch
float logf(float) noexcept;
#pragma omp declare simd notinbranch
float log1pf(float) noexcept;
#pragma omp declare simd notinbranch
float tanhf(float) noexcept;
}
#endif

#include "kernels/cpu/cpu_kernels.h"

namespace tl::kernels::cpu {

void fill(float* y, int64_t n, float value) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelGrain)
  for (int64_t i = 0; i < n; ++i) y[i] = value;
}

// The loops below vectorise only when they read plain locals: pointers copied out of the lambda's captured
// references, and UnaryParams built inside the loop from a constexpr op (the OpenMP outlining passes captured
// values through memory, and a switch on an op read from memory does not fold away).
void unary(const UnaryParams& p, const float* x, float* y, int64_t n) {
  with_unary_op(p.op, [&](auto op) {
    constexpr UnaryOp kOp = decltype(op)::value;
    const float a = p.a, b = p.b;
    const float* const in = x;
    float* const out = y;
#pragma omp parallel for simd schedule(static) if (n >= kParallelGrain)
    for (int64_t i = 0; i < n; ++i) out[i] = unary_forward(UnaryParams{kOp, a, b}, in[i]);
  });
}

void unary_backward(const UnaryParams& p, const float* x, const float* y, const float* gy, float* gx, int64_t n) {
  with_unary_op(p.op, [&](auto op) {
    constexpr UnaryOp kOp = decltype(op)::value;
    const float a = p.a, b = p.b;
    const float *const in = x, *const out = y, *const grad_out = gy;
    float* const grad_in = gx;
#pragma omp parallel for simd schedule(static) if (n >= kParallelGrain)
    for (int64_t i = 0; i < n; ++i) grad_in[i] = grad_out[i] * unary_derivative(UnaryParams{kOp, a, b}, in[i], out[i]);
  });
}

void binary(BinaryOp op, const float* a, const float* b, float* out, const BroadcastIndexer& ix) {
  with_binary_op(op, [&](auto tag) {
    constexpr BinaryOp kOp = decltype(tag)::value;
    for_each_broadcast_run(ix, [&](int64_t oa, int64_t ob, int64_t pos, int64_t len, int64_t sa, int64_t sb) {
      const float* pa = a + oa;
      const float* pb = b + ob;
      float* po = out + pos;
      if (sa == 1 && sb == 1) {
#pragma omp simd
        for (int64_t i = 0; i < len; ++i) po[i] = binary_forward(kOp, pa[i], pb[i]);
      } else {
        for (int64_t i = 0; i < len; ++i) po[i] = binary_forward(kOp, pa[i * sa], pb[i * sb]);
      }
    });
  });
}

void binary_backward(BinaryOp op, const float* a, const float* b, const float* gout, float* ga, float* gb,
                     const BroadcastIndexer& ix) {
  with_binary_op(op, [&](auto tag) {
    constexpr BinaryOp kOp = decltype(tag)::value;
    for_each_broadcast_run(ix, [&](int64_t oa, int64_t ob, int64_t pos, int64_t len, int64_t sa, int64_t sb) {
      const float* pa = a + oa;
      const float* pb = b + ob;
      const float* pg = gout + pos;
      if (ga != nullptr) {
        for (int64_t i = 0; i < len; ++i) ga[pos + i] = pg[i] * binary_derivative_a(kOp, pa[i * sa], pb[i * sb]);
      }
      if (gb != nullptr) {
        for (int64_t i = 0; i < len; ++i) gb[pos + i] = pg[i] * binary_derivative_b(kOp, pa[i * sa], pb[i * sb]);
      }
    });
  });
}

void expand(const float* x, float* y, const BroadcastIndexer& ix) {
  for_each_broadcast_run(ix, [&](int64_t, int64_t ob, int64_t pos, int64_t len, int64_t, int64_t sb) {
    for (int64_t i = 0; i < len; ++i) y[pos + i] = x[ob + i * sb];
  });
}

void optimizer_update(const OptimizerUpdate& u, float* param, const float* grad, float* m, float* v, int64_t n) {
  with_optimizer_rule(u.rule, [&](auto rule) {
    const OptimizerUpdate step = u;
    float* const p = param;
    const float* const g = grad;
    float* const first = m;
    float* const second = v;
#pragma omp parallel for simd schedule(static) if (n >= kParallelGrain)
    for (int64_t i = 0; i < n; ++i) optimizer_update_at<decltype(rule)::value>(step, p, g, first, second, i);
  });
}

}  // namespace tl::kernels::cpu
