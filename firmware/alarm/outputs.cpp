#include "assure/firmware/alarm/outputs.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "assure/firmware/alarm/sun.hpp"

namespace assure::alarm {

SecurityLight::SecurityLight(LightSettings settings) : settings_(std::move(settings)) {}

Trigger Trigger::from_config(std::string_view word) {
  if (word == "camera") return camera();
  if (word == "alarm") return alarm();
  return on_input(std::string(word));
}

std::string to_string(const Trigger& trigger) {
  switch (trigger.kind) {
    case Trigger::Kind::camera: return "camera";
    case Trigger::Kind::alarm: return "alarm";
    case Trigger::Kind::input: break;
  }
  return trigger.input;
}

bool SecurityLight::triggered_by(const Trigger& trigger) const {
  return std::find(settings_.triggers.begin(), settings_.triggers.end(), trigger) != settings_.triggers.end();
}

bool SecurityLight::dark(Utc utc) const {
  switch (settings_.darkness) {
    case Darkness::always: return true;
    case Darkness::sensor: return dark_sensor_;
    case Darkness::sun: return is_dark(settings_.latitude, settings_.longitude, utc);
  }
  return true;
}

std::vector<Switch> SecurityLight::show(Time now, std::string reason) {
  const bool want = override_ == Override::on || (override_ == Override::none && automatic_on_);
  if (want == shown_) return {};
  shown_ = want;
  (void)now;
  return {Switch{settings_.output, want, std::move(reason), true}};
}

std::vector<Switch> SecurityLight::trigger(const Trigger& which, bool active, Time now, Utc utc) {
  if (!triggered_by(which)) return {};
  const std::string what = which.kind == Trigger::Kind::camera  ? "motion"
                           : which.kind == Trigger::Kind::alarm ? "alarm"
                                                                : "input " + which.input;
  if (active) {
    active_.insert(which);
    if (automatic_on_) {
      off_at_.reset();  // held on while a trigger is active
      return {};
    }
    if (capped_) return {};
    if (!dark(utc)) return {};
    automatic_on_ = true;
    on_since_ = now;
    off_at_.reset();
    return show(now, what);
  }
  active_.erase(which);
  if (active_.empty()) {
    capped_ = false;
    if (automatic_on_) off_at_ = now + settings_.hold;
  }
  return {};
}

std::vector<Switch> SecurityLight::dark_sensor(bool dark, Time /*now*/) {
  dark_sensor_ = dark;
  return {};  // a light already on finishes its hold; one off waits for the next trigger
}

std::vector<Switch> SecurityLight::override(Override mode, std::chrono::seconds for_how_long, std::string_view who,
                                            Time now) {
  override_ = mode;
  if (mode == Override::none) {
    override_until_.reset();
    // Back to automatic: a light the triggers had on carries on for its hold; otherwise off.
    if (automatic_on_ && active_.empty() && !off_at_) off_at_ = now + settings_.hold;
    return show(now, fmt::format("back to automatic by {}", who));
  }
  override_until_ = now + for_how_long;
  return show(now, fmt::format("switched {} by {} for {} s", mode == Override::on ? "on" : "off", who,
                               for_how_long.count()));
}

std::vector<Switch> SecurityLight::tick(Time now) {
  std::vector<Switch> out;
  auto add = [&](std::vector<Switch> more) { out.insert(out.end(), more.begin(), more.end()); };
  if (override_until_ && now >= *override_until_) {
    override_ = Override::none;
    override_until_.reset();
    add(show(now, "manual control ended"));
  }
  if (automatic_on_ && off_at_ && now >= *off_at_) {
    automatic_on_ = false;
    off_at_.reset();
    add(show(now, fmt::format("hold time of {} s over", settings_.hold.count())));
  } else if (automatic_on_ && now - on_since_ >= settings_.max_on) {
    automatic_on_ = false;
    off_at_.reset();
    capped_ = !active_.empty();
    add(show(now, fmt::format("maximum on-time of {} s reached", settings_.max_on.count())));
  }
  return out;
}

std::optional<SecurityLight::Time> SecurityLight::deadline() const {
  std::optional<Time> next = override_until_;
  auto consider = [&](Time t) { next = next ? std::min(*next, t) : t; };
  if (automatic_on_) {
    consider(on_since_ + settings_.max_on);
    if (off_at_) consider(*off_at_);
  }
  return next;
}

Sounder::Sounder(SounderSettings settings) : settings_(std::move(settings)) {}

std::vector<Switch> Sounder::set(bool on, Time now, std::string reason) {
  if (on == on_) return {};
  on_ = on;
  off_at_.reset();
  if (on) on_since_ = now;
  return {Switch{settings_.output, on, std::move(reason)}};
}

std::vector<Switch> Sounder::panel(const std::vector<AlarmEvent>& events, Time now) {
  std::vector<Switch> out;
  for (const auto& e : events) {
    std::vector<Switch> changed;
    if (e.kind == EventType::disarmed || e.kind == EventType::alarm_cancelled) {
      capped_ = false;
      changed = set(false, now, "disarmed by " + e.user);
    } else if (e.held_off || capped_) {
      continue;
    } else if ((e.kind == EventType::burglary || e.kind == EventType::tamper) && e.state == State::alarm) {
      changed = set(true, now, fmt::format("{} alarm, zone {}", to_string(e.kind), e.zone));
    } else if (e.kind == EventType::panic && settings_.panic_audible) {
      changed = set(true, now, "panic, zone " + e.zone);
    }
    out.insert(out.end(), changed.begin(), changed.end());
  }
  return out;
}

std::vector<Switch> Sounder::override(bool on, std::chrono::seconds for_how_long, std::string_view who, Time now) {
  if (!on) {
    capped_ = on_;  // a silenced alarm stays silent until it is disarmed
    return set(false, now, fmt::format("silenced by {}", who));
  }
  if (capped_ || on_) return {};
  auto out = set(true, now, fmt::format("sounded by {} for {} s", who, std::min(for_how_long, settings_.max).count()));
  off_at_ = now + std::min(for_how_long, settings_.max);
  return out;
}

std::vector<Switch> Sounder::tick(Time now) {
  if (!on_) return {};
  if (off_at_ && now >= *off_at_) return set(false, now, "test sound over");
  if (now - on_since_ < settings_.max) return {};
  capped_ = true;
  return set(false, now, fmt::format("cap of {} s reached", settings_.max.count()));
}

std::optional<Sounder::Time> Sounder::deadline() const {
  if (!on_) return std::nullopt;
  return off_at_ ? std::min(*off_at_, on_since_ + settings_.max) : on_since_ + settings_.max;
}

void SecurityLight::adopt(const SecurityLight& old) {
  LightSettings mine = std::move(settings_);
  *this = old;
  settings_ = std::move(mine);
  // Triggers this light no longer has are let go of.
  for (auto it = active_.begin(); it != active_.end();) it = triggered_by(*it) ? std::next(it) : active_.erase(it);
}

void Sounder::adopt(const Sounder& old) {
  SounderSettings mine = std::move(settings_);
  *this = old;
  settings_ = std::move(mine);
}

}  // namespace assure::alarm
