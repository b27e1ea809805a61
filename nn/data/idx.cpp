// IDX reader over zlib's gz interface (which also reads uncompressed files). The data are read in chunks that grow
// with what has arrived, so a header claiming more than the file holds fails at the file's end instead of
// allocating the claim first; the read past the last byte makes zlib check the gzip CRC and length.
#include "nn/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <memory>

#include "core/base/error.h"

namespace tl::data {
namespace {

constexpr size_t kFirstChunk = size_t{1} << 20;

struct GzCloser {
  void operator()(gzFile file) const { gzclose(file); }
};
using GzFile = std::unique_ptr<std::remove_pointer_t<gzFile>, GzCloser>;

// Reads up to `bytes` into `dst` and returns how many arrived: fewer only at the end of the data. A corrupt or cut
// gzip stream raises ValueError naming the file, `what` was being read and zlib's diagnosis.
size_t read_some(gzFile file, void* dst, size_t bytes, const std::string& path, const char* what) {
  size_t done = 0;
  while (done < bytes) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(bytes - done, 1u << 30));
    const int got = gzread(file, static_cast<char*>(dst) + done, chunk);
    if (got <= 0) {
      int zerr = Z_OK;
      std::string message = gzerror(file, &zerr);
      if (message.compare(0, path.size() + 2, path + ": ") == 0) message.erase(0, path.size() + 2);  // zlib's prefix
      TL_CHECK_AS(ValueError, zerr == Z_OK, "'", path, "': reading ", what, " failed after ", done, " of ", bytes,
                  " bytes: ",
                  zerr == Z_BUF_ERROR ? "the gzip stream is cut short (truncated file)"
                                      : "corrupt gzip data (" + message + ")");
      break;
    }
    done += static_cast<size_t>(got);
  }
  return done;
}

void read_exactly(gzFile file, void* dst, size_t bytes, const std::string& path, const char* what) {
  const size_t got = read_some(file, dst, bytes, path, what);
  TL_CHECK_AS(ValueError, got == bytes, "'", path, "': ", what, " ends early after ", got, " of ", bytes,
              " bytes (truncated file)");
}

Shape read_header(gzFile file, const std::string& path) {
  unsigned char magic[4];
  read_exactly(file, magic, 4, path, "the IDX header");
  TL_CHECK_AS(ValueError, magic[0] == 0 && magic[1] == 0, "'", path, "' is not an IDX file (magic bytes ",
              int(magic[0]), " ", int(magic[1]), ", expected 0 0)");
  TL_CHECK_AS(ValueError, magic[2] == 0x08, "'", path, "': element type 0x", std::hex, int(magic[2]),
              " is not unsigned byte (0x08), the only type MNIST-style files use");
  const int rank = magic[3];
  TL_CHECK_AS(ValueError, rank >= 1 && rank <= 4, "'", path, "': IDX rank ", rank, " is outside 1..4");
  Shape dims;
  for (int r = 0; r < rank; ++r) {
    unsigned char be[4];
    read_exactly(file, be, 4, path, "the IDX dimensions");
    const int64_t dim = int64_t{be[0]} << 24 | int64_t{be[1]} << 16 | int64_t{be[2]} << 8 | int64_t{be[3]};
    TL_CHECK_AS(ValueError, dim > 0 && dim < (1 << 28), "'", path, "': dimension ", r, " is ", dim);
    dims.push_back(dim);
  }
  return dims;
}

// Reads the `count` data bytes that `dims` promise and checks that nothing follows them.
std::vector<uint8_t> read_values(gzFile file, size_t count, const Shape& dims, const std::string& path) {
  std::vector<uint8_t> values;
  while (values.size() < count) {
    const size_t done = values.size(), chunk = std::min(count - done, std::max(done, kFirstChunk));
    values.resize(done + chunk);
    const size_t got = read_some(file, values.data() + done, chunk, path, "the IDX data");
    TL_CHECK_AS(ValueError, got == chunk, "'", path, "': the IDX data ends early after ", done + got, " of the ", count,
                " bytes its dimensions ", shape_str(dims), " promise (truncated file)");
  }
  unsigned char extra;
  TL_CHECK_AS(ValueError, read_some(file, &extra, 1, path, "the end of the IDX data") == 0, "'", path,
              "' holds more data than its dimensions ", shape_str(dims), " account for");
  return values;
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  GzFile file(gzopen(path.c_str(), "rb"));
  TL_CHECK_AS(ValueError, file != nullptr, "cannot open IDX file '", path, "'");
  IdxArray array;
  array.dims = read_header(file.get(), path);
  const std::optional<int64_t> count = checked_numel(array.dims);
  TL_CHECK_AS(ValueError, count.has_value(), "'", path, "': the IDX dimensions ", shape_str(array.dims),
              " hold more elements than a 64-bit count");
  array.values = read_values(file.get(), static_cast<size_t>(*count), array.dims, path);
  return array;
}

Tensor idx_images_as_points(const IdxArray& images, int64_t limit) {
  TL_CHECK_AS(ShapeError, images.dims.size() >= 2, "IDX array of rank ", images.dims.size(),
              " holds no images (rank 2 or 3 expected)");
  TL_CHECK_AS(ShapeError, static_cast<size_t>(shape_numel(images.dims)) == images.values.size(), "IDX array of shape ",
              shape_str(images.dims), " holds ", images.values.size(), " values");
  TL_CHECK_AS(ValueError, limit >= 0, "idx_images_as_points: the image limit must be >= 0 (0: every image), got ",
              limit);
  const int64_t pixels = shape_numel(Shape(images.dims.begin() + 1, images.dims.end()));
  const int64_t count = limit > 0 ? std::min(limit, images.dims[0]) : images.dims[0];
  std::vector<float> values(static_cast<size_t>(count * pixels));
  for (size_t i = 0; i < values.size(); ++i) values[i] = images.values[i] / 255.0f;
  return Tensor::from_vector(values, {count, pixels});
}

}  // namespace tl::data
