#pragma once
// systemd's view of the daemon (sd_notify): READY=1 once it runs, STATUS= for `systemctl status`,
// WATCHDOG=1 kicks when the unit sets WatchdogSec=, STOPPING=1 on the way out. Run any other way
// (no NOTIFY_SOCKET), every call does nothing.

#include <chrono>
#include <optional>
#include <string_view>

namespace assure::drivers {

class ServiceManager {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID as systemd sets them.
  static ServiceManager from_environment();

  bool present() const { return present_; }
  // How often systemd wants a kick at the latest (WatchdogSec); nullopt when it wants none.
  std::optional<std::chrono::microseconds> watchdog_timeout() const { return watchdog_; }

  void ready(std::string_view status) const;
  void status(std::string_view status) const;
  void kick() const;
  void stopping() const;

 private:
  bool present_ = false;
  std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace assure::drivers
