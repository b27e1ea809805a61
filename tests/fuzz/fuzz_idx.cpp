// libFuzzer harness for the IDX reader (raw or gzip): the values it returns fill its dimensions exactly, and the
// images of a rank-2..4 array come out as pixels in [0, 1].
#include "core/base/types.h"
#include "nn/data/idx.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tl::fuzz::scratch_file(data, size, "images-idx3-ubyte.gz");
  tl::fuzz::read_or_reject([&] {
    const tl::data::IdxArray array = tl::data::read_idx(path);
    tl::fuzz::require(static_cast<size_t>(tl::shape_numel(array.dims)) == array.values.size(), "values fill dims");
    if (array.dims.size() < 2) return;
    const tl::Tensor images = tl::data::idx_images_as_points(array, 3);
    tl::fuzz::require(images.dim(0) == std::min<int64_t>(3, array.dims[0]), "the first 3 images");
    for (float v : images.to_vector<float>()) tl::fuzz::require(v >= 0.0f && v <= 1.0f, "pixels in [0, 1]");
  });
  return 0;
}
