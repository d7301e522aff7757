#pragma once
// The engineer's field tests, on the daemon's loop: what streams back to a shell while it runs, and
// the answers that come later. "test input" (each edge with its kernel time and a count of active
// edges, so a knock on a window is seen counted), "camera aim" (a reading a second: brightness,
// contrast, noise, focus, motion per zone), "camera snapshot" (the next analysed frame) and
// "mqtt test" (an event to the control room, which answers with a signed echo: the round trip).
// It only keeps who waits for what and words the lines; the loop feeds it and sends.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "assure/firmware/schedule.hpp"
#include "assure/firmware/shell/gatekeeper.hpp"
#include "assure/hal/io.hpp"
#include "assure/pipelines/aim.hpp"

namespace assure::app {

class FieldTests {
 public:
  using Send = std::function<void(std::uint64_t client, nlohmann::json line)>;
  using Forward = shell::Gatekeeper::Forward;
  static constexpr std::chrono::seconds kLinkTestTimeout{15};

  explicit FieldTests(Send send) : send_(std::move(send)) {}

  // "test input NAME" ("*": every input); the name is checked by the caller.
  void watch_input(const Forward& request, const std::string& input);
  void input_edge(const hal::InputEvent& edge, std::chrono::system_clock::time_point utc);

  // "camera aim": zone names in the detector's order (one name for the whole frame when none).
  void watch_aim(const Forward& request, std::vector<std::string> zones);
  bool aiming() const { return !aimers_.empty(); }
  void aim(const pipelines::AimReading& reading, std::chrono::system_clock::time_point utc);

  // "camera snapshot": answered with the next analysed frame.
  void wait_for_snapshot(const Forward& request) { snapshots_.push_back(request); }
  void snapshot(const std::string& event_id, const std::vector<std::uint8_t>& jpeg);

  // Whether this client's "mqtt test" is still waiting (one at a time, so a shell cannot fill the
  // outbox with test events faster than the control room answers them).
  bool testing_link(std::uint64_t client) const;
  // "mqtt test": the event `event_id` carrying `nonce` left at `sent`.
  void link_test(const Forward& request, std::string nonce, std::string event_id, Schedule::Time sent);
  // The control room's echo of a nonce; false when no test waits for it.
  bool echoed(const std::string& nonce, Schedule::Time at);
  // Tests not answered in time are told so, with `why` (the link's state).
  void tick(Schedule::Time now, const std::string& why);
  std::optional<Schedule::Time> next_deadline() const;

  void unwatch(std::uint64_t client);  // input and aim
  void gone(std::uint64_t client);     // everything the client waited for

 private:
  struct InputWatch {
    std::string input;
    std::uint64_t active_edges = 0;
  };
  struct LinkTest {
    Forward request;
    std::string nonce, event_id;
    Schedule::Time sent;
  };
  Send send_;
  std::map<std::uint64_t, InputWatch> inputs_;
  std::map<std::uint64_t, std::vector<std::string>> aimers_;
  std::vector<Forward> snapshots_;
  std::vector<LinkTest> links_;
};

}  // namespace assure::app
