// Declarations of the CPU kernels that kernels/cpu/backend.cpp assembles into the CPU backend table,
// and the shared loop helpers of the CPU elementwise code.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/backend.h"

namespace tl::kernels::cpu {

// Work below this many elements runs on one thread: forking costs more than it saves.
constexpr int64_t kParallelGrain = 1 << 15;

// Every kernel of the table, declared with its signature from kernels/backend.h.
#define TL_DECLARE_CPU_KERNEL(name) signature::name name;
TL_BACKEND_KERNELS(TL_DECLARE_CPU_KERNEL)
#undef TL_DECLARE_CPU_KERNEL

// The GEMM micro-kernel set chosen for this CPU at run time ("avx512", "avx2" or "portable"; kernels/cpu/gemm.cpp).
const char* gemm_kernel_name();

// Walks the output of a broadcast in runs along its last (merged) dimension, in parallel chunks:
// body(offset_a, offset_b, out_offset, length, stride_a, stride_b) handles one run.
template <class Body>
void for_each_broadcast_run(const BroadcastIndexer& ix, Body&& body) {
  const int64_t inner = ix.dims[ix.rank - 1];
  const int64_t stride_a = ix.a_strides[ix.rank - 1];
  const int64_t stride_b = ix.b_strides[ix.rank - 1];
  const int64_t chunk = std::max<int64_t>(kParallelGrain / 4, 1);
  const int64_t chunks = (ix.numel + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (ix.numel >= kParallelGrain)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t end = std::min(ix.numel, (c + 1) * chunk);
    for (int64_t pos = c * chunk; pos < end;) {
      const int64_t length = std::min(inner - pos % inner, end - pos);
      int64_t offset_a, offset_b;
      ix.offsets(pos, offset_a, offset_b);
      body(offset_a, offset_b, pos, length, stride_a, stride_b);
      pos += length;
    }
  }
}

}  // namespace tl::kernels::cpu
