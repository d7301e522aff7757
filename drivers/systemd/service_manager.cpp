#include "assure/drivers/service_manager.hpp"

#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <string>

namespace assure::drivers {

ServiceManager ServiceManager::from_environment() {
  ServiceManager manager;
  const char* socket = std::getenv("NOTIFY_SOCKET");
  manager.present_ = socket != nullptr && *socket != '\0';
  std::uint64_t usec = 0;
  if (manager.present_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    manager.watchdog_ = std::chrono::microseconds{usec};
  }
  return manager;
}

void ServiceManager::ready(std::string_view status) const {
  if (present_) sd_notify(0, ("READY=1\nSTATUS=" + std::string(status)).c_str());
}

void ServiceManager::status(std::string_view status) const {
  if (present_) sd_notify(0, ("STATUS=" + std::string(status)).c_str());
}

void ServiceManager::kick() const {
  if (present_ && watchdog_) sd_notify(0, "WATCHDOG=1");
}

void ServiceManager::stopping() const {
  if (present_) sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

}  // namespace assure::drivers
