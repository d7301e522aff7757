#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "assure/hal/board.hpp"

namespace assure::drivers {

struct BoardOptions {
  std::filesystem::path sim_scenario;  // sim driver only: a scenario file to play from start
  std::string consumer = "assure-edged";  // gpiod: who holds the lines, as gpioinfo shows it
};

// Opens the board with the driver its spec names. Unknown drivers, bad lines and unreadable
// scenario files are errors that say which.
Result<hal::Board> open_board(const hal::BoardSpec& spec, const BoardOptions& options,
                              std::shared_ptr<hal::Clock> clock);

}  // namespace assure::drivers
