// IDX reader over zlib's gz interface (which also reads uncompressed files).
#include "nn/data/idx.h"

#include <zlib.h>

#include <memory>

#include "core/base/error.h"

namespace tl::data {
namespace {

struct GzCloser {
  void operator()(gzFile file) const { gzclose(file); }
};
using GzFile = std::unique_ptr<std::remove_pointer_t<gzFile>, GzCloser>;

void read_exactly(gzFile file, void* dst, size_t bytes, const std::string& path, const char* what) {
  size_t done = 0;
  while (done < bytes) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(bytes - done, 1u << 30));
    const int got = gzread(file, static_cast<char*>(dst) + done, chunk);
    int zerr = Z_OK;
    const char* message = got < 0 ? gzerror(file, &zerr) : nullptr;
    TL_CHECK_AS(ValueError, got > 0, "'", path, "': ", what, " ends early after ", done, " of ", bytes, " bytes",
                message ? std::string(" (") + message + ")" : std::string(" (truncated file)"));
    done += static_cast<size_t>(got);
  }
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  GzFile file(gzopen(path.c_str(), "rb"));
  TL_CHECK_AS(ValueError, file != nullptr, "cannot open IDX file '", path, "'");
  unsigned char magic[4];
  read_exactly(file.get(), magic, 4, path, "the IDX header");
  TL_CHECK_AS(ValueError, magic[0] == 0 && magic[1] == 0, "'", path, "' is not an IDX file (magic bytes ",
              int(magic[0]), " ", int(magic[1]), ", expected 0 0)");
  TL_CHECK_AS(ValueError, magic[2] == 0x08, "'", path, "': element type 0x", std::hex, int(magic[2]),
              " is not unsigned byte (0x08), the only type MNIST-style files use");
  const int rank = magic[3];
  TL_CHECK_AS(ValueError, rank >= 1 && rank <= 4, "'", path, "': IDX rank ", rank, " is outside 1..4");
  IdxArray array;
  size_t total = 1;
  for (int r = 0; r < rank; ++r) {
    unsigned char be[4];
    read_exactly(file.get(), be, 4, path, "the IDX dimensions");
    const int64_t dim = (int64_t(be[0]) << 24) | (be[1] << 16) | (be[2] << 8) | be[3];
    TL_CHECK_AS(ValueError, dim > 0 && dim < (1 << 28), "'", path, "': dimension ", r, " is ", dim);
    array.dims.push_back(dim);
    total *= static_cast<size_t>(dim);
  }
  array.values.resize(total);
  read_exactly(file.get(), array.values.data(), total, path, "the IDX data");
  return array;
}

Tensor idx_images_as_points(const IdxArray& images, int64_t limit) {
  TL_CHECK_AS(ShapeError, images.dims.size() >= 2, "IDX array of rank ", images.dims.size(),
              " holds no images (rank 2 or 3 expected)");
  int64_t pixels = 1;
  for (size_t r = 1; r < images.dims.size(); ++r) pixels *= images.dims[r];
  const int64_t count = limit > 0 ? std::min(limit, images.dims[0]) : images.dims[0];
  std::vector<float> values(static_cast<size_t>(count * pixels));
  for (size_t i = 0; i < values.size(); ++i) values[i] = images.values[i] / 255.0f;
  return Tensor::from_vector(values, {count, pixels});
}

}  // namespace tl::data
