#pragma once
// The main loop's own timers, on the daemon's hal::Clock: the heartbeat, and the watchdog kicks
// (the board's watchdog and systemd's, kicked together at a third of the shorter timeout). Pure:
// the loop asks when to wake and what is due, so the timing is tested on the sim clock.

#include <chrono>
#include <optional>

namespace assure::app {

class Schedule {
 public:
  using Time = std::chrono::steady_clock::time_point;
  // kick_every: nullopt when there is no watchdog to kick. The first kick is due at once.
  Schedule(Time start, std::chrono::milliseconds heartbeat_every, std::optional<std::chrono::milliseconds> kick_every);

  // A third of the shorter of the board's watchdog timeout (0: none) and systemd's, never under
  // 100 ms; nullopt when neither is used.
  static std::optional<std::chrono::milliseconds> kick_interval(std::chrono::seconds board_watchdog,
                                                                std::optional<std::chrono::microseconds> systemd);

  // When the loop must wake at the latest: the next heartbeat or kick, or the site's deadline.
  Time wake_at(std::optional<Time> site_deadline) const;

  struct Due {
    bool heartbeat = false;
    bool kick = false;
  };
  Due due(Time now);  // what is due at `now`; each due timer starts again from `now`

 private:
  std::chrono::milliseconds heartbeat_every_;
  std::optional<std::chrono::milliseconds> kick_every_;
  Time next_heartbeat_;
  Time next_kick_;
};

}  // namespace assure::app
