#include "assure/drivers/open_board.hpp"

#include <fmt/format.h>

#include "assure/drivers/sim_board.hpp"

namespace assure::drivers {

Result<SimBoard> make_sim_board(const hal::BoardSpec& spec, std::shared_ptr<hal::Clock> clock) {
  auto inputs = std::make_unique<SimInputs>(spec.inputs, clock);
  auto outputs = std::make_unique<SimOutputs>(spec.outputs, clock);
  auto watchdog = std::make_unique<SimWatchdog>(clock);
  SimBoard sim;
  sim.inputs = inputs.get();
  sim.outputs = outputs.get();
  sim.watchdog = watchdog.get();
  sim.board = hal::Board{spec.name, std::move(inputs), std::move(outputs), std::move(watchdog),
                         std::move(clock)};
  return sim;
}

Result<hal::Board> open_board(const hal::BoardSpec& spec, const BoardOptions& options,
                              std::shared_ptr<hal::Clock> clock) {
  if (spec.driver != "sim") {
    return fail(Errc::unsupported,
                fmt::format("board '{}': driver '{}' is not available in this build (known: sim)",
                            spec.name, spec.driver));
  }
  auto sim = make_sim_board(spec, std::move(clock));
  if (!sim) return std::unexpected(sim.error());
  if (!options.sim_scenario.empty()) {
    auto steps = load_scenario(options.sim_scenario, sim->inputs->names());
    if (!steps) return std::unexpected(steps.error());
    sim->inputs->play(std::move(*steps));
  }
  return std::move(sim->board);
}

}  // namespace assure::drivers
