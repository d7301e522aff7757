#include "assure/firmware/alarm/shock.hpp"

#include <fmt/format.h>

namespace assure::alarm {

std::optional<std::string> ShockCounter::edge(bool active, std::chrono::nanoseconds at) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  if (active) {
    if (open_since_) return std::nullopt;  // a repeated level, no new knock
    open_since_ = at;
    while (!pulses_.empty() && at - pulses_.front() > settings_.window) pulses_.pop_front();
    pulses_.push_back(at);
    if (pulses_.size() >= settings_.pulses) {
      const auto span = duration_cast<milliseconds>(at - pulses_.front());
      const std::size_t count = pulses_.size();
      pulses_.clear();
      return fmt::format("{} knocks in {:.1f} s", count, static_cast<double>(span.count()) / 1000.0);
    }
    return std::nullopt;
  }
  if (!open_since_) return std::nullopt;
  const auto held = at - *open_since_;
  open_since_.reset();
  if (settings_.gross.count() > 0 && held >= settings_.gross) {
    pulses_.clear();
    return fmt::format("gross attack: one blow held the contact open {} ms", duration_cast<milliseconds>(held).count());
  }
  return std::nullopt;
}

}  // namespace assure::alarm
