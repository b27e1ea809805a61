// Formats error locations relative to the source tree so messages stay short and stable across machines.
#include "core/base/error.h"

#include <cstring>

namespace tl::detail {

std::string located_message(const char* file, int line, const std::string& message) {
  const char* shown = file;
  const size_t root_len = std::strlen(TL_SOURCE_DIR);
  if (std::strncmp(file, TL_SOURCE_DIR, root_len) == 0) {
    shown = file + root_len;
    if (*shown == '/') ++shown;
  }
  return concat(shown, ":", line, ": ", message);
}

}  // namespace tl::detail
