#include "assure/drivers/system_clock.hpp"

#include <ctime>

namespace assure::drivers {

std::chrono::nanoseconds SystemClock::monotonic() const {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec};
}

std::chrono::system_clock::time_point SystemClock::utc() const {
  return std::chrono::system_clock::now();
}

}  // namespace assure::drivers
