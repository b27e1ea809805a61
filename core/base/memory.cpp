// CPU aligned allocation and Storage; the CUDA half of the interface lives in the CUDA module (kernels/cuda_module.h).
#include "core/base/memory.h"

#include <cstdlib>
#include <cstring>

#include "core/base/error.h"

namespace tl {

void* cpu_allocate(size_t bytes) {
  const size_t rounded = ((bytes + kCpuAlignment - 1) / kCpuAlignment) * kCpuAlignment;
  void* ptr = std::aligned_alloc(kCpuAlignment, rounded == 0 ? kCpuAlignment : rounded);
  TL_CHECK_AS(OutOfMemoryError, ptr != nullptr, "out of CPU memory: could not allocate ", bytes, " bytes (",
              bytes / (1024.0 * 1024.0), " MiB)");
  return ptr;
}

void cpu_free(void* ptr) {
  std::free(ptr);
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  if (dst_device == Device::CPU && src_device == Device::CPU) {
    std::memcpy(dst, src, bytes);
  } else {
    cuda_runtime::copy(dst, dst_device, src, src_device, bytes);
  }
}

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  data_ = device == Device::CPU ? cpu_allocate(bytes) : cuda_runtime::allocate(bytes);
}

Storage::~Storage() {
  if (device_ == Device::CPU) {
    cpu_free(data_);
  } else {
    cuda_runtime::deallocate(data_);
  }
}

}  // namespace tl
