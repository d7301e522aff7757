#include "assure/firmware/state_lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

namespace assure::app {
namespace fs = std::filesystem;

namespace {

// "pid 1234 (assure-edged)" from what the holder wrote, or what could be found.
std::string describe_holder(int fd) {
  char text[32] = {};
  const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  const long pid = n > 0 ? std::strtol(text, nullptr, 10) : 0;
  if (pid <= 0) return "a process that has not written its pid yet";
  std::ifstream comm(fmt::format("/proc/{}/comm", pid));
  std::string name;
  std::getline(comm, name);
  return name.empty() ? fmt::format("pid {}", pid) : fmt::format("pid {} ({})", pid, name);
}

}  // namespace

Result<std::unique_ptr<StateLock>> StateLock::take(const fs::path& state_dir) {
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec) return fail(Errc::io, fmt::format("cannot make the state directory {}: {}", state_dir.string(), ec.message()));
  const fs::path file = state_dir / "lock";
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EROFS) {
    fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);  // flock needs no write
    if (fd < 0) {
      // A read-only disk with no lock file on it: no second daemon can write there either.
      spdlog::warn("state: {} is on a read-only disk and cannot be locked", state_dir.string());
      return std::unique_ptr<StateLock>(new StateLock(-1));
    }
  }
  if (fd < 0) return fail(Errc::io, fmt::format("cannot open {}: {}", file.string(), std::strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string holder = error == EWOULDBLOCK ? describe_holder(fd) : std::string{};
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return fail(Errc::busy, fmt::format("the state directory {} is in use by another daemon, {}: only one may run "
                                          "on it",
                                          state_dir.string(), holder));
    }
    return fail(Errc::io, fmt::format("cannot lock {}: {}", file.string(), std::strerror(error)));
  }
  const std::string pid = fmt::format("{}\n", ::getpid());
  // Best effort on a read-only disk: the lock itself holds without the pid.
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    (void)0;
  }
  return std::unique_ptr<StateLock>(new StateLock(fd));
}

StateLock::~StateLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace assure::app
