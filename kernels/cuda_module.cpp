// The library's side of the CUDA boundary (kernels/cuda_module.h): core/base/memory.h's cuda_runtime functions and
// the CUDA kernel tables, forwarded to libtopolatent_cuda.so, which is opened on the first call that needs a device.
// Calls that only report state (statistics, synchronize, deallocate) never open it: before the module is open no
// CUDA memory or work can exist. In a CPU-only build (no TL_CUDA_MODULE_PATH) there is no module to open, and every
// call that needs one fails with a DeviceError saying so.
#include "kernels/cuda_module.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

#include "core/base/error.h"

namespace tl::kernels {
namespace {

struct ModuleState {
  std::once_flag opened;
  std::atomic<const CudaModule*> module{nullptr};
  std::string failure;  // why the module is unavailable; written once under `opened`
};

ModuleState& state() {
  static ModuleState* instance = new ModuleState();  // outlives static tensors freed at exit, as the module does
  return *instance;
}

// Opens the module and checks its table; returns null and sets `failure` when it cannot be used.
const CudaModule* open_module(std::string& failure) {
  const std::string path = cuda_module_path();
  if (path.empty()) {
    failure =
        "topolatent was built without CUDA (reconfigure with -DTOPOLATENT_CUDA=ON on a machine with the CUDA "
        "toolkit)";
    return nullptr;
  }
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    failure = "the CUDA backend module " + path + " could not be loaded: " + (why != nullptr ? why : "unknown error") +
              " (set TOPOLATENT_CUDA_MODULE to the module's path, or check that the CUDA runtime, cuBLAS and cuDNN "
              "libraries are installed)";
    return nullptr;
  }
  using Entry = const CudaModule* (*)();
  const auto entry = reinterpret_cast<Entry>(dlsym(handle, "tl_cuda_module"));
  if (entry == nullptr) {
    failure = "the file " + path + " is not a topolatent CUDA module (it exports no tl_cuda_module)";
    dlclose(handle);
    return nullptr;
  }
  const CudaModule* module = entry();
  if (module == nullptr || module->abi_version != kCudaModuleAbiVersion) {
    failure = "the CUDA backend module " + path + " was built for another version of topolatent (interface " +
              std::to_string(module == nullptr ? 0 : module->abi_version) + ", this library expects " +
              std::to_string(kCudaModuleAbiVersion) + "); rebuild it with this library";
    dlclose(handle);
    return nullptr;
  }
  return module;
}

// The module, opened on the first call; null when it is unavailable (see unavailable()).
const CudaModule* load() {
  ModuleState& s = state();
  std::call_once(s.opened, [&s] { s.module.store(open_module(s.failure)); });
  return s.module.load();
}

// The module if an earlier call opened it; never opens it.
const CudaModule* if_loaded() {
  return state().module.load();
}

[[noreturn]] void unavailable(const char* what) {
  TL_FAIL(DeviceError, what, " needs the CUDA backend, but ", state().failure);
}

const CudaModule& require(const char* what) {
  const CudaModule* module = load();
  if (module == nullptr) unavailable(what);
  return *module;
}

}  // namespace

std::string cuda_module_path() {
#ifdef TL_CUDA_MODULE_PATH
  const char* override_path = std::getenv("TOPOLATENT_CUDA_MODULE");
  return override_path != nullptr && *override_path != '\0' ? override_path : TL_CUDA_MODULE_PATH;
#else
  return {};
#endif
}

bool cuda_module_loaded() {
  return if_loaded() != nullptr;
}

const Backend& cuda_backend() {
  return *require("a CUDA kernel").backend;
}

const TopologyBackend& cuda_topology_backend() {
  return *require("a CUDA persistence kernel").topology;
}

const CudaCollectives& cuda_collectives() {
  const CudaModule& module = require("data-parallel training on CUDA tensors");
  TL_CHECK_AS(DeviceError, module.collectives != nullptr,
              "data-parallel training on CUDA tensors needs NCCL, but the CUDA backend module ", cuda_module_path(),
              " was built without it (install NCCL's development files and rebuild)");
  return *module.collectives;
}

}  // namespace tl::kernels

namespace tl::cuda_runtime {

using kernels::if_loaded;
using kernels::load;
using kernels::require;

bool compiled() {
  return !kernels::cuda_module_path().empty();
}

int device_count() {
  const kernels::CudaModule* module = load();
  return module == nullptr ? 0 : module->device_count();
}

std::string unavailable_reason() {
  const kernels::CudaModule* module = load();
  return module == nullptr ? kernels::state().failure : module->unavailable_reason();
}

void* allocate(size_t bytes) {
  return require("allocating device memory").allocate(bytes);
}

void deallocate(void* ptr) {
  if (const kernels::CudaModule* module = if_loaded()) module->deallocate(ptr);
}

void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  require("a device copy").copy(dst, dst_device, src, src_device, bytes);
}

void synchronize() {
  if (const kernels::CudaModule* module = if_loaded()) module->synchronize();
}

bool poisoning() {
  const kernels::CudaModule* module = if_loaded();
  return module != nullptr && module->poisoning();
}

void set_poisoning(bool on) {
  if (const kernels::CudaModule* module = load()) module->set_poisoning(on);
}

TransferStats transfer_stats() {
  const kernels::CudaModule* module = if_loaded();
  return module == nullptr ? TransferStats{} : module->transfer_stats();
}

void reset_transfer_stats() {
  if (const kernels::CudaModule* module = if_loaded()) module->reset_transfer_stats();
}

void record_synchronization() {
  if (const kernels::CudaModule* module = if_loaded()) module->record_synchronization();
}

CacheStats cache_stats() {
  const kernels::CudaModule* module = if_loaded();
  return module == nullptr ? CacheStats{} : module->cache_stats();
}

void empty_cache() {
  if (const kernels::CudaModule* module = if_loaded()) module->empty_cache();
}

}  // namespace tl::cuda_runtime
