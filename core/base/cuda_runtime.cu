// The CUDA half of core/base/memory.h, inside the CUDA module (kernels/cuda_module.h): device discovery, copies, the
// transfer counters and a caching allocator. The cache keeps freed blocks in size-ordered free lists and hands them out
// again without a cudaMalloc. Reuse without waiting is safe under one rule: all device work runs on the legacy default
// stream (no stream is created anywhere, cuBLAS and cuDNN handles keep stream 0, and core/base/cuda_check.h refuses a
// per-thread default stream at compile time), so the next user of a block freed by the host is queued behind every
// earlier user. A second stream would need each block's last stream recorded and an event waited on before reuse.
#include <cuda_runtime.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <unordered_map>

#include "core/base/cuda_check.h"
#include "core/base/memory.h"

namespace tl::cuda_runtime {
namespace {

constexpr size_t kBlockGranularity = 512;

struct Block {
  size_t size = 0;
  bool in_use = false;
};

struct CachingAllocator {
  std::mutex mutex;
  std::multimap<size_t, void*> free_blocks;  // size -> block, cached for reuse
  std::unordered_map<void*, Block> blocks;   // every block we own, in use or cached
  CacheStats stats;

  void release_cached_locked() {
    for (auto& [size, ptr] : free_blocks) {
      cudaFree(ptr);
      blocks.erase(ptr);
      stats.bytes_cached -= size;
    }
    free_blocks.clear();
  }
};

struct TransferCounters {
  std::atomic<size_t> device_to_host{0}, host_to_device{0}, synchronizations{0};
};

TransferCounters& counters() {
  static TransferCounters instance;
  return instance;
}

// -1 until the environment is read at the first use; then 0 or 1.
std::atomic<int> poison_state{-1};

CachingAllocator& allocator() {
  static CachingAllocator* instance = new CachingAllocator();  // outlives static tensors at exit
  return *instance;
}

cudaMemcpyKind copy_kind(Device dst, Device src) {
  if (src == Device::CPU) return dst == Device::CPU ? cudaMemcpyHostToHost : cudaMemcpyHostToDevice;
  return dst == Device::CPU ? cudaMemcpyDeviceToHost : cudaMemcpyDeviceToDevice;
}

// The block handed out, filled with 0xFF bytes first when poisoning is on (queued on the default stream, before any
// kernel the caller can launch on it).
void* poisoned(void* ptr, size_t size) {
  if (poisoning()) TL_CUDA_CHECK(cudaMemsetAsync(ptr, 0xFF, size, cudaStreamLegacy));
  return ptr;
}

}  // namespace

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
    const size_t block_size = it->first;
    cache.stats.bytes_cached -= block_size;
    cache.stats.bytes_in_use += block_size;
    cache.free_blocks.erase(it);
    cache.blocks[ptr].in_use = true;
    return poisoned(ptr, block_size);
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
  cache.blocks[ptr] = Block{size, true};
  cache.stats.bytes_in_use += size;
  cache.stats.device_allocations += 1;
  return poisoned(ptr, size);
}

void deallocate(void* ptr) {
  if (ptr == nullptr) return;
  CachingAllocator& cache = allocator();
  std::lock_guard<std::mutex> lock(cache.mutex);
  const auto it = cache.blocks.find(ptr);
  // A block freed twice is either cached (not in use) or, after empty_cache(), unknown; unless cudaMalloc has handed
  // its address out again since, which no bookkeeping here can tell apart. Called from a destructor (noexcept), the
  // error ends the program with its message.
  TL_CHECK_AS(CudaError, it != cache.blocks.end() && it->second.in_use, "CUDA caching allocator: deallocate(", ptr,
              ") of a block that is not in use (freed twice, or never allocated here)");
  it->second.in_use = false;
  cache.stats.bytes_in_use -= it->second.size;
  cache.stats.bytes_cached += it->second.size;
  cache.free_blocks.emplace(it->second.size, ptr);
}

void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  const cudaMemcpyKind kind = copy_kind(dst_device, src_device);
  if (kind == cudaMemcpyDeviceToHost) counters().device_to_host.fetch_add(1, std::memory_order_relaxed);
  if (kind == cudaMemcpyHostToDevice) counters().host_to_device.fetch_add(1, std::memory_order_relaxed);
  TL_CUDA_CHECK(cudaMemcpy(dst, src, bytes, kind));
}

void synchronize() {
  record_synchronization();
  TL_CUDA_CHECK(cudaDeviceSynchronize());
}

bool poisoning() {
  int state = poison_state.load(std::memory_order_relaxed);
  if (state < 0) {
    const char* value = std::getenv("TL_CUDA_POISON");
    state = value != nullptr && std::string(value) == "1" ? 1 : 0;
    int unread = -1;
    if (!poison_state.compare_exchange_strong(unread, state)) state = unread;  // a concurrent set_poisoning wins
  }
  return state == 1;
}

void set_poisoning(bool on) {
  poison_state.store(on ? 1 : 0);
}

TransferStats transfer_stats() {
  TransferCounters& c = counters();
  TransferStats stats;
  stats.device_to_host_copies = c.device_to_host.load();
  stats.host_to_device_copies = c.host_to_device.load();
  stats.synchronizations = c.synchronizations.load();
  return stats;
}

void reset_transfer_stats() {
  TransferCounters& c = counters();
  c.device_to_host = 0;
  c.host_to_device = 0;
  c.synchronizations = 0;
}

void record_synchronization() {
  counters().synchronizations.fetch_add(1, std::memory_order_relaxed);
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
