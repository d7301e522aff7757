#pragma once
// The board's hardware watchdog through the Linux watchdog device (/dev/watchdog): the timeout is
// set when it starts, each kick is WDIOC_KEEPALIVE, and a deliberate stop writes the magic 'V'
// before closing so the kernel disarms it. If the daemon dies or hangs, nobody kicks and the board
// resets.

#include <string>

#include "assure/hal/watchdog.hpp"

namespace assure::drivers {

class LinuxWatchdog final : public hal::Watchdog {
 public:
  explicit LinuxWatchdog(std::string device) : device_(std::move(device)) {}
  ~LinuxWatchdog() override;
  LinuxWatchdog(const LinuxWatchdog&) = delete;
  LinuxWatchdog& operator=(const LinuxWatchdog&) = delete;

  // Opens the device and sets the timeout. Errors name the device: missing, held by another
  // program (systemd's RuntimeWatchdogSec holds it too), or not a watchdog at all.
  Result<void> start(std::chrono::seconds timeout) override;
  Result<void> kick() override;
  Result<void> stop() override;
  std::string describe() const override { return device_; }

 private:
  std::string device_;
  int fd_ = -1;
};

}  // namespace assure::drivers
