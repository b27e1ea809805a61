// The CUDA backend table, and the scratch buffers its kernels borrow from the caching allocator.
#include "core/base/memory.h"
#include "kernels/cuda/cuda_kernels.h"

namespace tl::kernels {

namespace cuda {
ScratchBuffer::ScratchBuffer(size_t bytes) : data_(cuda_runtime::allocate(bytes)) {}
ScratchBuffer::~ScratchBuffer() {
  cuda_runtime::deallocate(data_);
}
}  // namespace cuda

const Backend& cuda_backend() {
  static const Backend table = [] {
    Backend filled;
#define TL_BIND_CUDA_KERNEL(name) filled.name = cuda::name;
    TL_BACKEND_KERNELS(TL_BIND_CUDA_KERNEL)
#undef TL_BIND_CUDA_KERNEL
    return filled;
  }();
  return table;
}

}  // namespace tl::kernels
