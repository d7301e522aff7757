#pragma once
// Digital inputs and outputs by logical name. The alarm logic sees only names such as "panic" or
// "light_porch"; which chip and line they are is board data (board/<name>/board.toml).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "assure/base/error.hpp"

namespace assure::hal {

enum class Bias { as_is, disabled, pull_up, pull_down };

// One wired line, as a board file describes it.
struct LineSpec {
  std::string name;                 // logical name
  std::string chip;                 // "gpiochip0" on a Pi, "sim0" on the simulated board
  std::optional<unsigned> offset;   // the line on the chip, by offset ...
  std::string line_name;            // ... or by the name the chip gives it (exactly one is set)
  bool active_low = false;          // true: the line reads low when the input is active
  Bias bias = Bias::as_is;
  std::chrono::milliseconds debounce{0};
  bool initial_active = false;      // outputs: state at start
};

// An input changed state. `active` is the logical level (active_low already applied).
struct InputEvent {
  std::string name;
  bool active = false;
  std::chrono::nanoseconds timestamp{0};  // monotonic, as stamped by the driver or kernel
};

class DigitalInputs {
 public:
  virtual ~DigitalInputs() = default;
  virtual std::vector<std::string> names() const = 0;
  virtual Result<bool> read(std::string_view name) = 0;
  // Waits up to `timeout` for edges on any input and returns those that came, oldest first
  // (an empty vector on timeout or after interrupt()).
  virtual Result<std::vector<InputEvent>> wait(std::chrono::milliseconds timeout) = 0;
  // Wakes a wait() in progress, so the thread reading inputs can stop promptly.
  virtual void interrupt() = 0;
};

class DigitalOutputs {
 public:
  virtual ~DigitalOutputs() = default;
  virtual std::vector<std::string> names() const = 0;
  virtual Result<void> set(std::string_view name, bool active) = 0;
  virtual Result<bool> get(std::string_view name) const = 0;
};

}  // namespace assure::hal
