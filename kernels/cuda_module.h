// The boundary between the library and its CUDA backend. A CUDA build compiles the backend (kernels/cuda/ and
// core/base/cuda_runtime.cu) into a module, libtopolatent_cuda.so, that links cudart, cuBLAS and cuDNN; the library
// itself links none of them and opens the module (kernels/cuda_module.cpp) the first time a CUDA tensor, a device
// query or a CUDA kernel table is asked for. A program that stays on the CPU never maps a CUDA library, which keeps
// its start-up as fast as a CPU-only build's and lets a CUDA build run where the CUDA libraries are absent.
// The module exports one C function, tl_cuda_module(), returning the table below.
#pragma once

#include "core/base/memory.h"
#include "kernels/backend.h"
#include "kernels/topology_backend.h"

namespace tl::kernels {

// Bumped whenever CudaModule or a table it points to changes layout, so that a stale module is refused by name.
constexpr int kCudaModuleAbiVersion = 2;

// The functions of core/base/memory.h's cuda_runtime namespace that the module implements (compiled() is the
// library's own answer). X(name) is applied to each: it declares the fields and fills them by name.
#define TL_CUDA_RUNTIME_FUNCTIONS(X)                                                                               \
  X(device_count)                                                                                                  \
  X(unavailable_reason)                                                                                            \
  X(allocate)                                                                                                      \
  X(deallocate)                                                                                                    \
  X(copy)                                                                                                          \
  X(synchronize) X(poisoning) X(set_poisoning) X(transfer_stats) X(reset_transfer_stats) X(record_synchronization) \
      X(cache_stats) X(empty_cache)

// NCCL, for data-parallel training on CUDA tensors: one process per GPU, the communicator bootstrapped by the caller
// (apps/trainer/process_group.cpp sends the unique id over MPI). Every call runs on the default stream and returns
// when its work is done; a failure throws a DeviceError naming NCCL's error.
struct CudaCollectives {
  int unique_id_bytes = 0;  // sizeof(ncclUniqueId)
  // This process's GPU: the local_rank-th of the machine's; DeviceError when the local_size processes on this
  // machine outnumber its GPUs.
  void (*select_device)(int local_rank, int local_size);
  void (*make_unique_id)(void* id);  // on one process; the others receive it
  void* (*connect)(const void* id, int rank, int size);
  // `count` floats of device memory from every process into `recv` (size * count floats, in rank order).
  void (*all_gather)(void* communicator, const float* send, int64_t count, float* recv);
  void (*disconnect)(void* communicator);
};

struct CudaModule {
  int abi_version = 0;
  const Backend* backend = nullptr;
  const TopologyBackend* topology = nullptr;
  const CudaCollectives* collectives = nullptr;  // null when the module was built without NCCL
#define TL_CUDA_RUNTIME_FIELD(name) decltype(&cuda_runtime::name) name = nullptr;
  TL_CUDA_RUNTIME_FUNCTIONS(TL_CUDA_RUNTIME_FIELD)
#undef TL_CUDA_RUNTIME_FIELD
};

// Where the library looks for the module: the environment variable TOPOLATENT_CUDA_MODULE when set, otherwise the
// path the build wrote it to. Empty in a CPU-only build.
std::string cuda_module_path();

// The module's NCCL collectives; DeviceError when the module cannot be opened or was built without NCCL.
const CudaCollectives& cuda_collectives();

// True once the module has been opened in this process (for tests of the lazy loading; opens nothing).
bool cuda_module_loaded();

}  // namespace tl::kernels

// The module's one exported symbol (kernels/cuda/module.cpp).
extern "C" const tl::kernels::CudaModule* tl_cuda_module();
