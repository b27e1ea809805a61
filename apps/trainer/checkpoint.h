// Checkpoint files: a JSON header (step, config, anything the trainer needs) and named float32 tensors, closed
// by a CRC-32 of everything before it. Written atomically: a temporary file beside the target is written,
// flushed to disk (fsync), then renamed over the target, and the directory is synced, so a crash at any moment
// leaves either the old checkpoint or the new one, never a torn file. The CRC catches accidents only: the reader
// range-checks every field of the header, so a crafted file with a valid CRC is refused as well.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace tl::train {

struct Checkpoint {
  nlohmann::json meta;
  std::vector<std::pair<std::string, Tensor>> tensors;  // any device when writing; CPU when read back
};

// Writes `bytes` to `path` as above (temporary file, fsync, rename, directory sync). On any failure (a full disk,
// a missing permission) the temporary file is removed, `path` is left as it was, and the error names both.
void write_file_atomically(const std::string& path, const std::string& bytes);

void write_checkpoint_atomically(const std::string& path, const Checkpoint& checkpoint);

// Throws ValueError naming the file when it is missing, not a checkpoint, truncated or fails its checksum, or when
// its header is malformed: a field of the wrong type, a shape with a negative or overflowing size, tensors that
// overlap, leave gaps or run past the end, or a tensor name given twice.
Checkpoint read_checkpoint(const std::string& path);

// read_checkpoint on bytes in memory (`name` labels the errors); the entry point of the checkpoint fuzzer.
Checkpoint parse_checkpoint(const unsigned char* data, size_t size, const std::string& name);

}  // namespace tl::train
