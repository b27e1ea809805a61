// Generator: a Philox seed and a running counter offset. Each fill reserves the counter blocks it consumes,
// so consecutive fills draw disjoint streams and a (seed, offset) pair replays a fill exactly, on any device.
#pragma once

#include <cstdint>

namespace tl {

class Generator {
 public:
  explicit Generator(uint64_t seed, uint64_t offset = 0) : seed_(seed), offset_(offset) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  // Returns the current offset and advances past `blocks` Philox blocks.
  uint64_t reserve(uint64_t blocks) {
    const uint64_t start = offset_;
    offset_ += blocks;
    return start;
  }

 private:
  uint64_t seed_;
  uint64_t offset_;
};

}  // namespace tl
