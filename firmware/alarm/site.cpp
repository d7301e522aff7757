#include "assure/firmware/alarm/site.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace assure::alarm {

std::optional<KeyfobAction> keyfob_action_from(std::string_view name) {
  if (name == "arm_away") return KeyfobAction::arm_away;
  if (name == "arm_home") return KeyfobAction::arm_home;
  if (name == "disarm") return KeyfobAction::disarm;
  if (name == "toggle") return KeyfobAction::toggle;
  return std::nullopt;
}

std::string_view to_string(KeyfobAction action) {
  switch (action) {
    case KeyfobAction::arm_away: return "arm_away";
    case KeyfobAction::arm_home: return "arm_home";
    case KeyfobAction::disarm: return "disarm";
    case KeyfobAction::toggle: return "toggle";
  }
  return "unknown";
}

Site::Site(SiteSettings settings) : panel_(std::move(settings.panel)), keyfobs_(std::move(settings.keyfobs)) {
  for (const auto& [input, shock] : settings.shocks) shocks_.emplace(input, ShockCounter(shock));
  for (auto& light : settings.lights) lights_.emplace_back(std::move(light));
  if (settings.sounder) sounder_.emplace(std::move(*settings.sounder));
}

std::vector<std::string> Site::light_sensors() const {
  std::vector<std::string> inputs;
  for (const auto& light : lights_) {
    if (light.settings().darkness == Darkness::sensor) inputs.push_back(light.settings().dark_input);
  }
  return inputs;
}

std::vector<std::string> Site::outputs() const {
  std::vector<std::string> names;
  for (const auto& light : lights_) names.push_back(light.settings().output);
  if (sounder_) names.push_back(sounder_->settings().output);
  return names;
}

std::optional<bool> Site::output_on(std::string_view output) const {
  for (const auto& light : lights_) {
    if (light.settings().output == output) return light.on();
  }
  if (sounder_ && sounder_->settings().output == output) return sounder_->on();
  return std::nullopt;
}

std::optional<Panel::Time> Site::deadline() const {
  std::optional<Panel::Time> next = panel_.deadline();
  auto consider = [&](std::optional<Panel::Time> t) {
    if (t) next = next ? std::min(*next, *t) : *t;
  };
  for (const auto& light : lights_) consider(light.deadline());
  if (sounder_) consider(sounder_->deadline());
  return next;
}

void Site::add(Happenings& out, std::vector<Switch> switches) {
  for (auto& change : switches) {
    if (change.light) out.emplace_back(LightSwitching{change.output});  // so it is never taken for motion
    out.emplace_back(std::move(change));
  }
}

// The panel's events go out (activity aside: the input's own event says it), then the sounder and
// the lights' "alarm" trigger follow the panel.
void Site::from_panel(Happenings& out, std::vector<AlarmEvent> events, Moment at) {
  for (const auto& e : events) {
    if (e.kind != EventType::activity) out.emplace_back(e);
  }
  if (sounder_) add(out, sounder_->panel(events, at.now));
  if (const bool in_alarm = panel_.state() == State::alarm; in_alarm != alarm_lit_) {
    alarm_lit_ = in_alarm;
    to_lights(out, Trigger::alarm(), in_alarm, at);
  }
}

void Site::to_panel(Happenings& out, std::string_view zone, bool active, Moment at) {
  if (!panel_.has_zone(zone)) return;
  if (auto events = panel_.zone(zone, active, at.now)) from_panel(out, std::move(*events), at);
}

void Site::to_lights(Happenings& out, const Trigger& trigger, bool active, Moment at) {
  for (auto& light : lights_) add(out, light.trigger(trigger, active, at.now, at.utc));
}

Happenings Site::input(std::string_view name, bool active, std::chrono::nanoseconds edge_time, Moment at) {
  Happenings out;
  if (auto fob = keyfobs_.find(name); fob != keyfobs_.end()) {
    if (!active) return out;  // a press is the active edge
    auto done = arm_or_disarm(fob->second, "keyfob:" + std::string(name), at);
    if (!done) return {ArmingRefused{std::string(name), done.error().message, panel_.state()}};
    return std::move(*done);
  }
  for (auto& light : lights_) {
    if (light.settings().darkness == Darkness::sensor && light.settings().dark_input == name) {
      add(out, light.dark_sensor(active, at.now));
    }
  }
  to_lights(out, Trigger::on_input(std::string(name)), active, at);
  if (auto shock = shocks_.find(name); shock != shocks_.end()) {
    // A knock is not yet an attack: the zone sees one activation when the counter says so.
    auto attack = shock->second.edge(active, edge_time);
    if (!attack) return out;
    out.emplace_back(ShockAttack{std::string(name), *attack});
    to_panel(out, name, true, at);
    to_panel(out, name, false, at);
    return out;
  }
  to_panel(out, name, active, at);
  return out;
}

Happenings Site::light_level(std::string_view input, bool dark, Moment at) {
  Happenings out;
  for (auto& light : lights_) {
    if (light.settings().darkness == Darkness::sensor && light.settings().dark_input == input) {
      add(out, light.dark_sensor(dark, at.now));
    }
  }
  return out;
}

Happenings Site::motion(bool active, Moment at) {
  Happenings out;
  to_panel(out, "camera", active, at);
  to_lights(out, Trigger::camera(), active, at);
  return out;
}

Happenings Site::camera_tamper(bool active, Moment at) {
  Happenings out;
  to_panel(out, "camera_tamper", active, at);
  return out;
}

Result<Happenings> Site::from_panel(Result<std::vector<AlarmEvent>> events, Moment at) {
  if (!events) return std::unexpected(events.error());
  Happenings out;
  from_panel(out, std::move(*events), at);
  return out;
}

Result<Happenings> Site::arm(ArmMode mode, std::string_view who, Moment at) {
  return from_panel(panel_.arm(mode, who, at.now), at);
}

Happenings Site::disarm(std::string_view who, Moment at) {
  Happenings out;
  from_panel(out, panel_.disarm(who, at.now), at);
  return out;
}

Result<Happenings> Site::arm_or_disarm(KeyfobAction action, std::string_view who, Moment at) {
  if (action == KeyfobAction::toggle) {
    action = panel_.state() == State::disarmed ? KeyfobAction::arm_away : KeyfobAction::disarm;
  }
  if (action == KeyfobAction::disarm) return disarm(who, at);
  return arm(action == KeyfobAction::arm_home ? ArmMode::home : ArmMode::away, who, at);
}

Result<Happenings> Site::maintenance(bool on, std::string_view who, Moment at) {
  return from_panel(panel_.set_maintenance(on, who, at.now), at);
}

Result<Happenings> Site::output(std::string_view output, OutputRequest request, std::chrono::seconds for_how_long,
                                std::string_view who, Moment at) {
  Happenings out;
  for (auto& light : lights_) {
    if (light.settings().output != output) continue;
    const auto mode = request == OutputRequest::on    ? Override::on
                      : request == OutputRequest::off ? Override::off
                                                      : Override::none;
    add(out, light.override(mode, for_how_long, who, at.now));
    return out;
  }
  if (sounder_ && sounder_->settings().output == output) {
    if (request == OutputRequest::automatic) {
      return fail(Errc::invalid_argument, "the sounder takes state \"on\" (a test sound) or \"off\" (silence)");
    }
    add(out, sounder_->override(request == OutputRequest::on, for_how_long, who, at.now));
    return out;
  }
  std::string known;
  for (const auto& name : outputs()) known += (known.empty() ? "" : ", ") + name;
  return fail(Errc::invalid_argument, fmt::format("no output \"{}\" is under the device's control (known: {})", output,
                                                  known.empty() ? "none" : known));
}

Happenings Site::reconfigure(SiteSettings settings, Moment at) {
  panel_.reconfigure(std::move(settings.panel));
  keyfobs_ = std::move(settings.keyfobs);
  shocks_.clear();
  for (const auto& [input, shock] : settings.shocks) shocks_.emplace(input, ShockCounter(shock));
  // A light or sounder on the same output carries on as it was; one no longer wanted goes off.
  std::vector<SecurityLight> lights;
  for (auto& light_settings : settings.lights) {
    SecurityLight light(std::move(light_settings));
    for (const auto& old : lights_) {
      if (old.settings().output == light.settings().output) light.adopt(old);
    }
    lights.push_back(std::move(light));
  }
  std::vector<Switch> off;
  for (const auto& old : lights_) {
    const bool kept = std::any_of(lights.begin(), lights.end(), [&](auto& l) { return l.settings().output == old.settings().output; });
    if (!kept && old.on()) off.push_back({old.settings().output, false, "no longer one of the device's lights", true});
  }
  lights_ = std::move(lights);
  std::optional<Sounder> sounder;
  if (settings.sounder) {
    sounder.emplace(std::move(*settings.sounder));
    if (sounder_ && sounder_->settings().output == sounder->settings().output) sounder->adopt(*sounder_);
  }
  if (sounder_ && sounder_->on() && (!sounder || sounder->settings().output != sounder_->settings().output)) {
    off.push_back({sounder_->settings().output, false, "no longer the device's sounder"});
  }
  sounder_ = std::move(sounder);
  Happenings out;
  add(out, std::move(off));
  from_panel(out, {}, at);  // the lights' "alarm" trigger follows the panel
  return out;
}

Happenings Site::tick(Moment at) {
  Happenings out;
  from_panel(out, panel_.tick(at.now), at);
  for (auto& light : lights_) add(out, light.tick(at.now));
  if (sounder_) add(out, sounder_->tick(at.now));
  return out;
}

Happenings Site::stop() {
  std::vector<Switch> off;
  for (const auto& light : lights_) {
    if (light.on()) off.push_back({light.settings().output, false, "the device is stopping", true});
  }
  if (sounder_ && sounder_->on()) off.push_back({sounder_->settings().output, false, "the device is stopping"});
  Happenings out;
  add(out, std::move(off));
  return out;
}

}  // namespace assure::alarm
