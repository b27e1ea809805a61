// Text and .npy readers for point clouds and distance matrices (see point_cloud_io.h).
#include "nn/data/point_cloud_io.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/base/error.h"

namespace tl::data {
namespace {

std::ifstream open_or_fail(const std::string& path, std::ios::openmode mode = std::ios::in) {
  std::ifstream in(path, mode);
  TL_CHECK_AS(ValueError, in.good(), "cannot open '", path, "': ", std::strerror(errno));
  return in;
}

// Parses the numbers of one text line separated by commas, semicolons or whitespace; false if any token is not a
// number.
bool parse_numbers(const std::string& line, std::vector<double>& out) {
  out.clear();
  const char* p = line.c_str();
  while (*p) {
    while (*p == ',' || *p == ';' || std::isspace(static_cast<unsigned char>(*p))) ++p;
    if (!*p) break;
    char* end = nullptr;
    const double value = std::strtod(p, &end);
    if (end == p) return false;
    out.push_back(value);
    p = end;
  }
  return true;
}

}  // namespace

Tensor read_csv_points(const std::string& path) {
  std::ifstream in = open_or_fail(path);
  std::vector<float> values;
  std::vector<double> row;
  int64_t rows = 0, columns = -1, line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (!parse_numbers(line, row)) {
      TL_CHECK_AS(ValueError, line_number == 1, "'", path, "' line ", line_number, ": not a row of numbers: '",
                  line.substr(0, 80), "'");
      continue;  // header
    }
    if (row.empty()) continue;
    if (columns < 0) columns = static_cast<int64_t>(row.size());
    TL_CHECK_AS(ValueError, static_cast<int64_t>(row.size()) == columns, "'", path, "' line ", line_number, " has ",
                row.size(), " values but earlier rows have ", columns);
    for (double v : row) values.push_back(static_cast<float>(v));
    ++rows;
  }
  TL_CHECK_AS(ValueError, rows > 0, "'", path, "' holds no rows of numbers");
  return Tensor::from_vector(values, {rows, columns});
}

Tensor read_npy_points(const std::string& path) {
  std::ifstream in = open_or_fail(path, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  TL_CHECK_AS(ValueError, in.gcount() == 8 && std::memcmp(magic, "\x93NUMPY", 6) == 0, "'", path,
              "' is not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(magic[6]);
  uint32_t header_length = 0;
  unsigned char length_bytes[4] = {};
  in.read(reinterpret_cast<char*>(length_bytes), major == 1 ? 2 : 4);
  header_length =
      length_bytes[0] | (length_bytes[1] << 8) | (major == 1 ? 0u : (length_bytes[2] << 16 | length_bytes[3] << 24));
  std::string header(header_length, '\0');
  in.read(&header[0], header_length);
  TL_CHECK_AS(ValueError, in.good(), "'", path, "': truncated .npy header");
  const bool is_f4 = header.find("'<f4'") != std::string::npos, is_f8 = header.find("'<f8'") != std::string::npos;
  TL_CHECK_AS(ValueError, is_f4 || is_f8, "'", path,
              "': only little-endian float32/float64 arrays are read, header: ", header);
  TL_CHECK_AS(ValueError, header.find("'fortran_order': False") != std::string::npos, "'", path,
              "': Fortran-ordered arrays are not read (save with C order)");
  const size_t open = header.find('(', header.find("'shape'")), close = header.find(')', open);
  TL_CHECK_AS(ValueError, open != std::string::npos && close != std::string::npos, "'", path, "': no shape in header");
  std::vector<double> dims;
  parse_numbers(header.substr(open + 1, close - open - 1), dims);
  TL_CHECK_AS(ValueError, dims.size() == 2, "'", path, "': expected a 2-D array, shape is (",
              header.substr(open + 1, close - open - 1), ")");
  const int64_t rows = static_cast<int64_t>(dims[0]), columns = static_cast<int64_t>(dims[1]);
  const size_t count = static_cast<size_t>(rows * columns);
  const size_t width = is_f4 ? sizeof(float) : sizeof(double);
  std::vector<char> raw(count * width);
  in.read(raw.data(), static_cast<std::streamsize>(raw.size()));
  TL_CHECK_AS(ValueError, static_cast<size_t>(in.gcount()) == raw.size(), "'", path, "': truncated data: ", in.gcount(),
              " of ", raw.size(), " bytes for a ", rows, " x ", columns, " array");
  std::vector<float> values(count);
  for (size_t i = 0; i < count; ++i) {
    if (is_f4) {
      std::memcpy(&values[i], raw.data() + i * width, width);
    } else {
      double wide;
      std::memcpy(&wide, raw.data() + i * width, width);
      values[i] = static_cast<float>(wide);
    }
  }
  return Tensor::from_vector(values, {rows, columns});
}

Tensor read_lower_distance(const std::string& path) {
  std::ifstream in = open_or_fail(path);
  std::vector<double> entries, row;
  int64_t line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    TL_CHECK_AS(ValueError, parse_numbers(line, row), "'", path, "' line ", line_number, ": not numbers: '",
                line.substr(0, 80), "'");
    entries.insert(entries.end(), row.begin(), row.end());
  }
  const int64_t m = static_cast<int64_t>(entries.size());
  const int64_t n = static_cast<int64_t>(std::llround((1.0 + std::sqrt(1.0 + 8.0 * m)) / 2.0));
  TL_CHECK_AS(ValueError, n * (n - 1) / 2 == m && n >= 1, "'", path, "' holds ", m,
              " numbers, not n(n-1)/2 for any n: not a lower-triangular distance matrix");
  std::vector<float> full(static_cast<size_t>(n * n), 0.0f);
  int64_t k = 0;
  for (int64_t i = 1; i < n; ++i)
    for (int64_t j = 0; j < i; ++j, ++k) full[i * n + j] = full[j * n + i] = static_cast<float>(entries[k]);
  return Tensor::from_vector(full, {n, n});
}

void write_npy_points(const std::string& path, const Tensor& points) {
  TL_CHECK_AS(ShapeError, points.rank() == 2 && points.dtype() == DType::Float32,
              "write_npy_points: expected a float32 [rows, columns] tensor, got ", points.describe());
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(points.dim(0)) + ", " +
                       std::to_string(points.dim(1)) + "), }";
  header.append(63 - (10 + header.size()) % 64, ' ');  // magic + length + header + newline: a multiple of 64
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary);
  TL_CHECK_AS(ValueError, out.good(), "cannot write '", path, "': ", std::strerror(errno));
  const uint16_t length = static_cast<uint16_t>(header.size());
  out.write("\x93NUMPY\x01\x00", 8);
  const char length_bytes[2] = {static_cast<char>(length & 0xff), static_cast<char>(length >> 8)};
  out.write(length_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  const std::vector<float> values = points.to_vector<float>();
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(float)));
  TL_CHECK_AS(ValueError, out.good(), "writing '", path, "' failed: ", std::strerror(errno));
}

}  // namespace tl::data
