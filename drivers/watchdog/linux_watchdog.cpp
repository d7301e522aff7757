#include "assure/drivers/linux_watchdog.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/watchdog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace assure::drivers {

LinuxWatchdog::~LinuxWatchdog() {
  // Destroyed without stop(): the descriptor closes without the magic character, so a watchdog
  // that cannot be stopped (nowayout) keeps counting and resets the board, as it should.
  if (fd_ >= 0) ::close(fd_);
}

Result<void> LinuxWatchdog::start(std::chrono::seconds timeout) {
  if (timeout.count() <= 0) return fail(Errc::invalid_argument, "watchdog timeout must be positive");
  if (fd_ >= 0) return fail(Errc::busy, fmt::format("watchdog {} is already started", device_));
  const int fd = ::open(device_.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) {
      return fail(Errc::not_found, fmt::format("watchdog {} does not exist (is the watchdog driver loaded? on a Pi: "
                                               "dtparam=watchdog=on)", device_));
    }
    if (error == EBUSY) {
      return fail(Errc::busy, fmt::format("watchdog {} is held by another program (systemd's RuntimeWatchdogSec, "
                                          "or a watchdog daemon)", device_));
    }
    return fail(Errc::io, fmt::format("watchdog {} cannot be opened: {}", device_, std::strerror(error)));
  }
  int seconds = static_cast<int>(timeout.count());
  if (::ioctl(fd, WDIOC_SETTIMEOUT, &seconds) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == ENOTTY) {
      return fail(Errc::invalid_argument, fmt::format("{} is not a watchdog device ({})", device_, std::strerror(error)));
    }
    return fail(Errc::io, fmt::format("watchdog {}: cannot set a {} s timeout: {}", device_, timeout.count(),
                                      std::strerror(error)));
  }
  fd_ = fd;
  return {};
}

Result<void> LinuxWatchdog::kick() {
  if (fd_ < 0) return fail(Errc::invalid_argument, fmt::format("watchdog {} kicked before it was started", device_));
  int dummy = 0;
  if (::ioctl(fd_, WDIOC_KEEPALIVE, &dummy) != 0) {
    return fail(Errc::io, fmt::format("watchdog {}: keepalive failed: {}", device_, std::strerror(errno)));
  }
  return {};
}

Result<void> LinuxWatchdog::stop() {
  if (fd_ < 0) return {};
  const bool disarmed = ::write(fd_, "V", 1) == 1;  // the magic close
  const int error = errno;
  ::close(fd_);
  fd_ = -1;
  if (!disarmed) return fail(Errc::io, fmt::format("watchdog {}: magic close failed: {}", device_, std::strerror(error)));
  return {};
}

}  // namespace assure::drivers
