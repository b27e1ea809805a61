// Device memory: aligned CPU allocations, the CUDA runtime behind one interface (implemented by the CUDA module,
// opened on first use: kernels/cuda_module.h), a caching allocator for CUDA memory, and Storage, the
// reference-counted buffer tensors share.
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
// Returns the block to the cache; CudaError naming the pointer when it is not a block in use (a double free).
void deallocate(void* ptr);
void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
void synchronize();

// Poisoning: while on, every block allocate() hands out is filled with 0xFF bytes (a NaN in every float, -1 in
// every integer) before any kernel can use it, so that a kernel that leaves part of its output unwritten cannot pass
// a parity test by finding the previous run's identical values in a reused block. Off by default; on when the
// environment variable TL_CUDA_POISON is 1 at the first allocation (the parity suite's CTest sets it).
bool poisoning();
void set_poisoning(bool on);  // for tests

// Round trips between host and device made through this layer (copy(), synchronize(), and the kernels' own copies
// and synchronisations, which go through it): device-to-host copies wait for the device; host-to-device copies
// from pageable memory wait for the stream's earlier work too (the CUDA runtime stages them).
struct TransferStats {
  size_t device_to_host_copies = 0;
  size_t host_to_device_copies = 0;
  size_t synchronizations = 0;  // synchronize() and other explicit waits for the device
};
TransferStats transfer_stats();
void reset_transfer_stats();
void record_synchronization();  // for a wait made outside this layer (a synchronising library call)

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
