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
  static const Backend table{
      cuda::fill,
      cuda::unary,
      cuda::unary_backward,
      cuda::binary,
      cuda::binary_backward,
      cuda::expand,
      cuda::sum_axis,
      cuda::sum_all,
      cuda::log_softmax_rows,
      cuda::sum_squares,
      cuda::gemm,
      cuda::transpose,
      cuda::copy_block,
      cuda::index_select,
      cuda::index_add,
      cuda::index_range,
      cuda::random_uniform,
      cuda::random_normal,
      cuda::conv_forward,
      cuda::conv_backward_data,
      cuda::conv_backward_filter,
      cuda::optimizer_update,
  };
  return table;
}

}  // namespace tl::kernels
