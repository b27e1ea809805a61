// A run's claim on its output directory: a lock against a concurrent run, the refusal (or, when asked, the
// replacement) of an earlier run's files, and where a resumed run writes and what it may change.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace tl::train {

// What a fresh run does with an output directory that holds an earlier run (its log, checkpoint or report).
enum class EarlierRun {
  Refuse,   // stop with an error that names the directory and the ways out (resume, another output, --force)
  Replace,  // delete the earlier run's files, saying so on stderr (tl_train --force)
};

// The keys a resumed run may override: those that keep its trajectory.
const std::vector<std::string>& resumable_keys();

// The config of a run resumed from `checkpoint`: the one stored in it, writing beside the checkpoint, with
// `overrides` ("key.path=value" of resumable_keys() only; output=DIR writes elsewhere) applied.
nlohmann::json resume_document(const std::string& checkpoint, const std::vector<std::string>& overrides);

// An exclusive lock (flock) on DIRECTORY/run.lock, which holds the owner's process id, for as long as this object
// lives: one run per output directory. The lock file itself stays.
class RunLock {
 public:
  // Throws naming the lock and its owner when another run holds it.
  explicit RunLock(const std::string& directory);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

// The directory of a file path ("." for a bare name).
std::string directory_of(const std::string& file);

// Locks `output` against a concurrent run, then makes sure it holds no other run: a fresh run refuses an earlier
// run's files (or deletes them under EarlierRun::Replace, saying so); a resumed run continues in its checkpoint's
// directory (continues_in_place) or starts in one that holds no run. `checkpoint` is named in the refusal as the
// way to resume. Returns the lock, held for the run's life.
std::unique_ptr<RunLock> claim_output_directory(const std::string& output, EarlierRun earlier, bool continues_in_place,
                                                const std::string& checkpoint);

}  // namespace tl::train
