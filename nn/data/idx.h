// The IDX format of MNIST and Fashion-MNIST (unsigned-byte arrays, optionally gzip-compressed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tl::data {

struct IdxArray {
  std::vector<int64_t> dims;    // e.g. {10000, 28, 28} for images, {10000} for labels
  std::vector<uint8_t> values;  // row-major
};

// Reads an unsigned-byte IDX file, gzip-compressed or not. A bad magic number, an unsupported element type,
// dimensions beyond a 64-bit count, a file shorter or longer than its header promises, or corrupt gzip data (a
// failed CRC) raises ValueError naming the file and the problem.
IdxArray read_idx(const std::string& path);

// The first `limit` images (every image when limit is 0; a negative limit raises ValueError) as float32
// [count, rows * cols] rows scaled to [0, 1].
Tensor idx_images_as_points(const IdxArray& images, int64_t limit = 0);

}  // namespace tl::data
