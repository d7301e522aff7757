#pragma once
// The alarm logic of a kit or a pole: a state machine, free of I/O and of clocks of its own (the
// caller passes the time), so every transition can be driven and checked by a table.
//
//   disarmed --arm--> exit delay --(exit time)--> armed away / armed home
//   armed --entry/exit zone--> entry delay --(entry time)--> alarm ;  armed --instant zone--> alarm
//   any --disarm--> disarmed (a disarm also ends an alarm)
//
// Zone types: instant (a window shock sensor, a back door), entry/exit (the front door: starts the
// entry delay), interior (a PIR in the hall: ignored when armed home, follows the entry route),
// tamper, sensor tamper (the camera covered, defocused or moved: the input "camera_tamper") and
// 24-hour (raise in every state, even disarmed), panic (a personal attack button: always
// raised, highest priority, never held off; a second press within the confirm window is reported
// as confirmed), mains and battery (power troubles, reported in every state and never an alarm:
// the mains supply lost, the standby battery low). An engineer's maintenance mode holds off burglary and tamper alarms (they are still
// reported, as held off) but never a panic, and is reported itself.
//
// Every transition and every zone activation comes out as an AlarmEvent with its Contact ID code
// (SIA DC-05), so an alarm receiving centre can map it: 120 panic, 130 burglary, 132 interior,
// 133 24-hour, 134 entry/exit, 137 tamper (the box), 144 sensor tamper, 301 AC loss, 302 low battery, 401 open/close (disarm/arm), 627/628 program mode entry/exit;
// restores carry the same code with restore set.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "assure/base/error.hpp"
#include "assure/firmware/kinds.hpp"

namespace assure::alarm {

enum class ZoneType { instant, entry_exit, interior, tamper, sensor_tamper, twenty_four_hour, panic, mains, battery };
enum class State { disarmed, exit_delay, armed_away, armed_home, entry_delay, alarm };
enum class ArmMode { away, home };

std::string_view to_string(ZoneType type);
std::string_view to_string(State state);
std::optional<ZoneType> zone_type_from(std::string_view text);

struct ZoneSpec {
  std::string name;
  ZoneType type = ZoneType::instant;
};

struct PanelSettings {
  std::vector<ZoneSpec> zones;
  std::chrono::seconds exit_delay{};   // alarm.exit_delay
  std::chrono::seconds entry_delay{};  // alarm.entry_delay
  std::chrono::seconds panic_confirm_window{120};  // fixed: a second press within 2 minutes confirms
};

struct AlarmEvent {
  EventType kind = EventType::activity;  // panic, burglary, tamper, mains_lost, battery_low, activity, arming,
                                         // armed, disarmed, entry, alarm_cancelled, maintenance, restore
  std::string code;      // Contact ID event code ("" for activity that no receiving centre needs)
  bool restore = false;  // the condition ended (a zone closed, the panel armed as a "close")
  std::string zone;      // the zone, or empty
  std::string user;      // who armed, disarmed or entered maintenance ("keyfob", "control-room", "engineer")
  Severity severity = Severity::info;
  State state = State::disarmed;  // the panel's state after it
  bool confirmed = false;         // panic: a second press within the confirm window
  bool held_off = false;          // raised during maintenance: reported, not acted on
};

class Panel {
 public:
  using Time = std::chrono::steady_clock::time_point;
  explicit Panel(PanelSettings settings);

  State state() const { return state_; }
  bool has_zone(std::string_view name) const { return zones_.find(name) != zones_.end(); }
  bool maintenance() const { return maintenance_; }
  // When the current delay runs out; nullopt when none is running. The caller calls tick() then.
  std::optional<Time> deadline() const { return deadline_; }

  // A zone's input changed. An unknown zone is an error (named), never ignored silently.
  Result<std::vector<AlarmEvent>> zone(std::string_view name, bool active, Time now);
  // Arm and disarm: one entry point for the keyfob, the control room's signed command and the
  // engineer's shell. Arming is refused (with the reason) in maintenance or while a perimeter
  // zone is open.
  Result<std::vector<AlarmEvent>> arm(ArmMode mode, std::string_view who, Time now);
  std::vector<AlarmEvent> disarm(std::string_view who, Time now);
  Result<std::vector<AlarmEvent>> set_maintenance(bool on, std::string_view who, Time now);
  std::vector<AlarmEvent> tick(Time now);  // delays running out
  // New zones and delays (an engineer's commit), keeping the state: armed stays armed, a delay
  // running goes on, a zone kept keeps whether it is open.
  void reconfigure(PanelSettings settings);

 private:
  AlarmEvent make(EventType kind, std::string code, Severity severity) const;
  void raise_alarm(std::vector<AlarmEvent>& out, const ZoneSpec& zone, std::string code, EventType kind);

  PanelSettings settings_;
  std::map<std::string, ZoneSpec, std::less<>> zones_;
  std::map<std::string, bool, std::less<>> open_;     // zone -> active now
  std::map<std::string, bool, std::less<>> alarmed_;  // zone -> raised an alarm code not yet restored
  State state_ = State::disarmed;
  ArmMode mode_ = ArmMode::away;
  bool maintenance_ = false;
  std::optional<Time> deadline_;
  std::optional<Time> last_panic_;
  std::string entry_zone_;  // the entry/exit zone that started the entry delay
};

}  // namespace assure::alarm
