#include "assure/drivers/debounce.hpp"

#include <algorithm>

namespace assure::drivers {

void Debouncer::add_line(const std::string& name, std::chrono::milliseconds debounce, bool level) {
  lines_[name] = Line{debounce, level, level, Time{0}};
}

bool Debouncer::raw(std::string_view name, bool level, Time at) {
  auto it = lines_.find(name);
  if (it == lines_.end()) return false;
  Line& line = it->second;
  if (line.level == level) return true;
  line.level = level;
  line.since = at;
  if (line.debounce.count() == 0) {
    line.reported = level;
    ready_.push_back(hal::InputEvent{it->first, level, at});
  }
  return true;
}

std::vector<hal::InputEvent> Debouncer::settle(Time now) {
  std::vector<hal::InputEvent> out = std::move(ready_);
  ready_.clear();
  for (auto& [name, line] : lines_) {
    if (line.level != line.reported && now - line.since >= line.debounce) {
      line.reported = line.level;
      out.push_back(hal::InputEvent{name, line.level, line.since});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.timestamp < b.timestamp; });
  return out;
}

std::optional<Debouncer::Time> Debouncer::next_deadline() const {
  std::optional<Time> next;
  for (const auto& [name, line] : lines_) {
    if (line.level == line.reported) continue;
    const Time due = line.since + line.debounce;
    if (!next || due < *next) next = due;
  }
  return next;
}

}  // namespace assure::drivers
