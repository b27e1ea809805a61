// The CUDA half of core/base/memory.h for builds without the CUDA toolkit: no device, and a clear error on use;
// no transfers to count and nothing to poison.
#include "core/base/error.h"
#include "core/base/memory.h"

namespace tl::cuda_runtime {

namespace {
[[noreturn]] void fail_without_cuda(const char* what) {
  TL_FAIL(DeviceError, what,
          " needs a CUDA device, but topolatent was built without CUDA "
          "(reconfigure with -DTOPOLATENT_CUDA=ON on a machine with the CUDA toolkit)");
}
}  // namespace

bool compiled() {
  return false;
}
int device_count() {
  return 0;
}
std::string unavailable_reason() {
  return "topolatent was built without CUDA";
}
void* allocate(size_t) {
  fail_without_cuda("allocating device memory");
}
void deallocate(void*) {}
void copy(void*, Device, const void*, Device, size_t) {
  fail_without_cuda("a device copy");
}
void synchronize() {}
bool poisoning() {
  return false;
}
void set_poisoning(bool) {}
CacheStats cache_stats() {
  return {};
}
void empty_cache() {}
TransferStats transfer_stats() {
  return {};
}
void reset_transfer_stats() {}
void record_synchronization() {}

}  // namespace tl::cuda_runtime
