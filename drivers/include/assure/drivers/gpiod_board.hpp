#pragma once
// Inputs and outputs on Linux GPIO character devices through libgpiod 1.6: lines by chip and
// offset or by line name, active-low and bias as the board file says, inputs read from the
// kernel's edge events (with its timestamps) and debounced in software. Every failure names the
// board line, the chip and what the kernel said: a missing chip, a line beyond the chip, a line
// name the chip does not have, a line another program holds.

#include <memory>
#include <string>
#include <vector>

#include "assure/hal/board.hpp"

namespace assure::drivers {

// Opens every input line for both-edge events. `consumer` is the name other programs see as
// holding the lines (gpioinfo shows it).
Result<std::unique_ptr<hal::DigitalInputs>> open_gpiod_inputs(const std::vector<hal::LineSpec>& lines,
                                                              std::shared_ptr<hal::Clock> clock,
                                                              const std::string& consumer);
// Opens every output line, each driven to its initial state at once.
Result<std::unique_ptr<hal::DigitalOutputs>> open_gpiod_outputs(const std::vector<hal::LineSpec>& lines,
                                                                const std::string& consumer);

}  // namespace assure::drivers
