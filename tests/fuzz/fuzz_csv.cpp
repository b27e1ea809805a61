// libFuzzer harness for the CSV / whitespace point-cloud reader: what it returns is a non-empty float32
// [rows, columns] matrix of finite values.
#include <cmath>

#include "nn/data/point_cloud_io.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tl::fuzz::scratch_file(data, size, "cloud.csv");
  tl::fuzz::read_or_reject([&] {
    const tl::Tensor points = tl::data::read_csv_points(path);
    tl::fuzz::require(points.rank() == 2 && points.dim(0) > 0 && points.dim(1) > 0, "a non-empty [rows, columns]");
    for (float v : points.to_vector<float>()) tl::fuzz::require(std::isfinite(v), "finite coordinates");
  });
  return 0;
}
