// The output directory of a run: its lock, the earlier run it may hold, and the config of a resumed run.
#include "apps/trainer/run_directory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "apps/trainer/checkpoint.h"
#include "apps/trainer/config.h"
#include "apps/trainer/config_section.h"
#include "core/base/error.h"

namespace tl::train {
namespace {

using nlohmann::json;

// The files that make a directory hold a run.
const std::vector<std::string> kRunFiles{"log.jsonl", "checkpoint.tlc", "best.tlc", "report.json", "report.md"};

// The files of kRunFiles present in `directory`.
std::vector<std::string> run_files_in(const std::string& directory) {
  std::vector<std::string> found;
  for (const std::string& name : kRunFiles) {
    std::error_code error;  // a file that cannot be examined counts as absent
    if (std::filesystem::exists(std::filesystem::symlink_status(directory + "/" + name, error))) found.push_back(name);
  }
  return found;
}

}  // namespace

std::string directory_of(const std::string& file) {
  const std::filesystem::path parent = std::filesystem::path(file).parent_path();
  return parent.empty() ? "." : parent.string();
}

const std::vector<std::string>& resumable_keys() {
  static const std::vector<std::string> keys{"checkpoint_every", "epochs", "max_steps", "output", "progress"};
  return keys;
}

json resume_document(const std::string& checkpoint, const std::vector<std::string>& overrides) {
  for (const std::string& assignment : overrides) {
    const std::string key = assignment.substr(0, assignment.find('='));
    TL_CHECK_AS(ValueError, std::count(resumable_keys().begin(), resumable_keys().end(), key) != 0, "'", key,
                "' cannot change when resuming: it would change the run's trajectory (allowed: ",
                joined(resumable_keys()), ")");
  }
  const json meta = read_checkpoint(checkpoint).meta;
  TL_CHECK_AS(ValueError, meta.contains("config") && meta.at("config").is_object(), "checkpoint '", checkpoint,
              "' holds no training config (it was not written by tl_train)");
  json document = meta.at("config");
  document["output"] = directory_of(checkpoint);
  for (const std::string& assignment : overrides) apply_override(document, assignment);
  return document;
}

RunLock::RunLock(const std::string& directory) {
  const std::string path = directory + "/run.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  TL_CHECK(fd_ >= 0, "cannot create the lock '", path, "': ", std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) {
    // The owner's process id (up to its newline), for the message of a second run; failing to record it costs only
    // that.
    const std::string pid = std::to_string(::getpid()) + "\n";
    const ssize_t recorded = ::pwrite(fd_, pid.data(), pid.size(), 0);
    static_cast<void>(recorded);
    return;
  }
  const int error = errno;
  char owner[32] = {};
  if (::pread(fd_, owner, sizeof(owner) - 1, 0) < 0) owner[0] = '\0';
  ::close(fd_);
  TL_CHECK(error == EWOULDBLOCK, "cannot lock '", path, "': ", std::strerror(error));
  TL_FAIL(Error, "output directory '", directory, "' is in use by another run (process ",
          std::string(owner, std::strcspn(owner, "\n")), " holds the lock '", path,
          "'); wait for it to end, or choose another output=DIR");
}

RunLock::~RunLock() {
  ::close(fd_);
}

std::unique_ptr<RunLock> claim_output_directory(const std::string& output, EarlierRun earlier, bool continues_in_place,
                                                const std::string& checkpoint) {
  std::filesystem::create_directories(output);
  auto lock = std::make_unique<RunLock>(output);
  const std::vector<std::string> found = run_files_in(output);
  if (found.empty() || continues_in_place) return lock;
  const bool resumable = std::count(found.begin(), found.end(), "checkpoint.tlc") != 0;
  TL_CHECK_AS(ValueError, earlier == EarlierRun::Replace, "output directory '", output, "' holds an earlier run (",
              joined(found), "): ", resumable ? "resume it with --resume " + checkpoint + ", " : "",
              "choose another output=DIR, or replace it with --force");
  std::fprintf(stderr, "replacing the earlier run in '%s' (%s)\n", output.c_str(), joined(found).c_str());
  for (const std::string& name : found) std::filesystem::remove(output + "/" + name);
  return lock;
}

}  // namespace tl::train
