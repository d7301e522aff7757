#pragma once
// One daemon per state directory. Two on the same journal would publish different events under
// the same ids and interleave torn records, so the first takes an exclusive lock (flock) on
// <state>/lock, writes its pid there, and holds it until it exits (the kernel drops it even after
// SIGKILL). A second is refused, naming the holder.

#include <filesystem>
#include <memory>

#include "assure/base/error.hpp"

namespace assure::app {

class StateLock {
 public:
  static Result<std::unique_ptr<StateLock>> take(const std::filesystem::path& state_dir);
  ~StateLock();
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;

 private:
  explicit StateLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace assure::app
