#pragma once
// SIGINT and SIGTERM taken by one thread with sigwait, so no handler ever runs inside library
// code. Construct it before any other thread: the mask is inherited by threads created after.

#include <functional>
#include <thread>

namespace assure::app {

class StopSignals {
 public:
  explicit StopSignals(std::function<void(int signal_number)> on_signal);
  ~StopSignals();  // wakes the waiting thread if no signal came, and joins it
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  std::thread waiter_;
};

}  // namespace assure::app
