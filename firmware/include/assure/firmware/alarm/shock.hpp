#pragma once
// A window shock (vibration) sensor: its contact opens for a moment at each knock. A lorry passing
// or a door slammed gives one light knock, someone working at a window gives several, a brick or a
// hammer gives one heavy blow that holds the contact open for longer. So an attack is either
// `pulses` knocks within `window`, or one pulse at least `gross` long (the "gross attack"). Times
// are the edges' own timestamps (the kernel's, on real hardware), not the time they were read.

#include <chrono>
#include <deque>
#include <optional>
#include <string>

namespace assure::alarm {

struct ShockSettings {
  unsigned pulses = 0;                 // knocks that make an attack ...
  std::chrono::milliseconds window{};  // ... within this time
  std::chrono::milliseconds gross{};   // one pulse this long is an attack; 0: off
};

class ShockCounter {
 public:
  explicit ShockCounter(ShockSettings settings) : settings_(settings) {}

  // An edge of the sensor's line. Returns why, when this edge completes an attack (the count then
  // starts again); nullopt otherwise.
  std::optional<std::string> edge(bool active, std::chrono::nanoseconds at);
  std::size_t recent_pulses() const { return pulses_.size(); }

 private:
  ShockSettings settings_;
  std::deque<std::chrono::nanoseconds> pulses_;  // starts of the knocks inside the window
  std::optional<std::chrono::nanoseconds> open_since_;
};

}  // namespace assure::alarm
