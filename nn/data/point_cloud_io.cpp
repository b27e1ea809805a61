// Text and .npy readers for point clouds and distance matrices (see point_cloud_io.h). Every size a file states is
// checked against the bytes the file holds before anything of that size is allocated.
#include "nn/data/point_cloud_io.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <vector>

#include "core/base/error.h"

namespace tl::data {
namespace {

// NumPy's own bound on the header of a file it does not trust (numpy.lib.format, max_header_size).
constexpr uint32_t kMaxNpyHeaderLength = 10000;

std::ifstream open_or_fail(const std::string& path, std::ios::openmode mode = std::ios::in) {
  std::ifstream in(path, mode);
  TL_CHECK_AS(ValueError, in.good(), "cannot open '", path, "': ", std::strerror(errno));
  return in;
}

// Up to 80 characters of `text` for an error message, control bytes (a NUL, say) written as \xNN.
std::string printable(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size() && i < 80; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    char escaped[5];
    std::snprintf(escaped, sizeof(escaped), "\\x%02X", c);
    out += c >= 0x20 && c < 0x7f ? std::string(1, static_cast<char>(c)) : std::string(escaped);
  }
  return text.size() > 80 ? out + "..." : out;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}
bool is_separator(char c) {
  return c == ',' || c == ';';
}

// One text line read as numbers.
struct ParsedLine {
  std::vector<double> numbers;
  std::string error;        // empty when every field is a number
  bool text_first = false;  // the first field is a word, not a number: a header line
};

// Fields are separated by one comma or semicolon (blanks around it allowed) or by blanks alone; an empty field
// ("1,,2", "1,2,") and a field that is not wholly a number (a NUL byte inside, "1-2") are errors. A blank line holds
// no numbers.
ParsedLine parse_numbers(const std::string& line) {
  ParsedLine parsed;
  size_t i = 0;
  const auto skip_blanks = [&] {
    while (i < line.size() && is_blank(line[i])) ++i;
  };
  skip_blanks();
  while (i < line.size()) {
    const size_t start = i;
    while (i < line.size() && !is_separator(line[i]) && !is_blank(line[i])) ++i;
    const std::string field = line.substr(start, i - start);
    const size_t index = parsed.numbers.size() + 1;
    if (field.empty()) {
      parsed.error = "field " + std::to_string(index) + " is empty";
      return parsed;
    }
    char* end = nullptr;
    const double value = std::strtod(field.c_str(), &end);
    if (end != field.c_str() + field.size()) {
      parsed.error = "field " + std::to_string(index) + " '" + printable(field) + "' is not a number";
      parsed.text_first = index == 1;
      return parsed;
    }
    parsed.numbers.push_back(value);
    skip_blanks();
    if (i < line.size() && is_separator(line[i])) {
      ++i;
      skip_blanks();
      if (i == line.size()) parsed.error = "field " + std::to_string(index + 1) + " is empty";
    }
  }
  return parsed;
}

// `value` as a float32, which must be finite (NaN or infinite coordinates and distances have no persistence);
// `where` names the value in the error message and is only formatted when it is raised.
template <class... Where>
float finite_float(double value, const std::string& path, const Where&... where) {
  const float narrowed = static_cast<float>(value);
  TL_CHECK_AS(ValueError, std::isfinite(narrowed), "'", path, "' ", where..., ": ", value,
              " is not a finite float32 value");
  return narrowed;
}

// The shape and element type a .npy header states.
struct NpyHeader {
  std::string descr;     // '<f4', '<f8', '<i4' or '<i8'
  bool float64 = false;  // descr is '<f8'
  std::vector<int64_t> shape;
};

// The element types a reader takes: the floats of point clouds, or the integers of labels.
enum class NpyKind { Floats, Integers };

// Reads the literal dict of a .npy header, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }.
class NpyHeaderParser {
 public:
  NpyHeaderParser(const std::string& text, const std::string& path, NpyKind kind)
      : text_(text), path_(path), kind_(kind) {}

  NpyHeader parse() {
    NpyHeader header;
    bool descr = false, order = false, shape = false;
    expect('{');
    while (!accept('}')) {
      const std::string key = quoted();
      expect(':');
      if (key == "descr" && !descr) {
        descr = true;
        const std::string type = quoted();
        header.descr = type;
        header.float64 = type == "<f8";
        if (kind_ == NpyKind::Floats)
          check(type == "<f4" || type == "<f8", "element type '" + type + "' is not little-endian float32 or float64");
        else
          check(type == "<i4" || type == "<i8", "element type '" + type + "' is not little-endian int32 or int64");
      } else if (key == "fortran_order" && !order) {
        order = true;
        check(accept_word("False"), "Fortran-ordered arrays are not read (save with C order)");
      } else if (key == "shape" && !shape) {
        shape = true;
        header.shape = integer_tuple();
      } else {
        fail("unexpected or repeated key '" + key + "'");
      }
      if (!accept(',')) {
        check(accept('}'), "expected ',' or '}' after the value of '" + key + "'");
        break;
      }
    }
    check(descr && order && shape, "the header lacks one of 'descr', 'fortran_order' and 'shape'");
    skip_blanks();
    check(position_ == text_.size(), "text after the header's closing brace");
    return header;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    TL_FAIL(ValueError, "'", path_, "': bad .npy header (", problem, "): ", printable(text_));
  }
  void check(bool condition, const std::string& problem) const {
    if (!condition) fail(problem);
  }
  void skip_blanks() {
    while (position_ < text_.size() && (is_blank(text_[position_]) || text_[position_] == '\n')) ++position_;
  }
  bool accept(char c) {
    skip_blanks();
    if (position_ == text_.size() || text_[position_] != c) return false;
    ++position_;
    return true;
  }
  void expect(char c) { check(accept(c), std::string("expected '") + c + "' at offset " + std::to_string(position_)); }
  bool accept_word(const std::string& word) {
    skip_blanks();
    if (text_.compare(position_, word.size(), word) != 0) return false;
    position_ += word.size();
    return true;
  }
  std::string quoted() {
    skip_blanks();
    const char quote = position_ < text_.size() ? text_[position_] : '\0';
    check(quote == '\'' || quote == '"', "expected a quoted string at offset " + std::to_string(position_));
    const size_t close = text_.find(quote, position_ + 1);
    check(close != std::string::npos, "unterminated string");
    const std::string value = text_.substr(position_ + 1, close - position_ - 1);
    position_ = close + 1;
    return value;
  }
  // "(3, 2)", "(3,)", "()": non-negative integers written in digits.
  std::vector<int64_t> integer_tuple() {
    std::vector<int64_t> values;
    expect('(');
    while (!accept(')')) {
      skip_blanks();
      int64_t value = 0;
      const size_t start = position_;
      for (; position_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[position_])); ++position_) {
        const int digit = text_[position_] - '0';
        check(!__builtin_mul_overflow(value, 10, &value) && !__builtin_add_overflow(value, digit, &value),
              "a dimension beyond int64");
      }
      check(position_ > start, "the shape holds something other than non-negative integers");
      values.push_back(value);
      if (!accept(',')) {
        check(accept(')'), "the shape holds something other than non-negative integers");
        break;
      }
    }
    return values;
  }

  const std::string& text_;
  const std::string& path_;
  NpyKind kind_;
  size_t position_ = 0;
};

// Reads the magic string, version and header of a .npy file and leaves `in` at the first data byte.
NpyHeader read_npy_header(std::istream& in, const std::string& path, uint64_t file_size,
                          NpyKind kind = NpyKind::Floats) {
  unsigned char magic[8] = {}, length[4] = {};
  in.read(reinterpret_cast<char*>(magic), 8);
  TL_CHECK_AS(ValueError, in.gcount() == 8 && std::memcmp(magic, "\x93NUMPY", 6) == 0, "'", path,
              "' is not a .npy file (bad magic)");
  const int major = magic[6];
  TL_CHECK_AS(ValueError, major >= 1 && major <= 3, "'", path, "': .npy format version ", major, ".", int(magic[7]),
              " is not 1, 2 or 3");
  const int length_bytes = major == 1 ? 2 : 4;  // little-endian
  in.read(reinterpret_cast<char*>(length), length_bytes);
  TL_CHECK_AS(ValueError, in.gcount() == length_bytes, "'", path, "': the .npy header length is cut short");
  const uint32_t header_length = length[0] | length[1] << 8 | uint32_t{length[2]} << 16 | uint32_t{length[3]} << 24;
  const uint64_t header_end = 8 + length_bytes + uint64_t{header_length};
  TL_CHECK_AS(ValueError, header_length <= kMaxNpyHeaderLength && header_end <= file_size, "'", path,
              "': a .npy header length of ", header_length, " bytes (", file_size,
              " bytes in the file; NumPy reads at most ", kMaxNpyHeaderLength, ")");
  std::string text(header_length, '\0');
  in.read(text.data(), header_length);
  TL_CHECK_AS(ValueError, in.gcount() == header_length, "'", path, "': truncated .npy header");
  return NpyHeaderParser(text, path, kind).parse();
}

double npy_value(const char* bytes, bool float64) {
  if (float64) {
    double value;
    std::memcpy(&value, bytes, sizeof(value));
    return value;
  }
  float value;
  std::memcpy(&value, bytes, sizeof(value));
  return value;
}

uint64_t file_size(std::istream& in) {
  const std::streampos start = in.tellg();
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(start);
  return size < 0 ? 0 : static_cast<uint64_t>(size);
}

// The rows of a lower-distance file without trailing blank lines; row i holds the distances from point i to 0..i-1.
struct DistanceRows {
  std::vector<std::vector<double>> rows;
  int64_t first_line = 1;  // the line of rows[0], or of rows[1] when the first point's empty row is left out
};

DistanceRows read_distance_rows(const std::string& path) {
  std::ifstream in = open_or_fail(path);
  DistanceRows read;
  int64_t line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    ParsedLine parsed = parse_numbers(line);
    TL_CHECK_AS(ValueError, parsed.error.empty(), "'", path, "' line ", line_number, ": ", parsed.error);
    read.rows.push_back(std::move(parsed.numbers));
  }
  while (!read.rows.empty() && read.rows.back().empty()) read.rows.pop_back();
  TL_CHECK_AS(ValueError, !read.rows.empty(), "'", path,
              "' holds no distances (a lower-distance file of n >= 2 points ",
              "has a row per point, row i holding the i distances to points 0..i-1; the first row may be left out)");
  if (!read.rows.front().empty()) {
    read.rows.insert(read.rows.begin(), std::vector<double>());
    read.first_line = 0;
  }
  return read;
}

// Rejects the usual mistakes by name (a full matrix, a triangle with its zero diagonal), then any other row whose
// length is not its index.
void check_lower_triangle(const DistanceRows& read, const std::string& path) {
  const std::vector<std::vector<double>>& rows = read.rows;
  const size_t given = rows.size() - 1 + static_cast<size_t>(read.first_line);  // rows in the file
  bool square = given >= 2 && read.first_line == 0, zero_diagonal = read.first_line == 0, nonzero = false;
  for (size_t r = 1; r < rows.size(); ++r) {
    square = square && rows[r].size() == given;
    zero_diagonal = zero_diagonal && rows[r].size() == r && rows[r].back() == 0.0;
    for (double d : rows[r]) nonzero = nonzero || d != 0.0;
  }
  TL_CHECK_AS(ValueError, !square, "'", path, "' holds a full ", given, " x ", given,
              " matrix; a lower-distance file holds only the entries below the diagonal (row i: the i distances to "
              "points 0..i-1)");
  TL_CHECK_AS(ValueError, !(zero_diagonal && nonzero), "'", path,
              "' holds a lower triangle with its zero diagonal (every row ends in 0); leave the diagonal out (row i: "
              "the i distances to points 0..i-1)");
  for (size_t r = 1; r < rows.size(); ++r) {
    TL_CHECK_AS(ValueError, rows[r].size() == r, "'", path, "' line ", static_cast<int64_t>(r) + read.first_line,
                " holds ", rows[r].size(), " distances where row ", r, " of a lower-distance file holds ", r,
                " (the distances to points 0..", r - 1, ")");
  }
}

}  // namespace

Tensor read_csv_points(const std::string& path) {
  std::ifstream in = open_or_fail(path);
  std::vector<float> values;
  int64_t rows = 0, columns = -1, line_number = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line_number == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);  // a UTF-8 byte order mark
    const ParsedLine parsed = parse_numbers(line);
    if (line_number == 1 && parsed.text_first) continue;  // a header
    TL_CHECK_AS(ValueError, parsed.error.empty(), "'", path, "' line ", line_number, ": ", parsed.error, " in '",
                printable(line), "'");
    if (parsed.numbers.empty()) continue;
    if (columns < 0) columns = static_cast<int64_t>(parsed.numbers.size());
    TL_CHECK_AS(ValueError, static_cast<int64_t>(parsed.numbers.size()) == columns, "'", path, "' line ", line_number,
                " has ", parsed.numbers.size(), " values but earlier rows have ", columns);
    for (size_t k = 0; k < parsed.numbers.size(); ++k)
      values.push_back(finite_float(parsed.numbers[k], path, "line ", line_number, " field ", k + 1));
    ++rows;
  }
  TL_CHECK_AS(ValueError, rows > 0, "'", path, "' holds no rows of numbers");
  return Tensor::from_vector(values, {rows, columns});
}

Tensor read_npy_points(const std::string& path) {
  std::ifstream in = open_or_fail(path, std::ios::binary);
  const uint64_t size = file_size(in);
  const NpyHeader header = read_npy_header(in, path, size);
  const std::string shape = shape_str(header.shape);
  TL_CHECK_AS(ValueError, header.shape.size() == 2, "'", path, "': expected a 2-D array, the shape is ", shape);
  const int64_t rows = header.shape[0], columns = header.shape[1];
  TL_CHECK_AS(ValueError, rows > 0 && columns > 0, "'", path, "' holds an empty ", shape, " array");
  const uint64_t width = header.float64 ? sizeof(double) : sizeof(float);
  const uint64_t data_bytes = size - static_cast<uint64_t>(in.tellg());
  const std::optional<int64_t> claimed = checked_numel(header.shape);
  TL_CHECK_AS(ValueError, claimed && data_bytes % width == 0 && uint64_t(*claimed) == data_bytes / width, "'", path,
              "' holds ", data_bytes, " data bytes, not the ", width, "-byte values of a ", shape, " array");
  const int64_t count = *claimed;
  std::vector<char> raw(static_cast<size_t>(data_bytes));
  in.read(raw.data(), static_cast<std::streamsize>(raw.size()));
  TL_CHECK_AS(ValueError, static_cast<uint64_t>(in.gcount()) == data_bytes, "'", path, "': reading the data failed");
  std::vector<float> values(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    values[i] = finite_float(npy_value(raw.data() + i * width, header.float64), path, "row ", i / columns, " column ",
                             i % columns);
  }
  return Tensor::from_vector(values, {rows, columns});
}

std::vector<int32_t> read_npy_labels(const std::string& path) {
  std::ifstream in = open_or_fail(path, std::ios::binary);
  const uint64_t size = file_size(in);
  const NpyHeader header = read_npy_header(in, path, size, NpyKind::Integers);
  const std::string shape = shape_str(header.shape);
  const bool column = header.shape.size() == 2 && header.shape[1] == 1;
  TL_CHECK_AS(ValueError, header.shape.size() == 1 || column, "'", path,
              "': expected labels as a 1-D or [n, 1] array, the shape is ", shape);
  const int64_t rows = header.shape[0];
  TL_CHECK_AS(ValueError, rows > 0, "'", path, "' holds an empty ", shape, " array of labels");
  const uint64_t width = header.descr == "<i8" ? sizeof(int64_t) : sizeof(int32_t);
  const uint64_t data_bytes = size - static_cast<uint64_t>(in.tellg());
  TL_CHECK_AS(ValueError, data_bytes % width == 0 && uint64_t(rows) == data_bytes / width, "'", path, "' holds ",
              data_bytes, " data bytes, not the ", width, "-byte values of a ", shape, " array");
  std::vector<char> raw(static_cast<size_t>(data_bytes));
  in.read(raw.data(), static_cast<std::streamsize>(raw.size()));
  TL_CHECK_AS(ValueError, static_cast<uint64_t>(in.gcount()) == data_bytes, "'", path, "': reading the data failed");
  std::vector<int32_t> labels(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) {
    int64_t value = 0;
    if (width == sizeof(int64_t)) {
      std::memcpy(&value, raw.data() + i * 8, 8);
    } else {
      int32_t narrow = 0;
      std::memcpy(&narrow, raw.data() + i * 4, 4);
      value = narrow;
    }
    TL_CHECK_AS(ValueError, value >= 0 && value <= INT32_MAX, "'", path, "' row ", i, ": the label ", value,
                " is not an integer in [0, 2^31)");
    labels[static_cast<size_t>(i)] = static_cast<int32_t>(value);
  }
  return labels;
}

std::vector<int32_t> read_csv_labels(const std::string& path) {
  const Tensor column = read_csv_points(path);
  TL_CHECK_AS(ValueError, column.dim(1) == 1, "'", path, "' holds ", column.dim(1),
              " columns; a label file holds one integer label per line");
  const std::vector<float> values = column.to_vector<float>();
  std::vector<int32_t> labels(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    // float32 holds every integer up to 2^24 exactly; larger ones could have been rounded on the way in
    TL_CHECK_AS(ValueError, values[i] >= 0.0f && values[i] <= 16777216.0f && std::floor(values[i]) == values[i], "'",
                path, "' row ", i + 1, ": the label ", values[i], " is not an integer in [0, 2^24]");
    labels[i] = static_cast<int32_t>(values[i]);
  }
  return labels;
}

std::vector<int32_t> read_labels(const std::string& path) {
  const bool npy = path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
  return npy ? read_npy_labels(path) : read_csv_labels(path);
}

Tensor read_lower_distance(const std::string& path) {
  const DistanceRows read = read_distance_rows(path);
  check_lower_triangle(read, path);
  const int64_t n = static_cast<int64_t>(read.rows.size());
  std::vector<float> full(static_cast<size_t>(n * n), 0.0f);
  for (int64_t i = 1; i < n; ++i) {
    for (int64_t j = 0; j < i; ++j) {
      const float d = finite_float(read.rows[i][j], path, "line ", i + read.first_line, " entry ", j + 1);
      TL_CHECK_AS(ValueError, d >= 0.0f, "'", path, "' line ", i + read.first_line, " entry ", j + 1, ": the distance ",
                  d, " is negative");
      full[i * n + j] = full[j * n + i] = d;
    }
  }
  return Tensor::from_vector(full, {n, n});
}

namespace {

// A version-1 .npy file: `descr` ('<f4', '<i4'), the shape as NumPy prints it ("(3, 2)", "(3,)"), then the bytes.
void write_npy(const std::string& path, const std::string& descr, const std::string& shape, const char* bytes,
               size_t size) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  header.append(63 - (10 + header.size()) % 64, ' ');  // magic + length + header + newline: a multiple of 64
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary);
  TL_CHECK_AS(ValueError, out.good(), "cannot write '", path, "': ", std::strerror(errno));
  const uint16_t length = static_cast<uint16_t>(header.size());
  out.write("\x93NUMPY\x01\x00", 8);
  const char length_bytes[2] = {static_cast<char>(length & 0xff), static_cast<char>(length >> 8)};
  out.write(length_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(bytes, static_cast<std::streamsize>(size));
  TL_CHECK_AS(ValueError, out.good(), "writing '", path, "' failed: ", std::strerror(errno));
}

}  // namespace

void write_npy_points(const std::string& path, const Tensor& points) {
  TL_CHECK_AS(ShapeError, points.rank() == 2 && points.dtype() == DType::Float32,
              "write_npy_points: expected a float32 [rows, columns] tensor, got ", points.describe());
  const std::vector<float> values = points.to_vector<float>();
  write_npy(path, "<f4", "(" + std::to_string(points.dim(0)) + ", " + std::to_string(points.dim(1)) + ")",
            reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

void write_npy_labels(const std::string& path, const std::vector<int32_t>& labels) {
  write_npy(path, "<i4", "(" + std::to_string(labels.size()) + ",)", reinterpret_cast<const char*>(labels.data()),
            labels.size() * sizeof(int32_t));
}

}  // namespace tl::data
