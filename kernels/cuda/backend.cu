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

#define TL_BIND_CUDA_KERNEL(name) t.name = cuda::name;
const Backend& cuda_backend() {
  return kernel_table<Backend>([](Backend& t) { TL_BACKEND_KERNELS(TL_BIND_CUDA_KERNEL) });
}
#undef TL_BIND_CUDA_KERNEL

}  // namespace tl::kernels
