// libFuzzer harness for ripser's lower-distance reader: what it returns is a symmetric [n, n] matrix, n >= 2, of
// finite non-negative distances with a zero diagonal.
#include <cmath>

#include "nn/data/point_cloud_io.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tl::fuzz::scratch_file(data, size, "dist.txt");
  tl::fuzz::read_or_reject([&] {
    const tl::Tensor distances = tl::data::read_lower_distance(path);
    const int64_t n = distances.dim(0);
    tl::fuzz::require(distances.rank() == 2 && n >= 2 && distances.dim(1) == n, "a square matrix of 2 or more points");
    const std::vector<float> d = distances.to_vector<float>();
    for (int64_t i = 0; i < n; ++i) {
      tl::fuzz::require(d[i * n + i] == 0.0f, "a zero diagonal");
      for (int64_t j = 0; j < i; ++j) {
        tl::fuzz::require(d[i * n + j] == d[j * n + i], "symmetry");
        tl::fuzz::require(std::isfinite(d[i * n + j]) && d[i * n + j] >= 0.0f, "finite non-negative distances");
      }
    }
  });
  return 0;
}
