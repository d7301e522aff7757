#include <fmt/format.h>

#include <algorithm>

#include "assure/drivers/sim_board.hpp"

namespace assure::drivers {

SimInputs::SimInputs(std::vector<hal::LineSpec> lines, std::shared_ptr<hal::Clock> clock)
    : lines_(std::move(lines)), clock_(std::move(clock)) {
  for (const auto& line : lines_) {
    levels_.emplace(line.name, false);
    debouncer_.add_line(line.name, line.debounce);
  }
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
    debouncer_.raw(name, active, clock_->monotonic());
    ++changes_;
  }
  changed_.notify_all();
  return {};
}

Result<std::vector<hal::InputEvent>> SimInputs::wait(std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mutex_);
  while (true) {
    auto settled = debouncer_.settle(clock_->monotonic());
    if (!settled.empty() || interrupted_) {
      interrupted_ = false;
      return settled;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= end) return settled;
    auto until = end;
    if (const auto due = debouncer_.next_deadline()) {
      // The board clock's time to the next settle, waited in real time.
      const auto left = std::chrono::duration_cast<std::chrono::steady_clock::duration>(*due - clock_->monotonic());
      until = std::min(until, now + std::max(left, std::chrono::steady_clock::duration{std::chrono::milliseconds{1}}));
    }
    const std::uint64_t seen = changes_;
    changed_.wait_until(lock, until, [&] { return interrupted_ || changes_ != seen; });
  }
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
