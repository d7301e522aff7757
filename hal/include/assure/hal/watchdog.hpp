#pragma once

#include <chrono>
#include <string>

#include "assure/base/error.hpp"

namespace assure::hal {

// A hardware (or service-manager) watchdog: once started it resets the device unless kicked
// within the timeout, so a hung daemon cannot leave a victim's home unprotected.
class Watchdog {
 public:
  virtual ~Watchdog() = default;
  virtual Result<void> start(std::chrono::seconds timeout) = 0;
  virtual Result<void> kick() = 0;
  // A deliberate stop (clean shutdown); a crash never calls this, so the reset still comes.
  virtual Result<void> stop() = 0;
  virtual std::string describe() const = 0;
};

}  // namespace assure::hal
