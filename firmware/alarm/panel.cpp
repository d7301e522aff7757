#include "assure/firmware/alarm/panel.hpp"

#include <fmt/format.h>

namespace assure::alarm {

std::string_view to_string(ZoneType type) {
  switch (type) {
    case ZoneType::instant: return "instant";
    case ZoneType::entry_exit: return "entry_exit";
    case ZoneType::interior: return "interior";
    case ZoneType::tamper: return "tamper";
    case ZoneType::sensor_tamper: return "sensor_tamper";
    case ZoneType::twenty_four_hour: return "24h";
    case ZoneType::panic: return "panic";
    case ZoneType::mains: return "mains";
    case ZoneType::battery: return "battery";
  }
  return "?";
}

std::string_view to_string(State state) {
  switch (state) {
    case State::disarmed: return "disarmed";
    case State::exit_delay: return "exit_delay";
    case State::armed_away: return "armed_away";
    case State::armed_home: return "armed_home";
    case State::entry_delay: return "entry_delay";
    case State::alarm: return "alarm";
  }
  return "?";
}

std::optional<ZoneType> zone_type_from(std::string_view text) {
  for (ZoneType t : {ZoneType::instant, ZoneType::entry_exit, ZoneType::interior, ZoneType::tamper,
                     ZoneType::sensor_tamper,
                     ZoneType::twenty_four_hour, ZoneType::panic, ZoneType::mains, ZoneType::battery}) {
    if (to_string(t) == text) return t;
  }
  return std::nullopt;
}

Panel::Panel(PanelSettings settings) : settings_(std::move(settings)) {
  for (const auto& zone : settings_.zones) {
    zones_[zone.name] = zone;
    open_[zone.name] = false;
  }
}

AlarmEvent Panel::make(EventType kind, std::string code, Severity severity) const {
  AlarmEvent e;
  e.kind = kind;
  e.code = std::move(code);
  e.severity = severity;
  e.state = state_;
  return e;
}

void Panel::raise_alarm(std::vector<AlarmEvent>& out, const ZoneSpec& zone, std::string code, EventType kind) {
  AlarmEvent e = make(kind, std::move(code), Severity::alarm);
  e.zone = zone.name;
  if (maintenance_) {
    e.held_off = true;
    e.severity = Severity::info;
    e.state = state_;
    out.push_back(std::move(e));
    return;
  }
  alarmed_[zone.name] = true;
  const bool is_24h = zone.type == ZoneType::tamper || zone.type == ZoneType::sensor_tamper ||
                      zone.type == ZoneType::twenty_four_hour;
  if (!is_24h || state_ != State::disarmed) {
    // A burglary alarm (or a 24-hour zone while armed) puts the panel in alarm; a tamper while
    // disarmed is raised without arming anything.
    state_ = State::alarm;
    deadline_.reset();
  }
  e.state = state_;
  out.push_back(std::move(e));
}

Result<std::vector<AlarmEvent>> Panel::zone(std::string_view name, bool active, Time now) {
  auto found = zones_.find(name);
  if (found == zones_.end()) return fail(Errc::not_found, fmt::format("alarm: no zone named '{}'", name));
  const ZoneSpec& zone = found->second;
  std::vector<AlarmEvent> out;
  const bool was = open_[zone.name];
  open_[zone.name] = active;
  if (active == was) return out;  // no change

  if (!active) {
    // A restore for a zone that raised something; plain activity otherwise.
    if (alarmed_[zone.name]) {
      alarmed_[zone.name] = false;
      const std::string code = zone.type == ZoneType::panic               ? "120"
                               : zone.type == ZoneType::tamper            ? "137"
                               : zone.type == ZoneType::sensor_tamper     ? "144"
                               : zone.type == ZoneType::twenty_four_hour  ? "133"
                               : zone.type == ZoneType::interior          ? "132"
                               : zone.type == ZoneType::entry_exit        ? "134"
                               : zone.type == ZoneType::mains             ? "301"
                               : zone.type == ZoneType::battery           ? "302"
                                                                          : "130";
      AlarmEvent e = make(EventType::restore, code, Severity::info);
      e.restore = true;
      e.zone = zone.name;
      out.push_back(std::move(e));
    } else {
      AlarmEvent e = make(EventType::activity, "", Severity::info);
      e.zone = zone.name;
      e.restore = true;
      out.push_back(std::move(e));
    }
    return out;
  }

  switch (zone.type) {
    case ZoneType::panic: {
      // Never held off, never silenced by state: the highest priority there is.
      AlarmEvent e = make(EventType::panic, "120", Severity::critical);
      e.zone = zone.name;
      e.confirmed = last_panic_ && now - *last_panic_ <= settings_.panic_confirm_window;
      last_panic_ = now;
      alarmed_[zone.name] = true;
      out.push_back(std::move(e));
      return out;
    }
    case ZoneType::tamper:
      raise_alarm(out, zone, "137", EventType::tamper);
      return out;
    case ZoneType::sensor_tamper:
      raise_alarm(out, zone, "144", EventType::tamper);  // 144: sensor tamper (a detector, the camera)
      return out;
    case ZoneType::twenty_four_hour:
      raise_alarm(out, zone, "133", EventType::burglary);  // 133: 24-hour (safe) burglary
      return out;
    case ZoneType::mains:
    case ZoneType::battery: {
      // A power trouble: the control room needs it in every state (a kit on its battery will go
      // quiet when the battery is flat), but it is no intrusion and changes nothing here.
      const bool mains = zone.type == ZoneType::mains;
      AlarmEvent e = make(mains ? EventType::mains_lost : EventType::battery_low, mains ? "301" : "302", Severity::warning);
      e.zone = zone.name;
      alarmed_[zone.name] = true;
      out.push_back(std::move(e));
      return out;
    }
    default:
      break;
  }

  // Burglary zones: what they mean depends on the state.
  auto activity = [&] {
    AlarmEvent e = make(EventType::activity, "", Severity::info);
    e.zone = zone.name;
    out.push_back(std::move(e));
  };
  switch (state_) {
    case State::disarmed:
      activity();
      break;
    case State::exit_delay:
      // Leaving through the entry route is what the exit delay is for; anything else is an intruder.
      if (zone.type == ZoneType::entry_exit || zone.type == ZoneType::interior) activity();
      else raise_alarm(out, zone, "130", EventType::burglary);
      break;
    case State::armed_away:
    case State::armed_home: {
      const bool bypassed = state_ == State::armed_home && zone.type == ZoneType::interior;
      if (bypassed) {
        activity();
      } else if (zone.type == ZoneType::entry_exit) {
        if (maintenance_) {
          raise_alarm(out, zone, "134", EventType::burglary);  // held off
        } else {
          state_ = State::entry_delay;
          entry_zone_ = zone.name;
          deadline_ = now + settings_.entry_delay;
          AlarmEvent e = make(EventType::entry, "", Severity::warning);
          e.zone = zone.name;
          out.push_back(std::move(e));
        }
      } else {
        raise_alarm(out, zone, zone.type == ZoneType::interior ? "132" : "130", EventType::burglary);
      }
      break;
    }
    case State::entry_delay:
      // The interior on the way to the keypad follows the entry delay; an instant zone does not wait.
      if (zone.type == ZoneType::instant) raise_alarm(out, zone, "130", EventType::burglary);
      else activity();
      break;
    case State::alarm: {
      // Already in alarm: each further zone is still reported with its code.
      AlarmEvent e = make(EventType::burglary, zone.type == ZoneType::interior ? "132" : zone.type == ZoneType::entry_exit ? "134" : "130",
                          Severity::alarm);
      e.zone = zone.name;
      alarmed_[zone.name] = true;
      out.push_back(std::move(e));
      break;
    }
  }
  return out;
}

Result<std::vector<AlarmEvent>> Panel::arm(ArmMode mode, std::string_view who, Time now) {
  if (maintenance_) return fail(Errc::busy, "alarm: cannot arm in maintenance mode; the engineer must end it first");
  if (state_ != State::disarmed) {
    return fail(Errc::busy, fmt::format("alarm: cannot arm: the panel is {}", to_string(state_)));
  }
  for (const auto& [name, zone] : zones_) {
    const bool perimeter = zone.type == ZoneType::instant;
    if (perimeter && open_[name]) {
      return fail(Errc::busy, fmt::format("alarm: cannot arm: zone '{}' is open", name));
    }
  }
  mode_ = mode;
  state_ = State::exit_delay;
  deadline_ = now + settings_.exit_delay;
  AlarmEvent e = make(EventType::arming, "", Severity::info);
  e.user = std::string(who);
  std::vector<AlarmEvent> out{std::move(e)};
  if (settings_.exit_delay.count() == 0) {
    auto armed = tick(now);
    out.insert(out.end(), armed.begin(), armed.end());
  }
  return out;
}

std::vector<AlarmEvent> Panel::disarm(std::string_view who, Time /*now*/) {
  std::vector<AlarmEvent> out;
  if (state_ == State::disarmed) return out;
  const bool was_alarm = state_ == State::alarm;
  state_ = State::disarmed;
  deadline_.reset();
  if (was_alarm) {
    AlarmEvent cancel = make(EventType::alarm_cancelled, "406", Severity::warning);
    cancel.user = std::string(who);
    out.push_back(std::move(cancel));
  }
  AlarmEvent e = make(EventType::disarmed, "401", Severity::info);  // an "open" by this user
  e.user = std::string(who);
  out.push_back(std::move(e));
  return out;
}

Result<std::vector<AlarmEvent>> Panel::set_maintenance(bool on, std::string_view who, Time /*now*/) {
  if (on == maintenance_) return std::vector<AlarmEvent>{};
  if (on && state_ != State::disarmed) {
    return fail(Errc::busy, fmt::format("alarm: maintenance needs the panel disarmed (it is {})", to_string(state_)));
  }
  maintenance_ = on;
  AlarmEvent e = make(EventType::maintenance, on ? "627" : "628", Severity::warning);
  e.user = std::string(who);
  return std::vector<AlarmEvent>{std::move(e)};
}

std::vector<AlarmEvent> Panel::tick(Time now) {
  std::vector<AlarmEvent> out;
  if (!deadline_ || now < *deadline_) return out;
  deadline_.reset();
  if (state_ == State::exit_delay) {
    state_ = mode_ == ArmMode::home ? State::armed_home : State::armed_away;
    AlarmEvent e = make(EventType::armed, "401", Severity::info);
    e.restore = true;  // Contact ID: 401 with the restore qualifier is a "close" (armed)
    out.push_back(std::move(e));
  } else if (state_ == State::entry_delay) {
    // Nobody disarmed in time: the entry/exit zone that started the delay is the alarm.
    raise_alarm(out, zones_.at(entry_zone_), "134", EventType::burglary);
  }
  return out;
}

void Panel::reconfigure(PanelSettings settings) {
  settings_ = std::move(settings);
  std::map<std::string, ZoneSpec, std::less<>> zones;
  std::map<std::string, bool, std::less<>> open, alarmed;
  for (const auto& zone : settings_.zones) {
    zones[zone.name] = zone;
    open[zone.name] = open_.contains(zone.name) && open_.at(zone.name);
    alarmed[zone.name] = alarmed_.contains(zone.name) && alarmed_.at(zone.name);
  }
  zones_ = std::move(zones);
  open_ = std::move(open);
  alarmed_ = std::move(alarmed);
  if (!entry_zone_.empty() && !zones_.contains(entry_zone_)) entry_zone_.clear();
}

}  // namespace assure::alarm
