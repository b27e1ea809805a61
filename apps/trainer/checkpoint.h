// Checkpoint files: a JSON header (step, config, anything the trainer needs) and named float32 tensors, closed
// by a CRC-32 of everything before it. Written atomically: a temporary file beside the target is written,
// flushed to disk (fsync), then renamed over the target, and the directory is synced, so a crash at any moment
// leaves either the old checkpoint or the new one, never a torn file.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace tl::train {

struct Checkpoint {
  nlohmann::json meta;
  std::vector<std::pair<std::string, Tensor>> tensors;  // any device when writing; CPU when read back
};

void write_checkpoint_atomically(const std::string& path, const Checkpoint& checkpoint);

// Throws ValueError naming the file when it is missing, not a checkpoint, truncated or fails its checksum.
Checkpoint read_checkpoint(const std::string& path);

}  // namespace tl::train
