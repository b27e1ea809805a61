// Device memory: aligned CPU allocations, the CUDA runtime behind one interface (a stub in CPU-only builds),
// a caching allocator for CUDA memory, and Storage, the reference-counted buffer tensors share.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "core/base/types.h"

namespace tl {

constexpr size_t kCpuAlignment = 64;  // one cache line; enough for AVX-512 loads

void* cpu_allocate(size_t bytes);  // throws OutOfMemoryError naming the size
void cpu_free(void* ptr);

// Copies between any two devices; CPU-to-CPU with memcpy, anything else through the CUDA runtime. Zero bytes is a
// no-op (empty vectors may hand in null pointers).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);

namespace cuda_runtime {

bool compiled();                   // true when this build contains the CUDA backend
int device_count();                // 0 when no usable GPU (or a CPU-only build)
std::string unavailable_reason();  // why device_count() is 0, for skip messages and errors
void* allocate(size_t bytes);      // caching allocator; throws OutOfMemoryError naming the size
void deallocate(void* ptr);        // returns the block to the cache
void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
void synchronize();

struct CacheStats {
  size_t bytes_in_use = 0;        // handed out to tensors
  size_t bytes_cached = 0;        // held by the cache, free for reuse
  size_t device_allocations = 0;  // cudaMalloc calls so far
};
CacheStats cache_stats();
void empty_cache();  // returns every cached (unused) block to the driver

}  // namespace cuda_runtime

// A contiguous buffer on one device. Tensors hold it through shared_ptr; views share it.
class Storage {
 public:
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
};

}  // namespace tl
