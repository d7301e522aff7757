#pragma once

#include <chrono>

namespace assure::hal {

// Two clocks, kept apart on purpose: monotonic time orders events and measures intervals (input
// edges carry it, as the kernel stamps GPIO events with CLOCK_MONOTONIC); UTC time goes into
// evidence and messages for people and courts.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::nanoseconds monotonic() const = 0;
  virtual std::chrono::system_clock::time_point utc() const = 0;
};

}  // namespace assure::hal
