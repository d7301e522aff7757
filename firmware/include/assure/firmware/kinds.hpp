#pragma once
// The firmware's shared vocabulary: what kind of event something is and how severe. Enums inside
// the code; the names below are what the protocol carries (PROTOCOL.md), converted only where a
// message is built or a log line written.

#include <optional>
#include <string_view>

namespace assure {

enum class EventType {
  // the panel (alarm/panel.hpp): each with its Contact ID code where a receiving centre needs one
  panic, burglary, tamper, mains_lost, battery_low, activity, arming, armed, disarmed, entry, alarm_cancelled,
  maintenance, restore,
  // the devices around it (alarm/site.hpp)
  input, shock, arming_refused, output, output_failed,
  // the video
  motion, motion_end, snapshot, clip_failed, clip_recovered, video_lost, video_restored,
  // the uplink and the device's storage
  command_rejected, evidence_lost, storage_failed, storage_restored,
  // the engineer's shell and the device file
  config_changed, config_reverted, config_fallback, engineer_login_failed, link_test, reboot_requested,
  // the evidence store (evidence/store.hpp)
  footage_deleted, recording_stopped, recording_resumed, evidence_held, evidence_released, footage_exported,
};

enum class Severity { info, warning, alarm, critical };

std::string_view to_string(EventType type);
std::string_view to_string(Severity severity);
std::optional<EventType> event_type_from(std::string_view name);
std::optional<Severity> severity_from(std::string_view name);

}  // namespace assure
