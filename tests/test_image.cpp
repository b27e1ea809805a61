// The PNG writer of apps/plot/: a written file decodes (chunk CRCs, zlib stream, filter-0 scanlines) back to the
// raster's exact pixels; tiles and dots land where asked.
#include <zlib.h>

#include <fstream>

#include "apps/plot/image.h"
#include "tests/test_support.h"

namespace tl::testing {
namespace {

uint32_t big_endian(const std::string& bytes, size_t at) {
  return (uint32_t(uint8_t(bytes[at])) << 24) | (uint32_t(uint8_t(bytes[at + 1])) << 16) |
         (uint32_t(uint8_t(bytes[at + 2])) << 8) | uint32_t(uint8_t(bytes[at + 3]));
}

TEST_CASE("a written PNG decodes back to the raster's exact pixels") {
  plot::Image image(5, 3);
  image.set(0, 0, 0x102030);
  image.set(4, 2, 0xff0080);
  image.set(7, 1, 0x000000);  // outside: ignored
  const float tile[4] = {0.0f, 1.0f, 0.5f, 2.0f};
  image.grey_tile(1, 1, tile, 2, 1);  // 2 x 2 at (1, 1): white, black, mid grey, black (clamped)
  const std::string path = scratch_directory("png") + "/image.png";
  plot::write_png(path, image);

  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  std::string idat;
  for (size_t at = 8; at < bytes.size();) {
    const uint32_t length = big_endian(bytes, at);
    const std::string type = bytes.substr(at + 4, 4);
    const uint32_t crc = static_cast<uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(bytes.data() + at + 4), static_cast<uInt>(length + 4)));
    CHECK_MESSAGE(crc == big_endian(bytes, at + 8 + length), type);
    if (type == "IHDR") {
      CHECK(big_endian(bytes, at + 8) == 5);
      CHECK(big_endian(bytes, at + 12) == 3);
    }
    if (type == "IDAT") idat += bytes.substr(at + 8, length);
    at += 12 + length;
  }
  std::vector<uint8_t> raw(3 * (1 + 5 * 3));
  uLongf raw_size = raw.size();
  REQUIRE(uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) == Z_OK);
  REQUIRE(raw_size == raw.size());
  for (int y = 0; y < 3; ++y) {
    CHECK(raw[y * 16] == 0);  // filter type 0
    for (int i = 0; i < 15; ++i) CHECK(raw[y * 16 + 1 + i] == image.rgb[y * 15 + i]);
  }
  const auto pixel = [&](int x, int y) {
    const uint8_t* p = &image.rgb[(y * 5 + x) * 3];
    return (uint32_t(p[0]) << 16) | (uint32_t(p[1]) << 8) | p[2];
  };
  CHECK(pixel(0, 0) == 0x102030);
  CHECK(pixel(4, 2) == 0xff0080);
  CHECK(pixel(1, 1) == 0xffffff);  // value 0: no ink
  CHECK(pixel(2, 1) == 0x000000);
  CHECK(pixel(1, 2) == 0x808080);  // 255 * 0.5 rounded
  CHECK(pixel(2, 2) == 0x000000);
  CHECK(pixel(3, 0) == 0xffffff);
}

}  // namespace
}  // namespace tl::testing
