// Errors: every failure is an exception carrying the source location and a message a user can act on.
// Kinds let callers and tests tell a shape problem from a device problem, an allocation failure or a
// CUDA library failure.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace tl {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class ShapeError : public Error {
  using Error::Error;
};  // incompatible or invalid shapes
class DeviceError : public Error {
  using Error::Error;
};  // device mismatch or device unavailable
class OutOfMemoryError : public Error {
  using Error::Error;
};  // an allocation could not be served
class CudaError : public Error {
  using Error::Error;
};  // CUDA runtime / cuBLAS / cuDNN status
class ValueError : public Error {
  using Error::Error;
};  // a bad argument value
class LimitError : public Error {
  using Error::Error;
};  // a caller-set guard (time, size) was hit

namespace detail {

// "file:line: message", with the path shortened to the part inside the source tree.
std::string located_message(const char* file, int line, const std::string& message);

template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

template <class Kind, class... Parts>
[[noreturn]] void fail(const char* file, int line, const Parts&... parts) {
  throw Kind(located_message(file, line, concat(parts...)));
}

}  // namespace detail
}  // namespace tl

// TL_CHECK(cond, parts...): throws tl::Error with the concatenated parts when cond is false.
#define TL_CHECK(cond, ...)                                                        \
  do {                                                                             \
    if (!(cond)) ::tl::detail::fail<::tl::Error>(__FILE__, __LINE__, __VA_ARGS__); \
  } while (0)

// TL_CHECK_AS(Kind, cond, parts...): the same with a specific error kind (ShapeError, DeviceError, ...).
#define TL_CHECK_AS(Kind, cond, ...)                                              \
  do {                                                                            \
    if (!(cond)) ::tl::detail::fail<::tl::Kind>(__FILE__, __LINE__, __VA_ARGS__); \
  } while (0)

#define TL_FAIL(Kind, ...) ::tl::detail::fail<::tl::Kind>(__FILE__, __LINE__, __VA_ARGS__)
