// What the libFuzzer harnesses share: the readers take paths, so each input goes to a scratch file of this process;
// a reader may reject an input only with a tl::Error (a message naming the file), so any other exception, a
// sanitizer report or a broken invariant of what was read ends the run with the input saved.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "core/base/error.h"

namespace tl::fuzz {

// The path of this process's scratch file `name` in the temporary directory, cleared for writing a new file (not
// truncating the old one, which ext4 flushes to disk on closing: ten times slower) and removed when the process ends.
inline std::string scratch_path(const std::string& name) {
  struct Scratch {
    std::set<std::string> paths;
    ~Scratch() {
      for (const std::string& path : paths) std::remove(path.c_str());
    }
  };
  static Scratch scratch;
  const std::string file = "topolatent_fuzz_" + std::to_string(::getpid()) + "_" + name;
  const std::string& path = *scratch.paths.insert((std::filesystem::temp_directory_path() / file).string()).first;
  std::remove(path.c_str());
  return path;
}

// Writes `size` bytes to the scratch file `name` and returns its path.
inline std::string scratch_file(const uint8_t* data, size_t size, const std::string& name) {
  const std::string path = scratch_path(name);
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr || std::fwrite(data, 1, size, file) != size || std::fclose(file) != 0) {
    std::perror(path.c_str());
    std::abort();
  }
  return path;
}

// Aborts (a finding) when something the reader returned breaks what its contract promises.
inline void require(bool condition, const char* promise) {
  if (!condition) {
    std::fprintf(stderr, "broken promise: %s\n", promise);
    std::abort();
  }
}

// Runs `read`; a tl::Error is a rejection the reader may make, anything else escapes to libFuzzer.
template <class Read>
void read_or_reject(Read read) {
  try {
    read();
  } catch (const tl::Error&) {
  }
}

}  // namespace tl::fuzz
