#include "assure/drivers/open_board.hpp"

#include <fmt/format.h>

#include "assure/drivers/gpiod_board.hpp"
#include "assure/drivers/linux_watchdog.hpp"
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

namespace {

std::unique_ptr<hal::Watchdog> make_watchdog(const hal::BoardSpec& spec, std::shared_ptr<hal::Clock> clock) {
  if (spec.watchdog_device == "sim") return std::make_unique<SimWatchdog>(std::move(clock));
  return std::make_unique<LinuxWatchdog>(spec.watchdog_device);
}

}  // namespace

Result<hal::Board> open_board(const hal::BoardSpec& spec, const BoardOptions& options,
                              std::shared_ptr<hal::Clock> clock) {
  if (spec.driver == "gpiod") {
    if (!options.sim_scenario.empty()) {
      return fail(Errc::invalid_argument, fmt::format("board '{}': sim.scenario plays only on the sim driver, not gpiod",
                                                      spec.name));
    }
    auto inputs = open_gpiod_inputs(spec.inputs, clock, options.consumer);
    if (!inputs) return fail(inputs.error().code, fmt::format("board '{}': {}", spec.name, inputs.error().message));
    auto outputs = open_gpiod_outputs(spec.outputs, options.consumer);
    if (!outputs) return fail(outputs.error().code, fmt::format("board '{}': {}", spec.name, outputs.error().message));
    auto watchdog = make_watchdog(spec, clock);
    return hal::Board{spec.name, std::move(*inputs), std::move(*outputs), std::move(watchdog), std::move(clock)};
  }
  if (spec.driver != "sim") {
    return fail(Errc::unsupported,
                fmt::format("board '{}': driver '{}' is not known (known: sim, gpiod)", spec.name, spec.driver));
  }
  auto sim = make_sim_board(spec, clock);
  if (!sim) return std::unexpected(sim.error());
  if (spec.watchdog_device != "sim") sim->board.watchdog = make_watchdog(spec, std::move(clock));
  if (!options.sim_scenario.empty()) {
    auto steps = load_scenario(options.sim_scenario, sim->inputs->names());
    if (!steps) return std::unexpected(steps.error());
    sim->inputs->play(std::move(*steps));
  }
  return std::move(sim->board);
}

}  // namespace assure::drivers
