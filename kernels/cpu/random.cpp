// CPU random fills from the shared Philox functions (core/base/philox.h): element i depends only on
// (seed, offset, i), so these match the CUDA fills element for element.
#include "core/base/philox.h"
#include "kernels/cpu/cpu_kernels.h"

namespace tl::kernels::cpu {

void random_uniform(float* y, int64_t n, uint64_t seed, uint64_t offset, float low, float high) {
#pragma omp parallel for schedule(static) if (n >= kParallelGrain)
  for (int64_t i = 0; i < n; ++i) y[i] = philox::uniform_at(seed, offset, static_cast<uint64_t>(i), low, high);
}

void random_normal(float* y, int64_t n, uint64_t seed, uint64_t offset, float mean, float stddev) {
#pragma omp parallel for schedule(static) if (n >= kParallelGrain)
  for (int64_t i = 0; i < n; ++i) y[i] = philox::normal_at(seed, offset, static_cast<uint64_t>(i), mean, stddev);
}

}  // namespace tl::kernels::cpu
