#pragma once
// What the device switches on by itself: the security light and the sounder. Like the panel, free
// of I/O and of clocks of its own: the caller passes the time and applies the Switches that come
// back (and tells the video pipeline first when a light is switching, so the device's own light is
// never taken for an intruder).

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "assure/firmware/alarm/panel.hpp"

namespace assure::alarm {

// An output to change, and why (for the log and the control room).
struct Switch {
  std::string output;
  bool on = false;
  std::string reason;
  bool light = false;  // a security light: the video is told before it changes
};

// What switches a light on: one of the board's inputs, the camera's motion, or the panel in alarm.
struct Trigger {
  enum class Kind { input, camera, alarm };
  Kind kind = Kind::input;
  std::string input;  // Kind::input: the board input's name

  static Trigger camera() { return {Kind::camera, {}}; }
  static Trigger alarm() { return {Kind::alarm, {}}; }
  static Trigger on_input(std::string name) { return {Kind::input, std::move(name)}; }
  // The device file's word for it: "camera", "alarm", or an input's name.
  static Trigger from_config(std::string_view word);
  auto operator<=>(const Trigger&) const = default;
};
std::string to_string(const Trigger& trigger);  // the device file's word

enum class Darkness { always, sensor, sun };

struct LightSettings {
  std::string output;                 // a board output, e.g. light_porch
  std::vector<Trigger> triggers;
  std::chrono::seconds hold{};    // stays on this long after the last trigger ends
  std::chrono::seconds max_on{};  // never on longer in one go; then off until the triggers rest
  Darkness darkness = Darkness::always;
  std::string dark_input;             // Darkness::sensor: an input active while it is dark
  double latitude = 0, longitude = 0; // Darkness::sun
};

// Manual control from the control room or the engineer: on or off for a while, or back to auto.
enum class Override { none, on, off };

class SecurityLight {
 public:
  using Time = std::chrono::steady_clock::time_point;
  using Utc = std::chrono::system_clock::time_point;
  explicit SecurityLight(LightSettings settings);

  const LightSettings& settings() const { return settings_; }
  bool triggered_by(const Trigger& trigger) const;
  bool on() const { return shown_; }

  std::vector<Switch> trigger(const Trigger& which, bool active, Time now, Utc utc);
  std::vector<Switch> dark_sensor(bool dark, Time now);
  std::vector<Switch> override(Override mode, std::chrono::seconds for_how_long, std::string_view who, Time now);
  std::vector<Switch> tick(Time now);
  std::optional<Time> deadline() const;
  // Takes over the state of the light it replaces (new settings, same output): on stays on.
  void adopt(const SecurityLight& old);

 private:
  bool dark(Utc utc) const;
  std::vector<Switch> show(Time now, std::string reason);  // a Switch when what shows changes

  LightSettings settings_;
  std::set<Trigger> active_;  // triggers active now
  bool automatic_on_ = false;
  bool capped_ = false;  // the maximum on-time cut it off: off until every trigger has rested
  bool dark_sensor_ = false;
  Time on_since_{};
  std::optional<Time> off_at_;  // the hold time running out
  Override override_ = Override::none;
  std::optional<Time> override_until_;
  bool shown_ = false;  // what the output is
};

struct SounderSettings {
  std::string output;              // a board output, e.g. sounder
  std::chrono::seconds max{};      // UK external sounders: 20 minutes at most
  bool panic_audible = false;      // home kits: a panic is silent, never warning the attacker
};

class Sounder {
 public:
  using Time = std::chrono::steady_clock::time_point;
  explicit Sounder(SounderSettings settings);

  const SounderSettings& settings() const { return settings_; }
  bool on() const { return on_; }

  // What the panel reported: an alarm while armed sounds it (a panic only when audible), a
  // disarm silences it.
  std::vector<Switch> panel(const std::vector<AlarmEvent>& events, Time now);
  // A test sound (for a while, never past the cap) or a silence from the control room. A silenced
  // alarm stays silent until the next disarm.
  std::vector<Switch> override(bool on, std::chrono::seconds for_how_long, std::string_view who, Time now);
  std::vector<Switch> tick(Time now);
  std::optional<Time> deadline() const;
  void adopt(const Sounder& old);  // as SecurityLight::adopt

 private:
  std::vector<Switch> set(bool on, Time now, std::string reason);

  SounderSettings settings_;
  bool on_ = false;
  bool capped_ = false;  // sounded its full time (or silenced): silent until the next disarm
  Time on_since_{};
  std::optional<Time> off_at_;  // a test sound's end
};

}  // namespace assure::alarm
