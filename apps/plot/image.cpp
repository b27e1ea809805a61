// The raster and its PNG encoding (the chunks' CRCs and the deflate stream from zlib).
#include "apps/plot/image.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>

#include "core/base/error.h"

namespace tl::plot {
namespace {

void append_chunk(std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& data) {
  const uint32_t length = static_cast<uint32_t>(data.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(length >> shift));
  const size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  const uint32_t crc = static_cast<uint32_t>(crc32(0L, out.data() + start, static_cast<uInt>(out.size() - start)));
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(crc >> shift));
}

}  // namespace

Image::Image(int w, int h) : width(w), height(h), rgb(static_cast<size_t>(w) * h * 3, 255) {}

void Image::set(int x, int y, uint32_t colour) {
  if (x < 0 || y < 0 || x >= width || y >= height) return;
  uint8_t* p = &rgb[(static_cast<size_t>(y) * width + x) * 3];
  p[0] = static_cast<uint8_t>(colour >> 16);
  p[1] = static_cast<uint8_t>((colour >> 8) & 255);
  p[2] = static_cast<uint8_t>(colour & 255);
}

void Image::dot(int x, int y, int radius, uint32_t colour) {
  for (int dy = -radius; dy <= radius; ++dy)
    for (int dx = -radius; dx <= radius; ++dx)
      if (dx * dx + dy * dy <= radius * radius) set(x + dx, y + dy, colour);
}

void Image::grey_tile(int x, int y, const float* values, int side, int zoom) {
  for (int r = 0; r < side * zoom; ++r)
    for (int c = 0; c < side * zoom; ++c) {
      const float v = std::min(1.0f, std::max(0.0f, values[(r / zoom) * side + c / zoom]));
      const uint32_t g = static_cast<uint32_t>(255.0f * (1.0f - v) + 0.5f);  // ink dark on white
      set(x + c, y + r, (g << 16) | (g << 8) | g);
    }
}

uint32_t class_colour(int label) {
  static const uint32_t kPalette[12] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b,
                                        0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf, 0x000000, 0xaec7e8};
  return kPalette[((label % 12) + 12) % 12];
}

void write_png(const std::string& path, const Image& image) {
  std::vector<uint8_t> raw;
  for (int y = 0; y < image.height; ++y) {
    raw.push_back(0);
    const uint8_t* row = &image.rgb[static_cast<size_t>(y) * image.width * 3];
    raw.insert(raw.end(), row, row + image.width * 3);
  }
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<uint8_t> packed(packed_size);
  TL_CHECK(compress(packed.data(), &packed_size, raw.data(), static_cast<uLong>(raw.size())) == Z_OK,
           "zlib could not compress the image ", path);
  packed.resize(packed_size);
  std::vector<uint8_t> header;
  for (uint32_t v : {static_cast<uint32_t>(image.width), static_cast<uint32_t>(image.height)})
    for (int shift = 24; shift >= 0; shift -= 8) header.push_back(static_cast<uint8_t>(v >> shift));
  header.insert(header.end(), {8, 2, 0, 0, 0});  // 8 bits, RGB, deflate, no filter choice, no interlace
  std::vector<uint8_t> file{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  append_chunk(file, "IHDR", header);
  append_chunk(file, "IDAT", packed);
  append_chunk(file, "IEND", {});
  std::FILE* f = std::fopen(path.c_str(), "wb");
  TL_CHECK_AS(ValueError, f != nullptr, "cannot write ", path);
  const bool written = std::fwrite(file.data(), 1, file.size(), f) == file.size();
  TL_CHECK_AS(ValueError, std::fclose(f) == 0 && written, "writing ", path, " failed");
}

}  // namespace tl::plot
