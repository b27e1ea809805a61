// Element types, devices and shapes: the small vocabulary every other header uses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tl {

enum class DType { Float32, Int32, Int64 };
enum class Device { CPU, CUDA };

using Shape = std::vector<int64_t>;

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);
const char* device_name(Device device);

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::Float32;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::Int32;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::Int64;
}

// The number of elements of a shape; throws ShapeError for a negative dimension or a count beyond int64.
int64_t shape_numel(const Shape& shape);
// The same without throwing, for sizes read from files: nullopt for a negative dimension or a count beyond int64.
std::optional<int64_t> checked_numel(const Shape& shape);
// The bytes of a tensor of that shape and dtype; throws ShapeError where they do not fit in size_t.
size_t shape_bytes(const Shape& shape, DType dtype);
std::string shape_str(const Shape& shape);  // "[128, 784]"

// Normalises a possibly negative axis against a rank; throws ValueError naming the axis and rank.
int normalize_axis(int axis, int rank);

// Numpy-style broadcast of two shapes; throws ShapeError naming both shapes when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b);

}  // namespace tl
