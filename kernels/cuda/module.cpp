// The CUDA module's entry point: the one exported function through which the library reaches this backend
// (kernels/cuda_module.h). Everything else in the module is built with hidden visibility.
#include "kernels/cuda_module.h"

#ifdef TL_HAVE_NCCL
#include "kernels/cuda/nccl_collectives.h"
#endif

extern "C" __attribute__((visibility("default"))) const tl::kernels::CudaModule* tl_cuda_module() {
  static const tl::kernels::CudaModule module = [] {
    tl::kernels::CudaModule m;
    m.abi_version = tl::kernels::kCudaModuleAbiVersion;
    m.backend = &tl::kernels::cuda_backend();
    m.topology = &tl::kernels::cuda_topology_backend();
#ifdef TL_HAVE_NCCL
    m.collectives = &tl::kernels::nccl_collectives();
#endif
#define TL_BIND_CUDA_RUNTIME(name) m.name = &tl::cuda_runtime::name;
    TL_CUDA_RUNTIME_FUNCTIONS(TL_BIND_CUDA_RUNTIME)
#undef TL_BIND_CUDA_RUNTIME
    return m;
  }();
  return &module;
}
