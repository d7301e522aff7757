#include "priority.hpp"

#include <array>
#include <utility>

namespace assure::control_room {

Priority priority_of(std::string_view type, std::string_view severity) {
  using P = Priority;
  static constexpr std::array<std::pair<std::string_view, P>, 28> kKnown{{
      {"panic", P::panic},
      {"duress", P::panic},
      {"burglary", P::alarm},
      {"entry", P::alarm},
      {"shock", P::alarm},
      {"tamper", P::tamper},
      {"mains_lost", P::trouble},
      {"battery_low", P::trouble},
      {"video_lost", P::trouble},
      {"clip_failed", P::trouble},
      {"clip_recovered", P::trouble},  // a clip cut short: power cut, or a crash
      {"recording_stopped", P::trouble},  // continuous recording stopped: the store is full of held footage
      {"storage_failed", P::trouble},
      {"evidence_lost", P::trouble},
      {"output_failed", P::trouble},
      {"config_fallback", P::trouble},
      {"config_reverted", P::trouble},
      {"command_rejected", P::trouble},
      {"engineer_login_failed", P::trouble},
      {"missed_supervision", P::trouble},
      {"device_restarted", P::trouble},
      {"motion", P::motion},
      {"snapshot", P::information},
      {"motion_end", P::information},
      {"restore", P::information},
      {"video_restored", P::information},
      {"storage_restored", P::information},
      {"supervision_restored", P::information},
  }};
  for (const auto& [name, p] : kKnown) {
    if (name == type) return p;
  }
  static constexpr std::array<std::string_view, 19> kInformation{
      "input", "output", "arming", "armed", "disarmed", "alarm_cancelled", "maintenance", "activity",
      "arming_refused", "config_changed", "link_test", "reboot_requested", "restarted_cleanly", "online",
      "footage_deleted", "recording_resumed", "evidence_held", "evidence_released", "footage_exported"};
  for (auto name : kInformation) {
    if (name == type) return P::information;
  }
  if (severity == "critical" || severity == "alarm") return P::alarm;
  if (severity == "warning") return P::trouble;
  return P::information;
}

std::string_view to_string(Priority p) {
  switch (p) {
    case Priority::panic: return "panic";
    case Priority::alarm: return "alarm";
    case Priority::tamper: return "tamper";
    case Priority::trouble: return "trouble";
    case Priority::motion: return "motion";
    case Priority::information: return "information";
  }
  return "information";
}

}  // namespace assure::control_room
