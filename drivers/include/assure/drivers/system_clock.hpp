#pragma once

#include "assure/hal/clock.hpp"

namespace assure::drivers {

// CLOCK_MONOTONIC (the clock the kernel stamps GPIO edge events with) and the wall clock.
class SystemClock final : public hal::Clock {
 public:
  std::chrono::nanoseconds monotonic() const override;
  std::chrono::system_clock::time_point utc() const override;
};

}  // namespace assure::drivers
