#include <fmt/format.h>

#include <algorithm>

#include "assure/drivers/sim_board.hpp"

namespace assure::drivers {

SimInputs::SimInputs(std::vector<hal::LineSpec> lines, std::shared_ptr<hal::Clock> clock)
    : lines_(std::move(lines)), clock_(std::move(clock)) {
  for (const auto& line : lines_) levels_.emplace(line.name, false);
}

SimInputs::~SimInputs() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (player_.joinable()) player_.join();
}

std::vector<std::string> SimInputs::names() const {
  std::vector<std::string> out;
  for (const auto& line : lines_) out.push_back(line.name);
  return out;
}

Result<bool> SimInputs::read(std::string_view name) {
  std::lock_guard lock(mutex_);
  auto it = levels_.find(name);
  if (it == levels_.end()) return fail(Errc::not_found, fmt::format("sim board has no input '{}'", name));
  return it->second;
}

Result<void> SimInputs::drive(std::string_view name, bool active) {
  {
    std::lock_guard lock(mutex_);
    auto it = levels_.find(name);
    if (it == levels_.end()) {
      return fail(Errc::not_found, fmt::format("sim board has no input '{}'", name));
    }
    if (it->second == active) return {};
    it->second = active;
    pending_.push_back(hal::InputEvent{it->first, active, clock_->monotonic()});
  }
  changed_.notify_all();
  return {};
}

Result<std::vector<hal::InputEvent>> SimInputs::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return !pending_.empty() || interrupted_; });
  interrupted_ = false;
  std::vector<hal::InputEvent> out(pending_.begin(), pending_.end());
  pending_.clear();
  return out;
}

void SimInputs::interrupt() {
  {
    std::lock_guard lock(mutex_);
    interrupted_ = true;
  }
  changed_.notify_all();
}

void SimInputs::play(std::vector<ScenarioStep> steps) {
  std::stable_sort(steps.begin(), steps.end(),
                   [](const auto& a, const auto& b) { return a.at < b.at; });
  if (player_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    player_.join();
    stopping_ = false;
  }
  player_ = std::thread([this, steps = std::move(steps)] {
    const auto start = std::chrono::steady_clock::now();
    for (const auto& step : steps) {
      {
        std::unique_lock lock(mutex_);
        if (changed_.wait_until(lock, start + step.at, [&] { return stopping_; })) return;
      }
      // Steps name inputs checked when the scenario was loaded, so drive() cannot fail here.
      (void)drive(step.input, step.active);
    }
  });
}

}  // namespace assure::drivers
