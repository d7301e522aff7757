#include "assure/firmware/kinds.hpp"

#include <utility>

namespace assure {
namespace {

constexpr std::pair<EventType, std::string_view> kEventTypes[] = {
    {EventType::panic, "panic"},
    {EventType::burglary, "burglary"},
    {EventType::tamper, "tamper"},
    {EventType::mains_lost, "mains_lost"},
    {EventType::battery_low, "battery_low"},
    {EventType::activity, "activity"},
    {EventType::arming, "arming"},
    {EventType::armed, "armed"},
    {EventType::disarmed, "disarmed"},
    {EventType::entry, "entry"},
    {EventType::alarm_cancelled, "alarm_cancelled"},
    {EventType::maintenance, "maintenance"},
    {EventType::restore, "restore"},
    {EventType::input, "input"},
    {EventType::shock, "shock"},
    {EventType::arming_refused, "arming_refused"},
    {EventType::output, "output"},
    {EventType::output_failed, "output_failed"},
    {EventType::motion, "motion"},
    {EventType::motion_end, "motion_end"},
    {EventType::snapshot, "snapshot"},
    {EventType::clip_failed, "clip_failed"},
    {EventType::clip_recovered, "clip_recovered"},
    {EventType::video_lost, "video_lost"},
    {EventType::video_restored, "video_restored"},
    {EventType::command_rejected, "command_rejected"},
    {EventType::evidence_lost, "evidence_lost"},
    {EventType::storage_failed, "storage_failed"},
    {EventType::storage_restored, "storage_restored"},
    {EventType::config_changed, "config_changed"},
    {EventType::config_reverted, "config_reverted"},
    {EventType::config_fallback, "config_fallback"},
    {EventType::engineer_login_failed, "engineer_login_failed"},
    {EventType::link_test, "link_test"},
    {EventType::reboot_requested, "reboot_requested"},
    {EventType::footage_deleted, "footage_deleted"},
    {EventType::recording_stopped, "recording_stopped"},
    {EventType::recording_resumed, "recording_resumed"},
    {EventType::evidence_held, "evidence_held"},
    {EventType::evidence_released, "evidence_released"},
    {EventType::footage_exported, "footage_exported"},
};

constexpr std::pair<Severity, std::string_view> kSeverities[] = {
    {Severity::info, "info"},
    {Severity::warning, "warning"},
    {Severity::alarm, "alarm"},
    {Severity::critical, "critical"},
};

template <class Table, class Enum>
std::string_view name_of(const Table& table, Enum value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "unknown";
}

template <class Enum, class Table>
std::optional<Enum> value_of(const Table& table, std::string_view name) {
  for (const auto& [v, n] : table) {
    if (n == name) return v;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(EventType type) { return name_of(kEventTypes, type); }
std::string_view to_string(Severity severity) { return name_of(kSeverities, severity); }
std::optional<EventType> event_type_from(std::string_view name) { return value_of<EventType>(kEventTypes, name); }
std::optional<Severity> severity_from(std::string_view name) { return value_of<Severity>(kSeverities, name); }

}  // namespace assure
