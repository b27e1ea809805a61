// Names, sizes and shape arithmetic for dtypes, devices and shapes.
#include "core/base/types.h"

#include <algorithm>

#include "core/base/error.h"

namespace tl {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return 4;
    case DType::Int32:
      return 4;
    case DType::Int64:
      return 8;
  }
  TL_FAIL(ValueError, "unknown dtype");
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return "float32";
    case DType::Int32:
      return "int32";
    case DType::Int64:
      return "int64";
  }
  return "unknown";
}

const char* device_name(Device device) {
  return device == Device::CPU ? "cpu" : "cuda";
}

std::optional<int64_t> checked_numel(const Shape& shape) {
  if (std::any_of(shape.begin(), shape.end(), [](int64_t d) { return d < 0; })) return std::nullopt;
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;  // however large the other dimensions
  int64_t n = 1;
  for (int64_t d : shape) {
    if (__builtin_mul_overflow(n, d, &n)) return std::nullopt;
  }
  return n;
}

int64_t shape_numel(const Shape& shape) {
  const std::optional<int64_t> n = checked_numel(shape);
  if (n.has_value()) return *n;
  for (int64_t d : shape) TL_CHECK_AS(ShapeError, d >= 0, "negative dimension in shape ", shape_str(shape));
  TL_FAIL(ShapeError, "shape ", shape_str(shape), " has more elements than a 64-bit count holds");
}

size_t shape_bytes(const Shape& shape, DType dtype) {
  size_t bytes = 0;
  TL_CHECK_AS(ShapeError, !__builtin_mul_overflow(static_cast<size_t>(shape_numel(shape)), dtype_size(dtype), &bytes),
              "a ", dtype_name(dtype), " tensor of shape ", shape_str(shape),
              " has more bytes than memory can address");
  return bytes;
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int normalize_axis(int axis, int rank) {
  const int normalized = axis < 0 ? axis + rank : axis;
  TL_CHECK_AS(ValueError, normalized >= 0 && normalized < rank, "axis ", axis, " is out of range for a tensor of rank ",
              rank);
  return normalized;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    TL_CHECK_AS(ShapeError, da == db || da == 1 || db == 1, "shapes ", shape_str(a), " and ", shape_str(b),
                " cannot be broadcast together (dimension ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace tl
