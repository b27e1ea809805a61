// The CPU backend table: the reference implementation of every kernel.
#include "kernels/cpu/cpu_kernels.h"

namespace tl::kernels {

const Backend& cpu_backend() {
  static const Backend table = [] {
    Backend filled;
#define TL_BIND_CPU_KERNEL(name) filled.name = cpu::name;
    TL_BACKEND_KERNELS(TL_BIND_CPU_KERNEL)
#undef TL_BIND_CPU_KERNEL
    return filled;
  }();
  return table;
}

}  // namespace tl::kernels
