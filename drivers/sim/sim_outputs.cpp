#include <fmt/format.h>

#include "assure/drivers/sim_board.hpp"

namespace assure::drivers {

SimOutputs::SimOutputs(std::vector<hal::LineSpec> lines, std::shared_ptr<hal::Clock> clock)
    : clock_(std::move(clock)) {
  for (const auto& line : lines) levels_.emplace(line.name, line.initial_active);
}

std::vector<std::string> SimOutputs::names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, level] : levels_) out.push_back(name);
  return out;
}

Result<void> SimOutputs::set(std::string_view name, bool active) {
  std::function<void(const OutputChange&)> observer;
  OutputChange change;
  {
    std::lock_guard lock(mutex_);
    auto it = levels_.find(name);
    if (it == levels_.end()) {
      return fail(Errc::not_found, fmt::format("sim board has no output '{}'", name));
    }
    if (it->second == active) return {};
    it->second = active;
    change = OutputChange{it->first, active, clock_->monotonic()};
    history_.push_back(change);
    observer = observer_;
  }
  if (observer) observer(change);
  return {};
}

Result<bool> SimOutputs::get(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = levels_.find(name);
  if (it == levels_.end()) return fail(Errc::not_found, fmt::format("sim board has no output '{}'", name));
  return it->second;
}

std::vector<OutputChange> SimOutputs::history() const {
  std::lock_guard lock(mutex_);
  return history_;
}

void SimOutputs::on_change(std::function<void(const OutputChange&)> observer) {
  std::lock_guard lock(mutex_);
  observer_ = std::move(observer);
}

}  // namespace assure::drivers
