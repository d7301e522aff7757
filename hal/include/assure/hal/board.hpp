#pragma once

#include <memory>
#include <string>
#include <vector>

#include "assure/hal/clock.hpp"
#include "assure/hal/io.hpp"
#include "assure/hal/watchdog.hpp"

namespace assure::hal {

// What a board driver needs to open a board: its lines and its watchdog.
struct BoardSpec {
  std::string name;
  std::string driver;  // "sim", later "gpiod"
  std::vector<LineSpec> inputs;
  std::vector<LineSpec> outputs;
  std::string watchdog_device;  // "/dev/watchdog", or "sim"
};

// An opened board: the firmware owns it and sees nothing but these interfaces.
struct Board {
  std::string name;
  std::unique_ptr<DigitalInputs> inputs;
  std::unique_ptr<DigitalOutputs> outputs;
  std::unique_ptr<Watchdog> watchdog;
  std::shared_ptr<Clock> clock;
};

}  // namespace assure::hal
