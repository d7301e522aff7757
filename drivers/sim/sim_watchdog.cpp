#include "assure/drivers/sim_board.hpp"

namespace assure::drivers {

SimWatchdog::SimWatchdog(std::shared_ptr<hal::Clock> clock) : clock_(std::move(clock)) {}

Result<void> SimWatchdog::start(std::chrono::seconds timeout) {
  if (timeout.count() <= 0) return fail(Errc::invalid_argument, "watchdog timeout must be positive");
  std::lock_guard lock(mutex_);
  running_ = true;
  timeout_ = timeout;
  last_kick_ = clock_->monotonic();
  return {};
}

Result<void> SimWatchdog::kick() {
  std::lock_guard lock(mutex_);
  if (!running_) return fail(Errc::invalid_argument, "watchdog kicked before it was started");
  ++kicks_;
  last_kick_ = clock_->monotonic();
  return {};
}

Result<void> SimWatchdog::stop() {
  std::lock_guard lock(mutex_);
  running_ = false;
  return {};
}

bool SimWatchdog::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

unsigned SimWatchdog::kicks() const {
  std::lock_guard lock(mutex_);
  return kicks_;
}

bool SimWatchdog::expired() const {
  std::lock_guard lock(mutex_);
  return running_ && clock_->monotonic() - last_kick_ > timeout_;
}

}  // namespace assure::drivers
