// RGB raster images for the tools' pictures (tl_deform's frames, tl_evaluate's sample grids, latent scatter plots
// and interpolation strips), written as 8-bit RGB PNG files through zlib.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tl::plot {

struct Image {
  int width, height;
  std::vector<uint8_t> rgb;  // row-major, 3 bytes per pixel
  Image(int w, int h);       // white

  void set(int x, int y, uint32_t colour);  // 0xRRGGBB; pixels outside the image are ignored
  void dot(int x, int y, int radius, uint32_t colour);
  // A grey tile of `side` x `side` values in [0, 1] (0 black), each scaled to `zoom` x `zoom` pixels, its top left
  // corner at (x, y).
  void grey_tile(int x, int y, const float* values, int side, int zoom);
};

// A colour per class for up to 12 classes (cycled beyond): the Spheres set's enclosing sphere (label 10) is black.
uint32_t class_colour(int label);

// Signature, IHDR, one zlib-compressed IDAT of filter-0 scanlines, IEND. Throws ValueError naming the file when it
// cannot be written.
void write_png(const std::string& path, const Image& image);

}  // namespace tl::plot
