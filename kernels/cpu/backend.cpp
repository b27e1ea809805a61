// The CPU backend table: the reference implementation of every kernel.
#include "kernels/cpu/cpu_kernels.h"

namespace tl::kernels {

#define TL_BIND_CPU_KERNEL(name) t.name = cpu::name;
const Backend& cpu_backend() {
  return kernel_table<Backend>([](Backend& t) { TL_BACKEND_KERNELS(TL_BIND_CPU_KERNEL) });
}
#undef TL_BIND_CPU_KERNEL

}  // namespace tl::kernels
