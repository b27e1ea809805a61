// The CUDA half of core/base/memory.h: device discovery, copies and a caching allocator.
// The cache keeps freed blocks in size-ordered free lists and hands them out again without a cudaMalloc;
// all work runs on the default stream, so a block freed by the host may be reused by the next kernel at once.
#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <unordered_map>

#include "core/base/cuda_check.h"
#include "core/base/memory.h"

namespace tl::cuda_runtime {
namespace {

constexpr size_t kBlockGranularity = 512;

struct CachingAllocator {
  std::mutex mutex;
  std::multimap<size_t, void*> free_blocks;       // size -> block, cached for reuse
  std::unordered_map<void*, size_t> block_sizes;  // every block we own, in use or cached
  CacheStats stats;

  void release_cached_locked() {
    for (auto& [size, ptr] : free_blocks) {
      cudaFree(ptr);
      block_sizes.erase(ptr);
      stats.bytes_cached -= size;
    }
    free_blocks.clear();
  }
};

CachingAllocator& allocator() {
  static CachingAllocator* instance = new CachingAllocator();  // outlives static tensors at exit
  return *instance;
}

cudaMemcpyKind copy_kind(Device dst, Device src) {
  if (src == Device::CPU) return dst == Device::CPU ? cudaMemcpyHostToHost : cudaMemcpyHostToDevice;
  return dst == Device::CPU ? cudaMemcpyDeviceToHost : cudaMemcpyDeviceToDevice;
}

}  // namespace

bool compiled() {
  return true;
}

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls report their own status
    return 0;
  }
  return count;
}

std::string unavailable_reason() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();
    return std::string("no usable CUDA device: ") + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")";
  }
  return count == 0 ? "no CUDA device present" : "";
}

void* allocate(size_t bytes) {
  const size_t rounded = ((bytes + kBlockGranularity - 1) / kBlockGranularity) * kBlockGranularity;
  const size_t size = rounded == 0 ? kBlockGranularity : rounded;
  CachingAllocator& cache = allocator();
  std::lock_guard<std::mutex> lock(cache.mutex);
  // Reuse the smallest cached block that fits, unless it would waste more than half of itself.
  auto it = cache.free_blocks.lower_bound(size);
  if (it != cache.free_blocks.end() && it->first <= 2 * size) {
    void* ptr = it->second;
    cache.stats.bytes_cached -= it->first;
    cache.stats.bytes_in_use += it->first;
    cache.free_blocks.erase(it);
    return ptr;
  }
  void* ptr = nullptr;
  cudaError_t status = cudaMalloc(&ptr, size);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    cache.release_cached_locked();
    status = cudaMalloc(&ptr, size);
  }
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    TL_FAIL(OutOfMemoryError, "out of CUDA memory: could not allocate ", bytes, " bytes (", bytes / (1024.0 * 1024.0),
            " MiB); ", free_bytes / (1024.0 * 1024.0), " MiB free of ", total_bytes / (1024.0 * 1024.0), " MiB, ",
            cache.stats.bytes_in_use / (1024.0 * 1024.0), " MiB held by live tensors");
  }
  if (status != cudaSuccess) {
    cudaGetLastError();
    TL_FAIL(CudaError, "cudaMalloc of ", bytes, " bytes failed: ", cudaGetErrorName(status), " (",
            cudaGetErrorString(status), ")");
  }
  cache.block_sizes[ptr] = size;
  cache.stats.bytes_in_use += size;
  cache.stats.device_allocations += 1;
  return ptr;
}

void deallocate(void* ptr) {
  if (ptr == nullptr) return;
  CachingAllocator& cache = allocator();
  std::lock_guard<std::mutex> lock(cache.mutex);
  const auto it = cache.block_sizes.find(ptr);
  if (it == cache.block_sizes.end()) return;  // not ours: never happens for Storage-owned blocks
  cache.stats.bytes_in_use -= it->second;
  cache.stats.bytes_cached += it->second;
  cache.free_blocks.emplace(it->second, ptr);
}

void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  TL_CUDA_CHECK(cudaMemcpy(dst, src, bytes, copy_kind(dst_device, src_device)));
}

void synchronize() {
  TL_CUDA_CHECK(cudaDeviceSynchronize());
}

CacheStats cache_stats() {
  CachingAllocator& cache = allocator();
  std::lock_guard<std::mutex> lock(cache.mutex);
  return cache.stats;
}

void empty_cache() {
  CachingAllocator& cache = allocator();
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.release_cached_locked();
}

}  // namespace tl::cuda_runtime
