// libFuzzer harness for the .npy reader: what it returns is a non-empty [rows, columns] matrix of finite values,
// and writing it back and reading that gives the same matrix.
#include <cmath>

#include "nn/data/point_cloud_io.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tl::fuzz::scratch_file(data, size, "cloud.npy");
  tl::fuzz::read_or_reject([&] {
    const tl::Tensor points = tl::data::read_npy_points(path);
    tl::fuzz::require(points.rank() == 2 && points.dim(0) > 0 && points.dim(1) > 0, "a non-empty [rows, columns]");
    const std::vector<float> values = points.to_vector<float>();
    for (float v : values) tl::fuzz::require(std::isfinite(v), "finite values");
    const std::string copy = tl::fuzz::scratch_path("copy.npy");
    tl::data::write_npy_points(copy, points);
    const tl::Tensor again = tl::data::read_npy_points(copy);
    tl::fuzz::require(again.shape() == points.shape() && again.to_vector<float>() == values, "a faithful round trip");
  });
  return 0;
}
