// The CPU backend table: the reference implementation of every kernel.
#include "kernels/cpu/cpu_kernels.h"

namespace tl::kernels {

const Backend& cpu_backend() {
  static const Backend table{
      cpu::fill,
      cpu::unary,
      cpu::unary_backward,
      cpu::binary,
      cpu::binary_backward,
      cpu::expand,
      cpu::sum_axis,
      cpu::sum_all,
      cpu::log_softmax_rows,
      cpu::sum_squares,
      cpu::gemm,
      cpu::transpose,
      cpu::copy_block,
      cpu::index_select,
      cpu::index_add,
      cpu::index_range,
      cpu::random_uniform,
      cpu::random_normal,
      cpu::conv_forward,
      cpu::conv_backward_data,
      cpu::conv_backward_filter,
      cpu::optimizer_update,
  };
  return table;
}

}  // namespace tl::kernels
