#pragma once
// The alarm side of a home kit or a pole as one piece: the panel, the window shock sensors, the
// keyfobs, the security lights and the sounder, and the wiring between them (a shock attack is an
// activation of its zone; the panel drives the sounder and the lights' "alarm" trigger; motion and
// inputs drive the lights).
//
// Pure, like the Panel: no I/O, no threads and no clock of its own. Each call takes what came in
// and the time (a Moment from the caller's hal::Clock) and returns what happened, in the order it
// happened: alarm events, shock attacks, refused keyfob presses, notes for the video and output
// switches. The caller logs them, sends them and switches the outputs.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "assure/base/error.hpp"
#include "assure/firmware/alarm/outputs.hpp"
#include "assure/firmware/alarm/panel.hpp"
#include "assure/firmware/alarm/shock.hpp"

namespace assure::alarm {

enum class KeyfobAction { arm_away, arm_home, disarm, toggle };
std::optional<KeyfobAction> keyfob_action_from(std::string_view name);  // the device file's words
std::string_view to_string(KeyfobAction action);

struct SiteSettings {
  PanelSettings panel;
  std::map<std::string, ShockSettings, std::less<>> shocks;  // by input
  std::map<std::string, KeyfobAction, std::less<>> keyfobs;  // by input
  std::vector<LightSettings> lights;
  std::optional<SounderSettings> sounder;
};

// Now, on both of the caller's clocks: monotonic orders and times; UTC is for the sun.
struct Moment {
  Panel::Time now;
  std::chrono::system_clock::time_point utc;
};

// What happened, besides the panel's AlarmEvents and the output Switches:
struct ShockAttack {  // a shock sensor's knocks became an attack (its zone then sees one activation)
  std::string input;
  std::string why;
};
struct ArmingRefused {  // a keyfob press the panel would not obey
  std::string input;
  std::string reason;
  State state;
};
struct LightSwitching {  // for the video, before the Switch: the device's own light is changing
  std::string output;
};
using Happening = std::variant<AlarmEvent, ShockAttack, ArmingRefused, LightSwitching, Switch>;
using Happenings = std::vector<Happening>;

// A request for an output from the control room or the engineer.
enum class OutputRequest { on, off, automatic };

class Site {
 public:
  explicit Site(SiteSettings settings);

  const Panel& panel() const { return panel_; }
  // The inputs whose level a light needs at start (light sensors): read them, then light_level().
  std::vector<std::string> light_sensors() const;
  // The outputs under the site's control: its lights, then its sounder.
  std::vector<std::string> outputs() const;
  std::optional<bool> output_on(std::string_view output) const;  // nullopt: not one of them
  // The earliest time tick() has something to do: a delay, a hold or a cap running out.
  std::optional<Panel::Time> deadline() const;

  // An input's edge; `edge_time` is the edge's own timestamp (the kernel's), for the shock counter.
  Happenings input(std::string_view name, bool active, std::chrono::nanoseconds edge_time, Moment at);
  Happenings light_level(std::string_view input, bool dark, Moment at);
  Happenings motion(bool active, Moment at);  // the camera's motion starting or ending
  Happenings camera_tamper(bool active, Moment at);  // the camera tampered with, or restored

  // Arming and disarming: one entry point for the control room, a keyfob and the engineer.
  Result<Happenings> arm(ArmMode mode, std::string_view who, Moment at);
  Happenings disarm(std::string_view who, Moment at);
  Result<Happenings> arm_or_disarm(KeyfobAction action, std::string_view who, Moment at);
  Result<Happenings> maintenance(bool on, std::string_view who, Moment at);
  // A light on or off for a while (automatic gives it back), a test sound or a silence.
  Result<Happenings> output(std::string_view output, OutputRequest request, std::chrono::seconds for_how_long,
                            std::string_view who, Moment at);

  // New settings (an engineer's commit) without losing any state: the panel stays as it is (armed
  // stays armed), a light or the sounder on the same output carries on (a light that is on stays
  // on, with its new hold); an output no longer the site's is switched off.
  Happenings reconfigure(SiteSettings settings, Moment at);
  Happenings tick(Moment at);  // delays, holds and caps running out
  Happenings stop();           // a clean stop: everything the site switched on goes off

 private:
  void from_panel(Happenings& out, std::vector<AlarmEvent> events, Moment at);
  Result<Happenings> from_panel(Result<std::vector<AlarmEvent>> events, Moment at);  // a refusal passed on
  void to_panel(Happenings& out, std::string_view zone, bool active, Moment at);
  void to_lights(Happenings& out, const Trigger& trigger, bool active, Moment at);
  static void add(Happenings& out, std::vector<Switch> switches);

  Panel panel_;
  std::map<std::string, ShockCounter, std::less<>> shocks_;
  std::map<std::string, KeyfobAction, std::less<>> keyfobs_;
  std::vector<SecurityLight> lights_;
  std::optional<Sounder> sounder_;
  bool alarm_lit_ = false;  // the lights' "alarm" trigger is active
};

}  // namespace assure::alarm
