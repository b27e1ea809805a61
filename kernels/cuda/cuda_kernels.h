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

// Every kernel of the table, declared with its signature from kernels/backend.h.
#define TL_DECLARE_CUDA_KERNEL(name) signature::name name;
TL_BACKEND_KERNELS(TL_DECLARE_CUDA_KERNEL)
#undef TL_DECLARE_CUDA_KERNEL

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
