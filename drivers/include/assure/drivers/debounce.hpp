#pragma once
// Software debounce for digital inputs, shared by the GPIO and simulated drivers: a change of level
// counts only once the line has held it for the line's debounce time, and is then reported with
// the time the level it settled at began. Contacts that chatter on a press give one edge; a glitch shorter than
// the debounce gives none. A line with no debounce reports every change as it comes.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "assure/hal/io.hpp"

namespace assure::drivers {

class Debouncer {
 public:
  using Time = std::chrono::nanoseconds;  // the board clock's monotonic time

  void add_line(const std::string& name, std::chrono::milliseconds debounce, bool level = false);
  // A raw change seen on the line at `at`. Returns false for a line it does not know.
  bool raw(std::string_view name, bool level, Time at);
  // Changes that have held long enough by `now`, oldest first.
  std::vector<hal::InputEvent> settle(Time now);
  // When the next pending change could settle; nullopt when none is pending.
  std::optional<Time> next_deadline() const;

 private:
  struct Line {
    std::chrono::nanoseconds debounce{0};
    bool reported = false;  // the level last reported
    bool level = false;     // the raw level now
    Time since{0};          // when the raw level last changed
  };
  std::map<std::string, Line, std::less<>> lines_;
  std::vector<hal::InputEvent> ready_;  // lines without debounce: every change, in order
};

}  // namespace assure::drivers
