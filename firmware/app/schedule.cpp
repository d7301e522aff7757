#include "assure/firmware/schedule.hpp"

#include <algorithm>

namespace assure::app {

Schedule::Schedule(Time start, std::chrono::milliseconds heartbeat_every,
                   std::optional<std::chrono::milliseconds> kick_every)
    : heartbeat_every_(heartbeat_every),
      kick_every_(kick_every),
      next_heartbeat_(start + heartbeat_every),
      next_kick_(start) {}

std::optional<std::chrono::milliseconds> Schedule::kick_interval(std::chrono::seconds board_watchdog,
                                                                 std::optional<std::chrono::microseconds> systemd) {
  if (board_watchdog.count() <= 0 && !systemd) return std::nullopt;
  auto every = std::chrono::milliseconds{std::chrono::hours{1}};
  if (board_watchdog.count() > 0) every = std::chrono::duration_cast<std::chrono::milliseconds>(board_watchdog) / 3;
  if (systemd) every = std::min(every, std::chrono::duration_cast<std::chrono::milliseconds>(*systemd) / 3);
  return std::max(every, std::chrono::milliseconds{100});
}

Schedule::Time Schedule::wake_at(std::optional<Time> site_deadline) const {
  Time wake = next_heartbeat_;
  if (kick_every_) wake = std::min(wake, next_kick_);
  if (site_deadline) wake = std::min(wake, *site_deadline);
  return wake;
}

Schedule::Due Schedule::due(Time now) {
  Due due;
  if (now >= next_heartbeat_) {
    due.heartbeat = true;
    next_heartbeat_ = now + heartbeat_every_;
  }
  if (kick_every_ && now >= next_kick_) {
    due.kick = true;
    next_kick_ = now + *kick_every_;
  }
  return due;
}

}  // namespace assure::app
