// Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3", SC'11): a counter-based RNG
// written once for host and device. Element i of a fill with (seed, offset) depends on nothing but
// (seed, offset, i), so CPU and GPU fills, in any thread order, give the same numbers.
//
// Floating-point contraction: nvcc fuses a * b + c into one fused multiply-add (--fmad=true, its default), and a
// host compiler does so or not depending on its flags (GCC contracts by default whenever the target has FMA
// instructions, e.g. with -march=native, and not otherwise; clang within an expression). One rounding or two gives
// different bits, so every multiply-add below is written as an explicit fmaf / fma: one correctly rounded
// operation on both sides (glibc computes it exactly where the CPU has no FMA instruction), whatever the flags.
// These are the values nvcc's contraction gave before, so fills on the GPU did not change.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/base/hostdevice.h"

namespace tl::philox {

struct Block {
  uint32_t v[4];
};

TL_HD void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t product = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  hi = static_cast<uint32_t>(product >> 32);
  lo = static_cast<uint32_t>(product);
}

// Ten rounds of the Philox4x32 bijection of a 128-bit counter under a 64-bit key.
TL_HD Block philox4x32_10(Block counter, uint32_t key0, uint32_t key1) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kMul0, counter.v[0], hi0, lo0);
    mulhilo(kMul1, counter.v[2], hi1, lo1);
    counter = Block{{hi1 ^ counter.v[1] ^ key0, lo1, hi0 ^ counter.v[3] ^ key1, lo0}};
    key0 += kWeyl0;
    key1 += kWeyl1;
  }
  return counter;
}

// The block for 128-bit counter (block_index, 0) under a 64-bit seed.
TL_HD Block block_at(uint64_t seed, uint64_t block_index) {
  const Block counter{{static_cast<uint32_t>(block_index), static_cast<uint32_t>(block_index >> 32), 0u, 0u}};
  return philox4x32_10(counter, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// 24 random bits to a float in [0, 1); exact in float32, so host and device agree bit for bit.
TL_HD float to_unit_float(uint32_t bits) {
  return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f);
}

// Uniform fill: element i takes lane i % 4 of block offset + i / 4, mapped to low + (high - low) u with one
// rounding (fused multiply-add).
TL_HD float uniform_at(uint64_t seed, uint64_t offset, uint64_t i, float low, float high) {
  const Block block = block_at(seed, offset + i / 4);
  return ::fmaf(high - low, to_unit_float(block.v[i % 4]), low);
}

// Normal fill by Box-Muller in double: element i takes lanes (2k, 2k+1), k = i % 2, of block offset + i / 2.
// Computed in double and rounded to float once, host and device results agree to the last bit in practice
// (CUDA's double log/cos are within 1 ulp of glibc's, far below float32 resolution). The only multiply-add,
// mean + stddev z, is an explicit fma; the other expressions ((a + b) c, products) offer nothing to contract.
TL_HD float normal_at(uint64_t seed, uint64_t offset, uint64_t i, float mean, float stddev) {
  const Block block = block_at(seed, offset + i / 2);
  const uint32_t lane = static_cast<uint32_t>(i % 2) * 2;
  const double u1 = (static_cast<double>(block.v[lane] >> 8) + 0.5) * (1.0 / 16777216.0);  // (0, 1)
  const double u2 = static_cast<double>(block.v[lane + 1] >> 8) * (1.0 / 16777216.0);      // [0, 1)
  const double radius = ::sqrt(-2.0 * ::log(u1));
  const double z = radius * ::cos(6.283185307179586476925 * u2);
  return static_cast<float>(::fma(static_cast<double>(stddev), z, static_cast<double>(mean)));
}

// Blocks a fill of n elements consumes, so a generator can advance its offset past them.
TL_HD uint64_t uniform_blocks(uint64_t n) {
  return (n + 3) / 4;
}
TL_HD uint64_t normal_blocks(uint64_t n) {
  return (n + 1) / 2;
}

}  // namespace tl::philox
